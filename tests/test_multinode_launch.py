"""How a launch inside a multi-node Slurm job hands NeMo-RL to the Ray bootstrap.

The bootstrap itself runs with real Ray on the real local Slurm in tests/test_ray_multinode.py;
here the launcher's side: which argv, resources and folder it passes, and which rank records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import STAND_IN_ROOT, compose_config

from nemotron_align import launch as launch_module
from nemotron_align.launch import LaunchContext, launch
from nemotron_align.ray_bootstrap import SlurmPlacement


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rank: int) -> tuple[int, dict]:
    monkeypatch.setenv("NEMO_RL_ROOT", str(STAND_IN_ROOT))
    run_dir = tmp_path / "job"
    cfg = compose_config(
        [
            "algo=dpo",
            "data=tiny",
            "cluster.num_nodes=2",
            "cluster.gpus_per_node=8",
            # Data-parallel 2 over 16 GPUs, so the tiny global batch of 4 divides.
            "policy.dtensor_cfg.tensor_parallel_size=8",
            "launch.ray=[/opt/nemo_rl_venv/bin/ray]",
            "launch.ray_port=6380",
        ],
        run_dir,
    )
    seen: dict[str, Any] = {}

    def fake_run_multinode(argv: list[str], cwd: Path, env: dict, **kwargs: Any) -> int:
        seen.update(argv=argv, cwd=cwd, **kwargs)
        return 7 if kwargs["rank"] == 0 else 0

    monkeypatch.setattr(launch_module, "run_multinode", fake_run_multinode)
    monkeypatch.setattr(
        launch_module,
        "slurm_placement",
        lambda: SlurmPlacement(rank=rank, hosts=["node1", "node2"]),
    )
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=True,
        algo="dpo",
        data="tiny",
        overrides=[],
        composed_config_dir=None,
        under_submitit=True,
    )
    return launch(cfg, ctx), seen


def test_rank_zero_runs_nemo_rl_through_the_bootstrap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, seen = _run(tmp_path, monkeypatch, rank=0)
    assert code == 7
    config_path = tmp_path / "job" / "nemo_rl.yaml"
    assert seen["argv"][-3:] == ["examples/run_dpo.py", "--config", str(config_path)]
    assert seen["cwd"] == STAND_IN_ROOT
    assert (seen["num_nodes"], seen["gpus_per_node"]) == (2, 8)
    assert (seen["head_host"], seen["port"]) == ("node1", 6380)
    assert list(seen["ray"]) == ["/opt/nemo_rl_venv/bin/ray"]
    assert seen["job_dir"] == tmp_path / "job"
    record = json.loads((tmp_path / "job" / "launch.json").read_text())
    assert record["exit_code"] == 7


def test_other_ranks_join_and_leave_the_record_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, seen = _run(tmp_path, monkeypatch, rank=1)
    assert code == 0 and seen["rank"] == 1
    assert not (tmp_path / "job" / "launch.json").exists()
