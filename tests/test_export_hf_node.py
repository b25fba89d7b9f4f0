"""The HF export in a Slurm job: the head task runs it after NeMo-RL, in the same job. The job is
made ready as on the login node (a launch with a Slurm job context) and its node side,
nemotron_align.slurm.node_job, runs here against the stand-in NeMo-RL (no Slurm needed; the
end-to-end Slurm path is tests/test_slurm_launch.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import STAND_IN_ROOT, compose_config, read_json
from omegaconf import OmegaConf

from nemotron_align.launchers.context import LaunchContext, SlurmJob
from nemotron_align.launchers.launch import launch
from nemotron_align.slurm import node_job


def _prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEMO_RL_ROOT", str(STAND_IN_ROOT))
    sweep = tmp_path / "sweep"
    run_dir = sweep / "0"
    overrides = ["cluster=slurm", "algo=dpo", "data=tiny", "launch.export_hf=last"]
    cfg = compose_config([*overrides, f"hydra.sweep.dir={sweep}"], run_dir)
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=True,
        algo="dpo",
        data="tiny",
        overrides=overrides,
        composed_config_dir=None,
        slurm=SlurmJob(params=params, sweep_dir=sweep, num=0),  # type: ignore[arg-type]
    )
    assert launch(cfg, ctx) == 0
    return run_dir


@pytest.mark.parametrize("export_code", [0, 9])
def test_head_task_exports_after_nemo_rl(
    export_code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _prepare(tmp_path, monkeypatch)
    assert read_json(run_dir / "slurm_job.json")["export"]["which"] == "last"
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("STAND_IN_TRAIN_STEPS", "2")
    monkeypatch.setenv("STAND_IN_EXPORT_EXIT_CODE", str(export_code))
    assert node_job.run(run_dir) == export_code
    launch_json = read_json(run_dir / "launch.json")
    export = launch_json["export_hf"]
    assert (export["step"], export["exit_code"]) == (2, export_code)
    assert launch_json["exit_code"] == export_code
    job = read_json(run_dir / "job.json")
    if export_code == 0:
        assert (job["status"], job["error"]) == ("succeeded", None)
        assert launch_json["produced"]["hf_export"] == str(run_dir.resolve() / "hf")
    else:
        assert job["status"] == "failed" and job["exit_code"] == export_code
        assert job["error"].startswith("error: launch.export_hf: training finished (exit 0)")
        assert launch_json["produced"]["hf_export"] is None


def test_no_export_when_the_job_is_requeued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A requeued job's run goes on in its next allocation: nothing is exported at this end."""
    run_dir = _prepare(tmp_path, monkeypatch)

    class Requeued(node_job._Requeue):
        def __init__(self, job: node_job.NodeJob) -> None:
            super().__init__(job)
            self.requested = True

        def now(self) -> None:
            pass

    monkeypatch.setattr(node_job, "_Requeue", Requeued)
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("STAND_IN_TRAIN_STEPS", "2")
    assert node_job.run(run_dir) == 0
    launch_json = read_json(run_dir / "launch.json")
    assert launch_json["export_hf"] is None and launch_json["produced"] is None
    assert not (run_dir / "hf").exists()
