"""Status of a sweep on a real local Slurm (scripts/slurm/start.sh): the job's state from the real
sacct while its stand-in NeMo-RL waits (RUNNING), then after it ended (COMPLETED)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import start_cli, wait_for_file
from slurm_cluster import LOCAL_SLURM, POLL_S, SlurmCluster

pytestmark = pytest.mark.slurm

SWEEP_TIMEOUT_S = 240
# Slurm's accounting may lag the job a little.
ACCOUNTING_TIMEOUT_S = 60


def _status(sweep_dir: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "nemotron_align.status", str(sweep_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["warnings"] == []
    return facts


def _when_slurm_says(sweep_dir: Path, state: str) -> dict[str, Any]:
    """The sweep's only job's facts once sacct shows it in `state`."""
    deadline = time.monotonic() + ACCOUNTING_TIMEOUT_S
    while True:
        (job,) = _status(sweep_dir)["jobs"]
        slurm = job["progress"]["slurm"]
        if slurm and slurm["state"] == state:
            return job
        assert time.monotonic() < deadline, f"Slurm never said {state}: {job}"
        time.sleep(POLL_S)


def test_status_shows_slurms_state_of_a_running_then_finished_job(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "sweep"
    env = {
        **stand_in_env,
        "STAND_IN_TRAIN_STEPS": "3",
        "STAND_IN_WAIT_FOR_SIGNAL": "1",
        "STAND_IN_WAIT_S": "120",
        "SLURM_CONF": str(slurm_cluster.slurm_conf),
    }
    record = Path(stand_in_env["STAND_IN_RECORD"])
    proc = start_cli(
        [*LOCAL_SLURM, "algo=dpo", "data=tiny", f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path,
        env=env,
    )
    try:
        wait_for_file(Path(f"{record}.ready"), SWEEP_TIMEOUT_S, proc)
        running = _when_slurm_says(sweep_dir, "RUNNING")
        # The stand-in NeMo-RL on the (local) node ends when signalled, with exit code 0.
        os.kill(json.loads(record.read_text())["pid"], signal.SIGINT)
        _, stderr = proc.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert running["status"] == "running" and running["slurm_job_id"]
    assert running["progress"]["last_step"] == 3
    assert running["progress"]["last_checkpoint"]["step"] == 3
    done = _when_slurm_says(sweep_dir, "COMPLETED")
    assert done["status"] == "succeeded" and done["exit_code"] == 0
    assert done["progress"]["slurm"]["exit_code"] == "0:0"
    (row,) = json.loads((sweep_dir / "sweep.json").read_text())
    assert row["progress"] == done["progress"]
