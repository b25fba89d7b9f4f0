"""cluster=slurm on a real local Slurm (scripts/slurm/start.sh) with the stand-in NeMo-RL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import run_cli, start_cli, wait_for_file
from slurm_cluster import LOCAL_SLURM, SlurmCluster, sweep_rows

pytestmark = pytest.mark.slurm

SWEEP_TIMEOUT_S = 240


def test_beta_sweep_is_one_job_array_and_a_failure_is_recorded(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            *LOCAL_SLURM,
            "algo=dpo",
            "data=tiny",
            "dpo.reference_policy_kl_penalty=0.05,0.1,0.3",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        timeout=SWEEP_TIMEOUT_S,
        env={**stand_in_env, "STAND_IN_EXIT_CODE_WHEN": "dpo.reference_policy_kl_penalty=0.1:9"},
    )
    assert result.returncode == 1, result.stderr
    job_ids = re.findall(r"submitted as Slurm job (\d+)_(\d+)", result.stderr)
    assert len(job_ids) == 3 and len({array for array, _ in job_ids}) == 1  # one job array
    assert "log: " in result.stderr and "jobs: " in result.stderr  # ids, logs, status line
    assert [(r["status"], r["exit_code"]) for r in sweep_rows(sweep_dir)] == [
        ("succeeded", 0),
        ("failed", 9),
        ("succeeded", 0),
    ]
    array = job_ids[0][0]
    # Each task ends as NeMo-RL did (accounting may lag the job's own record a little).
    states = [slurm_cluster.wait_for_end(f"{array}_{task}", 60).state for task in range(3)]
    assert states == ["COMPLETED", "FAILED", "COMPLETED"]
    launch = json.loads((sweep_dir / "1" / "launch.json").read_text())
    assert launch["mode"] == "slurm" and launch["exit_code"] == 9


def test_single_run_goes_through_slurm(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "single"
    result = run_cli(
        [*LOCAL_SLURM, "algo=rlvr", "data=tiny", f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path,
        timeout=SWEEP_TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 0, result.stderr
    assert [r["status"] for r in sweep_rows(sweep_dir)] == ["succeeded"]
    record = json.loads(Path(stand_in_env["STAND_IN_RECORD"]).read_text())
    assert record["script"] == "examples/run_grpo.py" and "failure" not in record


def test_job_over_its_time_limit_surfaces(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "late"
    result = run_cli(
        [
            *LOCAL_SLURM[:-2],
            "hydra.launcher.timeout_min=1",
            "hydra.launcher.signal_delay_s=30",
            "hydra.launcher.status_interval_s=2",
            "algo=dpo",
            "data=tiny",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        timeout=SWEEP_TIMEOUT_S,
        env={
            **stand_in_env,
            "STAND_IN_WAIT_FOR_SIGNAL": "1",
            "STAND_IN_WAIT_S": "600",
            "STAND_IN_IGNORE": "SIGUSR2,SIGTERM",
        },
    )
    assert result.returncode == 1
    (row,) = sweep_rows(sweep_dir)
    assert row["status"] == "timeout", row
    assert "0 of 1 jobs succeeded" in result.stderr


def test_cancelled_job_without_result_is_recorded(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "cancelled"
    env = {
        **stand_in_env,
        "STAND_IN_WAIT_FOR_SIGNAL": "1",
        "STAND_IN_WAIT_S": "120",
        "STAND_IN_IGNORE": "SIGTERM",
        "SLURM_CONF": str(slurm_cluster.slurm_conf),
    }
    proc = start_cli(
        [
            *LOCAL_SLURM,
            "algo=dpo",
            "data=tiny",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=env,
    )
    try:
        wait_for_file(Path(stand_in_env["STAND_IN_RECORD"] + ".ready"), SWEEP_TIMEOUT_S, proc)
        slurm_cluster.run(["scancel", _job_id(sweep_dir)])
        _, stderr = proc.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert "without a result" in stderr
    (row,) = sweep_rows(sweep_dir)
    assert row["status"] == "cancelled" and row["log"].endswith("_log.out")


def _job_id(sweep_dir: Path) -> str:
    """The Slurm id of the sweep's one job, once it has been submitted."""
    (row,) = sweep_rows(sweep_dir)
    return row["slurm_job_id"]


def test_preemption_signal_reaches_nemo_rl_and_the_job_is_requeued(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    """SIGUSR2 (Slurm's preemption signal, sent here with scancel) reaches NeMo-RL, then the job
    requeues itself (nemotron_align.slurm.node_job); it comes back to the same job folder and
    finishes."""
    sweep_dir = tmp_path / "requeue"
    env = {
        **stand_in_env,
        "STAND_IN_WAIT_FOR_SIGNAL": "1",
        "STAND_IN_WAIT_S": "120",
        "STAND_IN_WAIT_ONCE": "1",
        "SLURM_CONF": str(slurm_cluster.slurm_conf),
    }
    proc = start_cli(
        [
            *LOCAL_SLURM,
            # A SIGUSR2 long before the time limit means preemption, which is always requeued.
            "hydra.launcher.timeout_min=50",
            "algo=dpo",
            "data=tiny",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=env,
    )
    try:
        wait_for_file(Path(stand_in_env["STAND_IN_RECORD"] + ".ready"), SWEEP_TIMEOUT_S, proc)
        slurm_cluster.run(["scancel", "--signal=USR2", _job_id(sweep_dir)])
        _, stderr = proc.communicate(timeout=SWEEP_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    (row,) = sweep_rows(sweep_dir)
    assert row["status"] == "succeeded"
    # Only the first run waited, and it got SIGUSR2: from Slurm, which signals every process of
    # the step, and forwarded by the launcher (which forwards whatever reaches it).
    runs = Path(stand_in_env["STAND_IN_RECORD"] + ".signals").read_text().splitlines()
    assert len(runs) == 1 and set(runs[0].split()) == {"SIGUSR2"}
    launch = json.loads((sweep_dir / "0" / "launch.json").read_text())
    assert len(launch["previous_launches"]) == 1 and launch["exit_code"] == 0
