"""Status asks sacct once for all of a sweep's Slurm jobs (a fake sacct on PATH here; the real one
in tests/test_status_slurm.py): array tasks still pending inside their array's line, states with
trailing words, sacct failing or absent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nemotron_align.records.job_record import write_job_record
from nemotron_align.results.status_slurm import SlurmState, parse_sacct
from nemotron_align.results.status_view import age

SACCT_OUT = """77_0|RUNNING|0:0|00:01:02
77_[1-2%1]|PENDING|0:0|00:00:00
78|CANCELLED by 0|0:15|00:00:05
99|COMPLETED|0:0|00:00:01
"""


def test_sacct_lines_are_read_per_job() -> None:
    states = parse_sacct(SACCT_OUT, {"77_0", "77_1", "77_2", "78"})
    assert states == {
        "77_0": SlurmState("RUNNING", "0:0", "00:01:02"),
        "77_1": SlurmState("PENDING", "0:0", "00:00:00"),
        "77_2": SlurmState("PENDING", "0:0", "00:00:00"),
        "78": SlurmState("CANCELLED", "0:15", "00:00:05"),
    }


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(-3, "0s ago"), (59, "59s ago"), (180, "3m ago"), (7500, "2h 5m ago"), (90000, "1d 1h ago")],
)
def test_age(seconds: float, said: str) -> None:
    assert age(seconds) == said


def _sweep(tmp_path: Path) -> Path:
    sweep = tmp_path / "sweep"
    for num, slurm_id in enumerate(["77_0", "77_1", "78"]):
        overrides = ["algo=dpo", f"dpo.reference_policy_kl_penalty=0.{num + 1}"]
        write_job_record(
            sweep, sweep / str(num), num, overrides, status="queued", slurm_job_id=slurm_id
        )
    return sweep


def _fake_sacct(bin_dir: Path, script: str) -> None:
    bin_dir.mkdir()
    sacct = bin_dir / "sacct"
    sacct.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" >> {bin_dir}/argv\n{script}\n")
    sacct.chmod(0o755)


def _status(sweep: Path, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nemotron_align.status", str(sweep), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PATH": path},
        check=False,
    )


def test_one_sacct_call_gives_every_job_its_state(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    _fake_sacct(tmp_path / "bin", f"cat <<'EOF'\n{SACCT_OUT}EOF")
    result = _status(sweep, f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "bin" / "argv").read_text().splitlines()
    assert argv == ["-n", "-P", "-X", "-o", "JobID,State,ExitCode,Elapsed", "-j", "77_0,77_1,78"]
    slurm = [j["progress"]["slurm"] for j in json.loads(result.stdout)["jobs"]]
    assert slurm == [
        {"state": "RUNNING", "exit_code": "0:0", "elapsed": "00:01:02"},
        {"state": "PENDING", "exit_code": "0:0", "elapsed": "00:00:00"},
        {"state": "CANCELLED", "exit_code": "0:15", "elapsed": "00:00:05"},
    ]
    rows = json.loads((sweep / "sweep.json").read_text())
    assert [r["progress"]["slurm"] for r in rows] == slurm
    assert [r["status"] for r in rows] == ["queued"] * 3  # the job records are left as they were


def test_a_failing_sacct_is_a_warning(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    _fake_sacct(
        tmp_path / "bin", "echo 'sacct: error: Problem talking to the database' >&2; exit 1"
    )
    result = _status(sweep, f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert [j["progress"]["slurm"] for j in facts["jobs"]] == [None] * 3
    assert facts["warnings"] == [
        "Slurm states unknown: sacct exited 1: sacct: error: Problem talking to the database"
    ]


def test_without_sacct_the_slurm_state_is_unknown(tmp_path: Path) -> None:
    sweep = _sweep(tmp_path)
    (tmp_path / "empty").mkdir()
    result = _status(sweep, str(tmp_path / "empty"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["warnings"] == ["Slurm states unknown: sacct is not on PATH"]
