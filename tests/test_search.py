"""The Optuna search (hydra/sweeper=nemotron_optuna) end to end on the stand-in NeMo-RL, whose
validation loss is a known function of DPO's beta: 0.3 + (beta - 0.1)^2 + 1/(step + 1)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from conftest import read_json, run_cli, start_cli, wait_for_file

from nemotron_align.records.launch_record import LAUNCH_JSON
from nemotron_align.records.study_record import load_study

BEST_BETA = 0.1
STUDY_TIMEOUT_S = 300


def _search(study: Path, *extra: str) -> list[str]:
    return ["search=dpo_beta", "data=tiny", f"hydra.sweep.dir={study}", *extra]


def _trials(study: Path) -> list[optuna.trial.FrozenTrial]:
    loaded = load_study(study)
    assert loaded is not None
    return loaded.trials


def _run(study: Path, env: dict[str, str], *extra: str, steps: int = 3) -> str:
    done = run_cli(
        _search(study, *extra),
        cwd=study.parent,
        env={**env, "STAND_IN_TRAIN_STEPS": str(steps)},
        timeout=STUDY_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def _best_beta(study: Path) -> float:
    loaded = load_study(study)
    assert loaded is not None
    return loaded.best_params["dpo.reference_policy_kl_penalty"]


def test_a_study_scores_each_trial_by_what_nemo_rl_logged(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    err = _run(study, stand_in_env, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2")
    trials = _trials(study)
    assert [t.number for t in trials] == [0, 1, 2, 3]
    for trial in trials:
        beta = trial.params["dpo.reference_policy_kl_penalty"]
        assert trial.state is optuna.trial.TrialState.COMPLETE
        # The best value over the run: its last validation (step 3), as float32 in the events.
        assert trial.value == pytest.approx(0.3 + (beta - BEST_BETA) ** 2 + 1 / 4, rel=1e-6)
        assert trial.user_attrs["job_folder"] == str(study / str(trial.number))
    rows = read_json(study / "sweep.json")
    assert [(r["job"], r["status"], r["trial"]["state"]) for r in rows] == [
        (n, "succeeded", "COMPLETE") for n in range(4)
    ]
    assert rows[0]["trial"]["params"] == trials[0].params
    facts = read_json(study / "study.json")
    assert (facts["metric"], facts["direction"], facts["storage"]) == (
        "val:validation-default_loss",
        "minimize",
        "sqlite",
    )
    best = min(trials, key=lambda t: t.value)
    assert f"best trial {best.number}:" in err
    assert "hydra.mode=RUN" in err
    # The report of the study folder: the same best trial, and Optuna's views.
    reported = subprocess.run(
        [sys.executable, "-m", "nemotron_align.report", str(study)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert reported.returncode == 0, reported.stderr
    summary = read_json(study / "report.json")
    assert summary["best_job"] == str(best.number)
    assert summary["study"]["best_trial"]["number"] == best.number
    assert summary["study"]["states"]["complete"] == 4
    for view in ("study_history.png", "study_importances.png", "study_slice.png"):
        assert (study / view).stat().st_size > 10_000
    # Re-running the finished study runs nothing more; a larger n_trials extends it.
    _run(study, stand_in_env, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2")
    assert len(_trials(study)) == 4
    _run(study, stand_in_env, "hydra.sweeper.n_trials=5", "hydra.sweeper.n_jobs=2")
    assert [t.state.name for t in _trials(study)] == ["COMPLETE"] * 5


def test_tpe_finds_the_best_beta_more_often_than_random_search(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """12 trials, one at a time, over log-uniform beta in [0.01, 0.5], seeds 0-4: how often the
    best trial's beta lies within 10% of the known optimum 0.1 (TPE 4 of 5, random 1 of 5 when
    written). bench/search.py runs more seeds, in batches."""
    hits = {}
    for sampler in ("tpe", "random"):
        found = []
        for seed in range(5):
            study = tmp_path / f"{sampler}{seed}"
            _run(
                study,
                stand_in_env,
                "hydra.sweeper.n_trials=12",
                "hydra.sweeper.n_jobs=1",
                f"hydra.sweeper.sampler={sampler}",
                f"hydra.sweeper.seed={seed}",
            )
            assert len(_trials(study)) == 12
            found.append(_best_beta(study))
        hits[sampler] = sum(abs(b - BEST_BETA) <= 0.1 * BEST_BETA for b in found)
        print(sampler, [round(b, 4) for b in found], hits[sampler])
    assert hits["tpe"] > hits["random"], hits


def test_a_rejected_point_fails_its_trial_and_starts_no_process(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """A micro batch of 3 does not divide the global batch of 8: the preflight refuses it."""
    study = tmp_path / "study"
    err = _run(
        study,
        stand_in_env,
        "hydra.sweeper.sampler=grid",
        "dpo.reference_policy_kl_penalty=0.1",
        "policy.train_micro_batch_size=choice(1,3)",
        "hydra.sweeper.n_trials=10",
    )
    trials = {t.params["policy.train_micro_batch_size"]: t for t in _trials(study)}
    assert sorted(trials) == [1, 3]  # the grid's two points: n_trials is capped to it
    assert trials[1].state is optuna.trial.TrialState.COMPLETE
    refused = trials[3]
    assert refused.state is optuna.trial.TrialState.FAIL
    assert (
        "error: policy.train_global_batch_size: is 8, not a multiple"
        in refused.user_attrs["reason"]
    )
    assert f"trial {refused.number}: fail" in err
    folder = study / str(refused.number)
    # Only its record: no run folder was made ready, nothing ran.
    assert sorted(p.name for p in folder.iterdir()) == ["job.json", "trial.json"]
    assert read_json(folder / "job.json")["status"] == "rejected"
    assert read_json(folder / "trial.json")["state"] == "FAIL"


def test_a_hopeless_trial_is_pruned_and_keeps_its_checkpoints(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """One trial at a time, a grid of beta 0.1 then 0.5 (a grid runs in the order written): the
    second trial's loss is worse than the first's at every step, and the median pruner stops it."""
    study = tmp_path / "study"
    env = {**stand_in_env, "STAND_IN_STEP_S": "0.3"}
    err = _run(
        study,
        env,
        "hydra.sweeper.sampler=grid",
        "dpo.reference_policy_kl_penalty=choice(0.1,0.5)",
        "hydra.sweeper.n_jobs=1",
        "hydra.sweeper.pruner_startup_trials=1",
        "hydra.sweeper.watch_interval_s=0.5",
        "dpo.val_period=1",
        "checkpointing.save_period=1",
        steps=40,
    )
    first, second = _trials(study)
    assert first.params["dpo.reference_policy_kl_penalty"] == 0.1
    assert first.state is optuna.trial.TrialState.COMPLETE
    assert second.state is optuna.trial.TrialState.PRUNED, err
    assert second.user_attrs["reason"].startswith("pruned at step ")
    folder = study / str(second.number)
    assert read_json(folder / "job.json")["status"] == "pruned"
    steps = sorted(int(p.name.split("_")[1]) for p in (folder / "checkpoints").glob("step_*"))
    assert steps and steps[-1] < 40  # stopped early, its checkpoints kept
    assert read_json(folder / LAUNCH_JSON)["exit_code"] == 128 + signal.SIGTERM


def test_a_killed_study_resumes_to_exactly_n_trials(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    args = _search(study, "hydra.sweeper.n_trials=6", "hydra.sweeper.n_jobs=2")
    env = {**stand_in_env, "STAND_IN_TRAIN_STEPS": "10", "STAND_IN_STEP_S": "0.2"}
    proc = start_cli(args, cwd=tmp_path, env=env, start_new_session=True)
    try:
        # Killed while its second batch trains.
        wait_for_file(study / "2" / LAUNCH_JSON, STUDY_TIMEOUT_S, proc)
        time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    states = [t.state.name for t in _trials(study)]
    assert states == ["COMPLETE", "COMPLETE", "RUNNING", "RUNNING"]
    done = run_cli(args, cwd=tmp_path, env=env, timeout=STUDY_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    trials = _trials(study)
    assert [t.number for t in trials] == list(range(6))
    assert [t.state.name for t in trials] == ["COMPLETE"] * 6
    # The interrupted trial ran again in its own folder; its first launch is kept as crashed.
    record = read_json(study / "2" / LAUNCH_JSON)
    assert record["exit_code"] == 0
    assert [p["status"] for p in record["previous_launches"]] == ["crashed"]
    assert len(read_json(study / "sweep.json")) == 6


def test_ctrl_c_stops_the_study_and_the_same_command_resumes_it(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    args = _search(study, "hydra.sweeper.n_trials=4", "hydra.sweeper.n_jobs=2")
    env = {**stand_in_env, "STAND_IN_TRAIN_STEPS": "20", "STAND_IN_STEP_S": "0.2"}
    proc = start_cli(args, cwd=tmp_path, env=env)
    wait_for_file(study / "0" / LAUNCH_JSON, STUDY_TIMEOUT_S, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=STUDY_TIMEOUT_S)
    assert proc.returncode == 128 + signal.SIGINT, err
    assert "interrupted: 0 of 4 trials ended" in err
    # The stand-in NeMo-RL may print its own KeyboardInterrupt; the launcher prints none.
    assert "nemotron_align/search" not in err and "hydra/_internal" not in err
    assert not (study / "1").exists()  # the batch's second job never started
    assert [t.state.name for t in _trials(study)] == ["RUNNING", "RUNNING"]
    done = run_cli(args, cwd=tmp_path, env=env, timeout=STUDY_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert [t.state.name for t in _trials(study)] == ["COMPLETE"] * 4


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["hydra.sweeper.n_trials=0"], "hydra.sweeper.n_trials"),
        (["hydra.sweeper.sampler=grid"], "hydra.sweeper.sampler"),
        (
            ["hydra.sweeper.params=null", "dpo.reference_policy_kl_penalty=0.1"],
            "hydra.sweeper.params",
        ),
        (
            ["hydra.sweeper.sampler=cmaes", "dpo.reference_policy_kl_penalty=choice(0.1,0.2)"],
            "hydra.sweeper.sampler",
        ),
        (["dpo.reference_policy_kl_penalty=glob(*)"], "dpo.reference_policy_kl_penalty"),
        (["checkpointing.metric_name=null"], "checkpointing.metric_name"),
    ],
)
def test_a_refused_search_exits_2_and_makes_no_folder(
    tmp_path: Path, stand_in_env: dict[str, str], args: list[str], where: str
) -> None:
    study = tmp_path / "study"
    done = run_cli(_search(study, *args), cwd=tmp_path, env=stand_in_env)
    assert done.returncode == 2, done.stderr
    assert f"error: {where}: " in done.stderr and "fix: " in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not study.exists()


def test_resuming_with_another_search_is_refused_and_changes_nothing(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    _run(study, stand_in_env, "hydra.sweeper.n_trials=1", "hydra.sweeper.n_jobs=1")
    before = {p: p.stat().st_mtime_ns for p in study.rglob("*") if p.is_file()}
    done = run_cli(
        _search(study, "dpo.reference_policy_kl_penalty=interval(0.2,0.3)"),
        cwd=tmp_path,
        env=stand_in_env,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: hydra.sweep.dir: {study} holds another search (space was" in done.stderr
    after = {p: p.stat().st_mtime_ns for p in study.rglob("*") if p.is_file()}
    assert {p: t for p, t in after.items() if p.name != ".launch.lock"} == {
        p: t for p, t in before.items() if p.name != ".launch.lock"
    }


def test_a_dry_run_checks_one_batch_beside_the_study_and_keeps_no_study(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    args = _search(study, "hydra.sweeper.n_jobs=3", "hydra.sweeper.n_trials=3")
    done = run_cli([*args, "launch.dry_run=true"], cwd=tmp_path, env=stand_in_env)
    assert done.returncode == 0, done.stderr
    assert "dry run: one batch of 3 sampled points, checked and dry-run in" in done.stderr
    dry = study / "dry_run"
    assert [r["status"] for r in read_json(dry / "sweep.json")] == ["succeeded"] * 3
    assert all(read_json(dry / str(n) / LAUNCH_JSON)["dry_run"] for n in range(3))
    assert sorted(p.name for p in study.iterdir()) == ["dry_run"]  # no study, no trial folder
    # The same command for real then starts the study in the folder, untroubled.
    _run(study, stand_in_env, "hydra.sweeper.n_jobs=3", "hydra.sweeper.n_trials=3")
    assert [t.state.name for t in _trials(study)] == ["COMPLETE"] * 3


def test_a_slurm_dry_run_of_a_search_shows_one_job_array(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """No Slurm needed (its commands hidden, as a login node without them): the batch is checked
    on this machine and its sbatch script shown."""
    no_slurm = tmp_path / "no-slurm"
    no_slurm.mkdir()
    study = tmp_path / "study"
    args = [
        *_search(study, "hydra.sweeper.n_jobs=2", "launch.dry_run=true"),
        "cluster=slurm",
        "hydra.launcher.gpus_per_node=null",
    ]
    done = run_cli(args, cwd=tmp_path, env={**stand_in_env, "PATH": str(no_slurm)})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("#SBATCH --array=0,1%2") == 1, done.stderr
    assert "2 of 2 jobs passed their checks (dry run: none submitted)" in done.stderr
    assert sorted(p.name for p in study.iterdir()) == ["dry_run"]


def test_the_journal_storage_holds_a_study_too(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    study = tmp_path / "study"
    _run(study, stand_in_env, "hydra.sweeper.storage=journal", "hydra.sweeper.n_trials=2")
    assert (study / "study.journal").is_file() and not (study / "study.db").exists()
    assert [t.state.name for t in _trials(study)] == ["COMPLETE"] * 2
    assert json.loads((study / "study.json").read_text())["storage"] == "journal"
