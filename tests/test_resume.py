"""launch.resume (preflight/resume.py): never / must / a checkpoint of another model, refused
before anything starts — in a local launch, a relaunch into the same folder, and a Slurm dry run
(the login-node preflight)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import DRY, STAND_IN_ROOT, read_json, run_cli
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv

from nemotron_align.config.launch_schema import LaunchSettings, ResumeMode
from nemotron_align.config.release import RELEASES, NemoRLInstall
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.resume import resume_point, resume_problems

MODEL = "Qwen/Qwen2.5-0.5B"
DRIVER = VENV_SIDE / "checkpoint_driver.py"


def write_checkpoint(checkpoint_dir: Path, step: int, model: str = MODEL) -> Path:
    """A finished step_N folder as NeMo-RL's CheckpointManager leaves it."""
    path = checkpoint_dir / f"step_{step}"
    path.mkdir(parents=True)
    (path / "training_info.json").write_text(json.dumps({"step": step}))
    (path / "config.yaml").write_text(yaml.safe_dump({"policy": {"model_name": model}}))
    return path


def _problems(
    tmp_path: Path, mode: ResumeMode, model: str = MODEL, checkpoint_dir: str | None = None
) -> list[str]:
    config = {
        "checkpointing": {"checkpoint_dir": checkpoint_dir or str(tmp_path / "checkpoints")},
        "policy": {"model_name": model},
    }
    install = NemoRLInstall(root=tmp_path / "nemo-rl", version=None, commit=None, release=None)
    context = PreflightContext(
        trainer=Trainer.dpo, settings=LaunchSettings(resume=mode), install=install
    )
    return [p.render() for p in resume_problems(config, context)]


def test_resume_point_is_the_newest_step_folder_as_nemo_rl_finds_it(tmp_path: Path) -> None:
    assert resume_point(tmp_path / "missing") is None
    for name in ["step_2", "step_10", "tmp_step_11", "old_step_12", "step_x"]:
        (tmp_path / name).mkdir()
    assert resume_point(tmp_path) == tmp_path / "step_10"  # by number, not by name


@pytest.mark.parametrize("mode", list(ResumeMode))
def test_a_fresh_folder(tmp_path: Path, mode: ResumeMode) -> None:
    problems = _problems(tmp_path, mode)
    if mode is ResumeMode.must:
        assert problems == [
            f"error: checkpointing.checkpoint_dir: {tmp_path / 'checkpoints'} holds no "
            "checkpoint (no step_N folder) to resume from, but launch.resume=must\n"
            "  fix: relaunch into the folder of the run to continue (hydra.run.dir=<its "
            "folder>), or set launch.resume=auto to start fresh"
        ]
    else:
        assert problems == []


@pytest.mark.parametrize("mode", list(ResumeMode))
def test_a_folder_with_checkpoints(tmp_path: Path, mode: ResumeMode) -> None:
    write_checkpoint(tmp_path / "checkpoints", 4)
    problems = _problems(tmp_path, mode)
    if mode is ResumeMode.never:
        (problem,) = problems
        assert "holds checkpoints (newest step_4)" in problem
        assert "fix: launch into a new run folder" in problem
        assert "launch.resume=auto to continue from step_4" in problem
    else:
        assert problems == []


@pytest.mark.parametrize("mode", [ResumeMode.auto, ResumeMode.must])
def test_a_checkpoint_of_another_model_is_refused(tmp_path: Path, mode: ResumeMode) -> None:
    write_checkpoint(tmp_path / "checkpoints", 1, model="meta-llama/Llama-3.2-1B")
    write_checkpoint(tmp_path / "checkpoints", 3, model="other/model")
    (problem,) = _problems(tmp_path, mode)
    # The newest one is what NeMo-RL resumes from.
    assert f"would resume from {tmp_path / 'checkpoints' / 'step_3'}" in problem
    assert f"policy.model_name=other/model, but this run trains {MODEL}" in problem
    assert "fix: set policy.model_name=other/model to continue that run" in problem


