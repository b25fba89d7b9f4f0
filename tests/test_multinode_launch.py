"""How a job of a multi-node Slurm sweep hands NeMo-RL to the Ray bootstrap on its nodes.

The bootstrap itself runs with real Ray on the real local Slurm in tests/test_ray_multinode.py;
here the launcher's side: the job made ready on the submitting machine (launch with a Slurm job
context), then nemotron_align.slurm.node_job on each "node": which argv, resources and folder it
passes to the bootstrap, and which rank records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import STAND_IN_ROOT, compose_config, start_lock_holder
from omegaconf import OmegaConf

from nemotron_align.launchers.context import LaunchContext, SlurmJob
from nemotron_align.launchers.launch import launch
from nemotron_align.slurm import node_job
from nemotron_align.slurm.placement import SlurmPlacement


def _prepare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEMO_RL_ROOT", str(STAND_IN_ROOT))
    run_dir = tmp_path / "sweep" / "0"
    cfg = compose_config(
        [
            "cluster=slurm",
            "algo=dpo",
            "data=tiny",
            "cluster.num_nodes=2",
            "cluster.gpus_per_node=8",
            # Data-parallel 2 over 16 GPUs, so the tiny global batch divides.
            "policy.dtensor_cfg.tensor_parallel_size=8",
            "launch.ray=[/opt/nemo_rl_venv/bin/ray]",
            "launch.ray_port=6380",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        run_dir,
    )
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=True)
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=True,
        algo="dpo",
        data="tiny",
        overrides=["cluster.num_nodes=2"],
        composed_config_dir=None,
        slurm=SlurmJob(params=params, sweep_dir=tmp_path / "sweep", num=0),  # type: ignore[arg-type]
    )
    assert launch(cfg, ctx) == 0
    return run_dir


def _on_node(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, rank: int
) -> tuple[int, dict[str, Any]]:
    seen: dict[str, Any] = {}

    def fake_run_multinode(argv: list[str], cwd: Path, env: dict, **kwargs: Any) -> int:
        seen.update(argv=argv, cwd=cwd, **kwargs)
        return 7 if kwargs["rank"] == 0 else 0

    monkeypatch.setattr(node_job, "run_multinode", fake_run_multinode)
    monkeypatch.setattr(
        node_job, "slurm_placement", lambda: SlurmPlacement(rank=rank, hosts=["node1", "node2"])
    )
    monkeypatch.setenv("SLURM_PROCID", str(rank))
    return node_job.run(run_dir), seen


def test_rank_zero_runs_nemo_rl_through_the_bootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _prepare(tmp_path, monkeypatch)
    submitted = json.loads((run_dir / "launch.json").read_text())
    assert (submitted["mode"], submitted["start_time"]) == ("slurm", None)
    code, seen = _on_node(run_dir, monkeypatch, rank=0)
    assert code == 7
    config_path = run_dir / "nemo_rl.yaml"
    assert seen["argv"][-3:] == ["examples/run_dpo.py", "--config", str(config_path)]
    assert seen["cwd"] == STAND_IN_ROOT
    assert (seen["num_nodes"], seen["gpus_per_node"]) == (2, 8)
    assert (seen["head_host"], seen["port"]) == ("node1", 6380)
    assert list(seen["ray"]) == ["/opt/nemo_rl_venv/bin/ray"]
    assert seen["job_dir"] == run_dir
    record = json.loads((run_dir / "launch.json").read_text())
    assert record["exit_code"] == 7 and record["start_time"] is not None
    job = json.loads((run_dir / "job.json").read_text())
    assert (job["status"], job["exit_code"]) == ("failed", 7)


def test_other_ranks_join_and_leave_the_records_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = _prepare(tmp_path, monkeypatch)
    before = (run_dir / "launch.json").read_text()
    code, seen = _on_node(run_dir, monkeypatch, rank=1)
    assert code == 0 and seen["rank"] == 1
    assert (run_dir / "launch.json").read_text() == before
    assert not (run_dir / "job.json").exists()


def test_the_head_holds_the_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job whose folder another launch holds (an earlier attempt still running) starts nothing
    and leaves the records to that one."""
    run_dir = _prepare(tmp_path, monkeypatch)
    before = (run_dir / "launch.json").read_text()
    holder = start_lock_holder(run_dir)
    try:
        code, seen = _on_node(run_dir, monkeypatch, rank=0)
    finally:
        holder.kill()
        holder.wait()
    assert code == 2 and not seen
    assert f"{run_dir} is in use by another launch (pid {holder.pid} on host " in (
        capsys.readouterr().err
    )
    assert (run_dir / "launch.json").read_text() == before


def test_an_attempt_left_unended_on_another_host_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock may not reach across hosts on every file system: the record says where the
    previous attempt ran, and that it never recorded an end (a node that died, or still runs)."""
    run_dir = _prepare(tmp_path, monkeypatch)
    _on_node(run_dir, monkeypatch, rank=0)
    record = json.loads((run_dir / "launch.json").read_text())
    record.update(host="node9", pid=4242, end_time=None, exit_code=None)
    (run_dir / "launch.json").write_text(json.dumps(record))
    capsys.readouterr()
    code, _ = _on_node(run_dir, monkeypatch, rank=0)
    assert code == 7
    err = capsys.readouterr().err
    assert "the previous run of this job started on node9 (pid 4242)" in err
    assert "recorded no end" in err
    attempts = json.loads((run_dir / "launch.json").read_text())["previous_launches"]
    assert attempts[-1]["status"] == "crashed" and attempts[-1]["host"] == "node9"
