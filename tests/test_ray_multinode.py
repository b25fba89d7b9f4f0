"""The multi-node Ray bootstrap with real Ray on the real local Slurm cluster.

One submitit job with two tasks on the one node stands in for a two-node job: each task is a
"node" with its own Ray temp dir, and every process of its Ray carries its own environment marker
so that `ray stop` (tests/scoped_ray.py) stops that node's Ray and nothing else on the machine.
"""

from __future__ import annotations

import json
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import submitit
from scoped_ray import marked_pids, stop
from slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm
# Older Ray ignores a worker node's --temp-dir: see the multinode-test extra in pyproject.toml.
pytest.importorskip("ray", minversion="2.60", reason="pip install -e '.[multinode-test]'")

TESTS = Path(__file__).resolve().parent
JOB_TIMEOUT_S = 300
POLL_S = 0.5


def _bootstrap_task() -> Callable[..., int]:
    # A local function, so that cloudpickle ships it by value: the job cannot import test modules.
    def task(
        tests: str,
        work: str,
        marker: str,
        num_nodes: int,
        exit_code: int,
        ready_s: float,
        port: int,
    ) -> int:
        import logging
        import os
        import sys
        from pathlib import Path

        from nemotron_align.launchers.ray_bootstrap import run_multinode
        from nemotron_align.slurm.placement import slurm_placement

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        placement = slurm_placement()
        rank = placement.rank
        node_marker = f"{marker}-{rank}"
        work_dir = Path(work)
        ray_cli = [
            sys.executable,
            str(Path(tests) / "scoped_ray.py"),
            str(Path(sys.executable).parent / "ray"),
            node_marker,
            str(work_dir / f"stopped.{rank}"),
        ]
        driver = [
            sys.executable,
            str(Path(tests) / "multinode_driver.py"),
            str(work_dir / "driver.json"),
            str(num_nodes),
            str(exit_code),
        ]
        # One HOME for both "nodes", as a shared home holds Ray's auth token on a cluster.
        env = {**os.environ, "NA_RAY_TEST_NODE": node_marker, "HOME": str(work_dir / "home")}
        return run_multinode(
            driver,
            work_dir,
            env,
            num_nodes=num_nodes,
            gpus_per_node=1,
            job_dir=work_dir,
            rank=rank,
            head_host=placement.head,
            python=[sys.executable],
            port=port,
            ray=ray_cli,
            ray_start_args=[
                f"--temp-dir={work_dir / f'ray{rank}'}",
                # The dashboard's fixed port may be taken by another Ray on this machine.
                *(["--include-dashboard=false"] if rank == 0 else []),
            ],
            ready_timeout_s=ready_s,
        )

    return task


@dataclass(frozen=True)
class RayWork:
    # Short: Ray's socket paths under its temp dir must stay below 108 characters.
    dir: Path
    marker: str
    port: int


@pytest.fixture
def ray_work() -> Iterator[RayWork]:
    work = Path(tempfile.mkdtemp(prefix="na-ray-"))
    (work / "home").mkdir()
    with socket.socket() as probe:
        probe.bind(("", 0))
        port = probe.getsockname()[1]
    marker = uuid.uuid4().hex
    yield RayWork(work, marker, port)
    # A failed test must not leave Ray running.
    stop(marker)
    shutil.rmtree(work, ignore_errors=True)


def _submit(tmp_path: Path, work: RayWork, num_nodes: int, exit_code: int, ready_s: float) -> Any:
    executor = submitit.AutoExecutor(
        folder=tmp_path / "%j", cluster="slurm", slurm_python=sys.executable
    )
    executor.update_parameters(
        timeout_min=5, nodes=1, tasks_per_node=2, cpus_per_task=1, mem_gb=1, name="na-ray"
    )
    return executor.submit(
        _bootstrap_task(),
        str(TESTS),
        str(work.dir),
        work.marker,
        num_nodes,
        exit_code,
        ready_s,
        work.port,
    )


def _wait_until_done(job: Any, timeout: float) -> float:
    """Seconds until every task of the job is done; cancel it and fail after timeout."""
    start = time.monotonic()
    while not job.done():
        if time.monotonic() - start > timeout:
            job.cancel(check=False)
            pytest.fail(f"job {job.job_id} not done after {timeout}s (state {job.state})")
        time.sleep(POLL_S)
    return time.monotonic() - start


def _task_log(job: Any, rank: int) -> str:
    return job.task(rank).stdout() or ""


def test_two_nodes_share_one_ray_cluster_and_both_leave(
    slurm_cluster: SlurmCluster, tmp_path: Path, ray_work: RayWork
) -> None:
    job = _submit(tmp_path, ray_work, num_nodes=2, exit_code=7, ready_s=120)
    seconds = _wait_until_done(job, JOB_TIMEOUT_S)
    print(f"two-node bootstrap job done in {seconds:.0f}s")

    assert job.results() == [7, 0], _task_log(job, 0) + _task_log(job, 1)
    seen = json.loads((ray_work.dir / "driver.json").read_text())
    assert seen.pop("ray_address").endswith(f":{ray_work.port}")
    assert seen == {
        "nodes": 2,
        "gpus": 2,
        "nodes_running_gpu_tasks": 2,
        "slurm_variables": [],
        "ray_enable_uv_run_runtime_env": "0",
    }
    for rank in (0, 1):
        assert (ray_work.dir / f"stopped.{rank}").read_text() == "stop\n"
    assert marked_pids(ray_work.marker) == [], "Ray processes left behind"
    assert slurm_cluster.wait_for_end(job.job_id, 60).state == "COMPLETED"


def test_missing_gpus_fail_the_head_fast_and_release_the_worker(
    slurm_cluster: SlurmCluster, tmp_path: Path, ray_work: RayWork
) -> None:
    # Three nodes' GPUs wanted, two "nodes" come: the head must give up after ready_timeout_s.
    job = _submit(tmp_path, ray_work, num_nodes=3, exit_code=0, ready_s=20)
    seconds = _wait_until_done(job, JOB_TIMEOUT_S)
    print(f"three-of-two-nodes job done in {seconds:.0f}s")

    with pytest.raises(submitit.core.utils.FailedJobError) as failed:
        job.task(0).result()
    assert "RayBootstrapError: Ray at " in str(failed.value)
    assert "did not reach 3 GPUs within 20s: it saw 2 GPUs on 2 nodes" in str(failed.value)
    assert job.task(1).result() == 0
    assert not (ray_work.dir / "driver.json").exists()
    assert marked_pids(ray_work.marker) == [], "Ray processes left behind"
    assert seconds < 120