def test_the_same_local_model_under_another_spelling_is_accepted(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    write_checkpoint(tmp_path / "checkpoints", 1, model=str(model))
    assert _problems(tmp_path, ResumeMode.auto, model=f"{tmp_path}/./model") == []


def test_a_relative_checkpoint_dir_is_nemo_rls_under_its_root(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "nemo-rl" / "results" / "dpo", 2)
    (problem,) = _problems(tmp_path, ResumeMode.never, checkpoint_dir="results/dpo")
    assert f"{tmp_path / 'nemo-rl' / 'results' / 'dpo'} holds checkpoints" in problem


def test_an_unfinished_newest_checkpoint_is_refused(tmp_path: Path) -> None:
    write_checkpoint(tmp_path / "checkpoints", 1)
    (tmp_path / "checkpoints" / "step_2").mkdir()  # no training_info.json
    (problem,) = _problems(tmp_path, ResumeMode.auto)
    assert "has no training_info.json" in problem and "fix: remove" in problem


def test_cli_refuses_before_writing_anything(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write_checkpoint(run_dir / "checkpoints", 5)
    result = run_cli(
        ["algo=dpo", "data=tiny", DRY, "launch.resume=never", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert "error: checkpointing.checkpoint_dir: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists() and not (run_dir / "launch.json").exists()


def test_relaunch_into_the_same_folder_is_checked(tmp_path: Path) -> None:
    """A run trains (the stand-in writes step_N folders); its relaunch with resume=never is
    refused, with resume=must it goes ahead."""
    run_dir = tmp_path / "run"
    env = {"NEMO_RL_ROOT": str(STAND_IN_ROOT), "STAND_IN_TRAIN_STEPS": "2"}
    first = run_cli(["algo=dpo", "data=tiny", f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert resume_point(run_dir / "checkpoints") == run_dir / "checkpoints" / "step_2"
    relaunch = read_json(run_dir / "launch.json")["relaunch"][3:]
    refused = run_cli([*relaunch, "launch.resume=never"], cwd=tmp_path, env=env)
    assert refused.returncode == 2, refused.stderr
    assert "holds checkpoints (newest step_2)" in refused.stderr
    again = run_cli([*relaunch, "launch.resume=must", DRY], cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr


def test_slurm_dry_run_checks_on_the_login_node(tmp_path: Path) -> None:
    """Each job of a sweep is checked before anything is submitted."""
    sweep = tmp_path / "sweep"
    write_checkpoint(sweep / "1" / "checkpoints", 7, model="other/model")
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli(
        [
            "cluster=slurm",
            "algo=dpo",
            "data=tiny",
            DRY,
            "dpo.reference_policy_kl_penalty=0.05,0.1",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        env={"PATH": str(empty), "NEMO_RL_ROOT": str(STAND_IN_ROOT)},
    )
    assert result.returncode == 1, result.stderr  # a sweep with a refused job
    assert "error: checkpointing.checkpoint_dir: NeMo-RL would resume from" in result.stderr
    rows = read_json(sweep / "sweep.json")
    assert [row["status"] for row in rows] == ["dry_run", "rejected"]
    assert "policy.model_name=other/model" in rows[1]["error"]


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_the_check_sees_what_real_nemo_rl_resumes_from(release: str, tmp_path: Path) -> None:
    """NeMo-RL's own CheckpointManager writes the checkpoints (one save left unfinished)."""
    tree = real_tree(release)
    checkpoint_dir = tmp_path / "checkpoints"
    result = run_in_venv(
        tree,
        [str(DRIVER), str(checkpoint_dir), "other/model", "1", "3", "--unfinished", "4"],
        tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    resumed = json.loads(result.stdout.splitlines()[-1])
    assert resumed["info"] == {"step": 3}
    assert resume_point(checkpoint_dir) == Path(resumed["latest"])
    (problem,) = _problems(tmp_path, ResumeMode.auto)
    assert f"{checkpoint_dir / 'step_3'}, a checkpoint of policy.model_name=other/model" in problem
    assert _problems(tmp_path, ResumeMode.never, model="other/model") != []
    assert _problems(tmp_path, ResumeMode.must, model="other/model") == []
