"""One MLflow run per run folder (records/mlflow_identity.py): before NeMo-RL starts, the run
tagged with the folder is got or created by launch.python and handed over as MLFLOW_RUN_ID.
Real mlflow (the NeMo-RL venv's) on a sqlite:/// tracking URI."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from conftest import STAND_IN_ROOT, read_json, run_cli
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv, venv_python

from nemotron_align.config.release import RELEASES
from nemotron_align.launchers.process import child_environment
from nemotron_align.records.launch_record import LaunchRecord
from nemotron_align.records.mlflow_identity import MlflowRun, ensure_mlflow_run, mlflow_target
from nemotron_align.slurm import node_job

EXPERIMENT = "nemotron-align-test"
LOGGER_DRIVER = VENV_SIDE / "mlflow_logger_driver.py"


def _target(tmp_path: Path) -> dict[str, str]:
    return {"tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}", "experiment_name": EXPERIMENT}


def _ensure(
    tmp_path: Path, run_dir: Path, python: list[str], env: dict[str, str] | None = None
) -> MlflowRun:
    env = child_environment(env or {})
    return ensure_mlflow_run(_target(tmp_path), python, run_dir, tmp_path, env)


def test_the_target_is_the_logger_settings_when_a_run_is_to_be_found() -> None:
    on = {"mlflow_enabled": True, "mlflow": {"experiment_name": "e", "tracking_uri": None}}
    assert mlflow_target({"logger": on}) == {"experiment_name": "e"}
    assert mlflow_target({"logger": {**on, "mlflow_enabled": False}}) is None
    configured = {**on, "mlflow": {"run_id": "abc"}}
    assert mlflow_target({"logger": configured}) is None


def test_without_mlflow_a_warning_and_no_run(tmp_path: Path) -> None:
    found = _ensure(tmp_path, tmp_path / "run", [sys.executable])  # our venv: no mlflow
    assert found.run_id is None
    assert found.warning is not None and "mlflow is not installed" in found.warning
    missing = _ensure(tmp_path, tmp_path / "run", [str(tmp_path / "no-python")])
    assert missing.run_id is None and missing.warning is not None


def test_a_configured_env_run_id_is_left_as_it_is(tmp_path: Path) -> None:
    found = _ensure(tmp_path, tmp_path / "run", ["false"], env={"MLFLOW_RUN_ID": "mine"})
    assert (found.run_id, found.warning) == (None, None)


def test_a_slurm_job_carries_the_target_to_its_node(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    empty = tmp_path / "bin"
    empty.mkdir()
    result = run_cli(
        [
            "cluster=slurm",
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            "logger.mlflow_enabled=true",
            f"logger.mlflow.experiment_name={EXPERIMENT}",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        env={"PATH": str(empty), "NEMO_RL_ROOT": str(STAND_IN_ROOT)},
    )
    assert result.returncode == 0, result.stderr
    node = read_json(sweep / "0" / "slurm_job.json")
    assert node["mlflow"] == {
        "experiment_name": EXPERIMENT,
        "tracking_uri": "http://localhost:5000",
        "run_name": "dpo",
    }


@pytest.mark.nemo_rl_real
def test_two_launches_of_a_folder_get_one_run(tmp_path: Path) -> None:
    python = [venv_python()]
    first = _ensure(tmp_path, tmp_path / "run", python)
    assert first.warning is None and first.run_id
    assert _ensure(tmp_path, tmp_path / "run", python).run_id == first.run_id
    other = _ensure(tmp_path, tmp_path / "other", python).run_id
    assert other and other != first.run_id


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_real_mlflow_logger_logs_into_the_folders_run(
    release: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = real_tree(release)
    run_id = _ensure(tmp_path, tmp_path / "run", [venv_python()]).run_id
    assert run_id
    target = _target(tmp_path)
    monkeypatch.setenv("MLFLOW_RUN_ID", run_id)
    result = run_in_venv(
        tree,
        [str(LOGGER_DRIVER), target["tracking_uri"], EXPERIMENT, str(tmp_path / "logs")],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split()[-1] == run_id
    check = (
        "import json, sys, mlflow; mlflow.set_tracking_uri(sys.argv[1]); "
        "r = mlflow.get_run(sys.argv[2]); print(json.dumps(r.data.metrics))"
    )
    metrics = run_in_venv(tree, ["-c", check, target["tracking_uri"], run_id], tmp_path)
    assert metrics.returncode == 0, metrics.stderr[-2000:]
    assert json.loads(metrics.stdout.splitlines()[-1]) == {"train/loss": 0.5}


@pytest.mark.nemo_rl_real
def test_a_launch_and_its_relaunch_hand_nemo_rl_one_run_id(tmp_path: Path) -> None:
    """launch.python is a wrapper that notes the MLFLOW_RUN_ID NeMo-RL (the stand-in) gets."""
    seen = tmp_path / "seen.txt"
    wrapper = tmp_path / "python.sh"
    wrapper.write_text(
        f'#!/bin/sh\nprintf "%s\\n" "$MLFLOW_RUN_ID" >> {seen}\nexec {venv_python()} "$@"\n'
    )
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    run_dir = tmp_path / "run"
    target = _target(tmp_path)
    args = [
        "algo=dpo",
        "data=tiny",
        "logger.mlflow_enabled=true",
        f"logger.mlflow.tracking_uri={target['tracking_uri']}",
        f"logger.mlflow.experiment_name={EXPERIMENT}",
        f"launch.python=[{wrapper}]",
        "launch.mode=subprocess",
        f"hydra.run.dir={run_dir}",
    ]
    ids = []
    for _ in range(2):
        result = run_cli(args, cwd=tmp_path, env={"NEMO_RL_ROOT": str(STAND_IN_ROOT)})
        assert result.returncode == 0, result.stderr
        ids.append(read_json(run_dir / "launch.json")["mlflow_run_id"])
        # The last line is NeMo-RL's start; the one before, the get-or-create (none set yet).
        assert seen.read_text().splitlines()[-2:] == ["", ids[-1]]
    assert ids[0] and ids[0] == ids[1]


@pytest.mark.nemo_rl_real
def test_the_slurm_head_task_gets_the_run(tmp_path: Path) -> None:
    """prepare writes the target into slurm_job.json; the node's head task sets the env and
    launch.json from it."""
    job_dir = tmp_path / "0"
    job_dir.mkdir()
    config = {"logger": {"mlflow_enabled": True, "mlflow": _target(tmp_path)}}
    job = node_job.NodeJob(
        num=0, overrides=[], sweep_dir=str(tmp_path), job_dir=str(job_dir),
        python=[venv_python()], args=[], nemo_rl_root=str(tmp_path), script="",
        nemo_rl_release="v0.7.0", env={}, inputs=[], num_nodes=1, gpus_per_node=1,
        timeout_min=10, signal_delay_s=60, max_num_timeout=0, ray=["ray"], ray_port=1,
        ray_start_args=[], ray_ready_timeout_s=1.0, mlflow=mlflow_target(config),
    )  # fmt: skip
    record = LaunchRecord(
        argv=[], cwd="", mode="slurm", dry_run=False, nemo_rl_root="", nemo_rl_version=None,
        nemo_rl_release="v0.7.0", nemo_rl_commit=None, python=[], overrides=[], env={},
        relaunch=None,
    )  # fmt: skip
    env: dict[str, str] = child_environment({})
    node_job._in_mlflow_run(job, job_dir, record, env)
    assert env["MLFLOW_RUN_ID"] == LaunchRecord.read(job_dir).mlflow_run_id
    again: dict[str, str] = child_environment({})
    node_job._in_mlflow_run(job, job_dir, record, again)  # the requeued job
    assert again["MLFLOW_RUN_ID"] == env["MLFLOW_RUN_ID"]
