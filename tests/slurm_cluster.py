"""A real single-node Slurm cluster for tests marked `slurm`, brought up by scripts/slurm/start.sh.

The session fixture `slurm_cluster` starts the cluster (packages must already be installed:
`bash scripts/slurm/start.sh --install` or `.ci/run`), points SLURM_CONF at it for the whole
session (so sbatch, sacct, submitit and Hydra's submitit launcher find it) and stops it again at
the end, but only if this session started it. Every wait here is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts" / "slurm"
DEFAULT_STATE_DIR = Path("/tmp/nemotron_align_slurm")
START_TIMEOUT_S = 180
STOP_TIMEOUT_S = 90
COMMAND_TIMEOUT_S = 30
POLL_S = 0.2
# Job states after which a job never runs again (sacct prints e.g. "CANCELLED by 0").
FINAL_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "TIMEOUT",
    }
)


# Launcher settings that fit the local cluster: no GPUs, a 60-minute MaxTime, quick status lines.
LOCAL_SLURM = [
    "cluster=slurm",
    "hydra.launcher.gpus_per_node=null",
    "hydra.launcher.timeout_min=5",
    "hydra.launcher.status_interval_s=1",
]


def sweep_rows(sweep_dir: Path) -> list[dict[str, Any]]:
    """The sweep's sweep.json."""
    return json.loads((sweep_dir / "sweep.json").read_text())


def state_dir() -> Path:
    """The folder start.sh keeps configs, data, logs and PIDs in (env NA_SLURM_STATE)."""
    return Path(os.environ.get("NA_SLURM_STATE", str(DEFAULT_STATE_DIR))).absolute()


@dataclass(frozen=True)
class JobRecord:
    """A job's line in `sacct -X`: its state and `ExitCode` as `<exit status>:<signal>`."""

    state: str
    exit_code: str


@dataclass(frozen=True)
class SlurmCluster:
    state_dir: Path

    @property
    def slurm_conf(self) -> Path:
        return self.state_dir / "etc" / "slurm.conf"

    def run(
        self, argv: list[str], timeout: float = COMMAND_TIMEOUT_S
    ) -> subprocess.CompletedProcess[str]:
        """Run a Slurm client command against this cluster; fail the test if it fails."""
        result = subprocess.run(
            argv,
            env={**os.environ, "SLURM_CONF": str(self.slurm_conf)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"{argv} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result

    def submit(self, sbatch_args: list[str]) -> str:
        """`sbatch --parsable` with sbatch_args; returns the job id."""
        return self.run(["sbatch", "--parsable", *sbatch_args]).stdout.strip().split(";")[0]

    def record(self, job_id: str) -> JobRecord | None:
        """The job's accounting record, or None while sacct does not show it yet."""
        out = self.run(["sacct", "-n", "-X", "-P", "-j", job_id, "-o", "State,ExitCode"]).stdout
        lines = out.strip().splitlines()
        if not lines:
            return None
        state, exit_code = lines[0].split("|")
        return JobRecord(state.split()[0], exit_code)

    def wait_for_end(self, job_id: str, timeout: float) -> JobRecord:
        """Poll sacct until the job reaches a final state; cancel it and fail after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.record(job_id)
            if record is not None and record.state in FINAL_STATES:
                return record
            if time.monotonic() > deadline:
                queue = self.run(["squeue", "-j", job_id]).stdout
                subprocess.run(
                    ["scancel", job_id],
                    env={**os.environ, "SLURM_CONF": str(self.slurm_conf)},
                    timeout=COMMAND_TIMEOUT_S,
                    check=False,
                )
                pytest.fail(f"job {job_id} not finished after {timeout}s ({record}):\n{queue}")
            time.sleep(POLL_S)


def wait_for_result(job: Any, timeout: float) -> Any:
    """`job.result()` of a submitit job, bounded: submitit's own result() waits forever."""
    deadline = time.monotonic() + timeout
    while not job.done():
        if time.monotonic() > deadline:
            job.cancel(check=False)
            pytest.fail(f"submitit job {job.job_id} not done after {timeout}s (state {job.state})")
        time.sleep(POLL_S)
    return job.result()


def _run_script(name: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPTS / name)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _recorded_daemons(state: Path) -> list[str]:
    pids = state / "pids"
    return sorted(p.name for p in pids.iterdir()) if pids.is_dir() else []


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    if shutil.which("sinfo") is None:
        pytest.skip("slurm-wlm not installed: run scripts/slurm/start.sh --install or .ci/run")
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster needs root: start.sh runs munge, MariaDB and Slurm")
    state = state_dir()
    already_up = bool(_recorded_daemons(state))
    try:
        started = _run_script("start.sh", START_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"scripts/slurm/start.sh not done after {START_TIMEOUT_S}s; see {state}/log")
    if started.returncode != 0:
        pytest.fail(f"scripts/slurm/start.sh failed:\n{started.stdout}{started.stderr}")
    cluster = SlurmCluster(state)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SLURM_CONF", str(cluster.slurm_conf))
        yield cluster
    # A cluster that was up before this session (e.g. started by .ci/run) is left running.
    if not already_up:
        stopped = _run_script("stop.sh", STOP_TIMEOUT_S)
        assert stopped.returncode == 0, f"stop.sh failed:\n{stopped.stdout}{stopped.stderr}"
