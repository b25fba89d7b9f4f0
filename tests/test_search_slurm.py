"""The search on a real local Slurm (scripts/slurm/start.sh): each batch one job array, and a
hopeless trial stopped with scancel of its array task."""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pytest
from conftest import read_json, run_cli
from slurm_cluster import LOCAL_SLURM, SlurmCluster

from nemotron_align.records.study_record import load_study

pytestmark = pytest.mark.slurm

STUDY_TIMEOUT_S = 400


def _study(tmp_path: Path, env: dict[str, str], *extra: str) -> tuple[Path, str]:
    study = tmp_path / "study"
    done = run_cli(
        [*LOCAL_SLURM, "search=dpo_beta", "data=tiny", f"hydra.sweep.dir={study}", *extra],
        cwd=tmp_path,
        env=env,
        timeout=STUDY_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    return study, done.stderr


def _trials(study: Path) -> list[optuna.trial.FrozenTrial]:
    loaded = load_study(study)
    assert loaded is not None
    return loaded.trials


def test_a_study_on_slurm_runs_each_batch_as_one_job_array(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study, err = _study(
        tmp_path,
        {**stand_in_env, "STAND_IN_TRAIN_STEPS": "3"},
        "hydra.sweeper.n_trials=4",
        "hydra.sweeper.n_jobs=2",
        "hydra.sweeper.seed=0",
    )
    submitted = re.findall(r"submitted as Slurm job (\d+)_(\d+)", err)
    arrays = sorted({array for array, _ in submitted}, key=int)
    assert len(arrays) == 2, err
    assert [(arrays.index(a), int(task)) for a, task in submitted] == [
        (0, 0),
        (0, 1),
        (1, 2),
        (1, 3),
    ]
    for trial in _trials(study):
        beta = trial.params["dpo.reference_policy_kl_penalty"]
        assert trial.state is optuna.trial.TrialState.COMPLETE
        assert trial.value == pytest.approx(0.3 + (beta - 0.1) ** 2 + 1 / 4, rel=1e-6)
        job = read_json(study / str(trial.number) / "job.json")
        assert job["status"] == "succeeded" and job["slurm_job_id"].endswith(f"_{trial.number}")
        assert slurm_cluster.wait_for_end(job["slurm_job_id"], 60).state == "COMPLETED"


def test_a_hopeless_trial_on_slurm_is_cancelled_and_pruned(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """A grid of beta 0.1 then 0.5, one at a time: the second is worse at every step."""
    study, err = _study(
        tmp_path,
        {**stand_in_env, "STAND_IN_TRAIN_STEPS": "60", "STAND_IN_STEP_S": "0.5"},
        "hydra.sweeper.sampler=grid",
        "dpo.reference_policy_kl_penalty=choice(0.1,0.5)",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.pruner_startup_trials=1",
        "hydra.sweeper.watch_interval_s=1",
        "dpo.val_period=1",
        "checkpointing.save_period=1",
    )
    first, second = _trials(study)
    assert first.state is optuna.trial.TrialState.COMPLETE
    assert second.state is optuna.trial.TrialState.PRUNED, err
    job = read_json(study / "1" / "job.json")
    assert job["status"] == "pruned"
    assert slurm_cluster.wait_for_end(job["slurm_job_id"], 60).state.startswith("CANCELLED")
    steps = sorted(int(p.name.split("_")[1]) for p in (study / "1" / "checkpoints").glob("step_*"))
    assert steps and steps[-1] < 60  # stopped early, its checkpoints kept
