"""`python -m nemotron_align.status` on stand-in runs: a sweep with a job that succeeded, one that
failed and one still running (its NeMo-RL waiting for a signal), and a run that logged nothing;
the facts in sweep.json, the JSON output, --watch refreshing until Ctrl-C, bad folders."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import CLI_TIMEOUT_S, run_cli, start_cli, wait_for_file

BETAS = "dpo.reference_policy_kl_penalty=0.05,0.1,0.3"
STEPS = 4
STATUS_TIMEOUT_S = 60

# One pytest-xdist worker runs these, so that the module's sweep is made once.
pytestmark = pytest.mark.xdist_group("status_sweep")


def run_status(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nemotron_align.status", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=STATUS_TIMEOUT_S,
        check=False,
    )


def status_json(folder: Path) -> dict[str, Any]:
    result = run_status(folder, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A β sweep whose jobs 0 and 1 ended (1 with exit code 9) and whose job 2 is still running:
    each trained STEPS steps, checkpointing every 2; job 2's NeMo-RL then waits for a signal."""
    tmp = tmp_path_factory.mktemp("status")
    record = tmp / "record.json"
    env = {
        "NEMO_RL_ROOT": str(Path(__file__).parent / "stand_in_nemo_rl"),
        "STAND_IN_RECORD": str(record),
        "STAND_IN_TRAIN_STEPS": str(STEPS),
        "STAND_IN_EXIT_CODE_WHEN": "dpo.reference_policy_kl_penalty=0.1:9",
        "STAND_IN_WAIT_FOR_SIGNAL": "dpo.reference_policy_kl_penalty=0.3",
        "STAND_IN_WAIT_S": "300",
    }
    args = ["-m", "algo=dpo", "data=tiny", BETAS, "checkpointing.save_period=2"]
    proc = start_cli(
        [*args, f"hydra.sweep.dir={tmp / 'sweep'}"], cwd=tmp, env=env, start_new_session=True
    )
    try:
        wait_for_file(Path(f"{record}.ready"), timeout=CLI_TIMEOUT_S, proc=proc)
        yield tmp / "sweep"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the running job is stopped, launcher and all
        proc.wait(timeout=30)


def test_each_job_shows_its_status_step_metric_time_and_checkpoint(sweep: Path) -> None:
    before = [(sweep / str(n) / "job.json").read_bytes() for n in range(3)]
    facts = status_json(sweep)
    assert facts["kind"] == "sweep" and facts["folder"] == str(sweep.resolve())
    jobs = facts["jobs"]
    assert [(j["status"], j["exit_code"]) for j in jobs] == [
        ("succeeded", 0),
        ("failed", 9),
        ("running", None),
    ]
    checked = datetime.fromisoformat(facts["checked_at"])
    for n, job in enumerate(jobs):
        progress = job["progress"]
        assert progress["last_step"] == STEPS
        assert progress["slurm"] is None  # not a Slurm job
        logged = datetime.fromisoformat(progress["last_metric_time"])
        assert timedelta(0) <= checked - logged < timedelta(minutes=5)
        assert progress["last_checkpoint"] == {
            "step": STEPS,
            "path": str(sweep.resolve() / str(n) / "checkpoints" / f"step_{STEPS}"),
        }
    # Status never rewrites job.json (a node may be writing it); its facts go to progress.json.
    assert [(sweep / str(n) / "job.json").read_bytes() for n in range(3)] == before
    saved = [json.loads((sweep / str(n) / "progress.json").read_text()) for n in range(3)]
    assert saved == [j["progress"] for j in jobs]


def test_sweep_json_gets_the_same_facts(sweep: Path) -> None:
    facts = status_json(sweep)
    rows = json.loads((sweep / "sweep.json").read_text())
    assert [r["progress"] for r in rows] == [j["progress"] for j in facts["jobs"]]
    assert [r["status"] for r in rows] == ["succeeded", "failed", "running"]
    # sweep.csv keeps its columns.
    header = (sweep / "sweep.csv").read_text().splitlines()[0]
    assert header == "job,overrides,status,exit_code,duration_s,job_folder,error"


def test_the_table_names_each_job_with_its_swept_value(sweep: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nemotron_align.status", str(sweep)],
        capture_output=True,
        text=True,
        timeout=STATUS_TIMEOUT_S,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if "│" in line}
    assert "penalty=0.3 " in lines["2"] and "running" in lines["2"]
    assert "failed" in lines["1"] and " 9 " in lines["1"]
    assert "algo=dpo" not in lines["0"]  # what every job shares is not repeated
    assert "s ago" in lines["0"] and f"0/checkpoints/step_{STEPS}" in lines["0"]


def start_watch(sweep: Path, *args: str) -> tuple[subprocess.Popen[str], queue.Queue[str]]:
    """`status --watch 0.2`, its output lines arriving on a queue."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "nemotron_align.status", str(sweep), "--watch", "0.2", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout or []]).start()
    return proc, lines


def test_watch_refreshes_until_interrupted(sweep: Path) -> None:
    proc, lines = start_watch(sweep, "--json")
    try:
        seen = [json.loads(lines.get(timeout=STATUS_TIMEOUT_S)) for _ in range(2)]
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=STATUS_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert seen[0]["checked_at"] <= seen[1]["checked_at"]
    assert [j["status"] for j in seen[1]["jobs"]] == ["succeeded", "failed", "running"]


def test_watch_draws_the_table_each_time(sweep: Path) -> None:
    proc, lines = start_watch(sweep)
    try:
        titles = 0
        while titles < 2:
            titles += f"sweep {sweep.resolve()}" in lines.get(timeout=STATUS_TIMEOUT_S)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=STATUS_TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in stderr, stderr


def test_a_run_that_logged_nothing(tmp_path: Path, stand_in_env: dict[str, str]) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        ["algo=dpo", "data=tiny", "launch.mode=subprocess", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env=stand_in_env,
    )
    assert result.returncode == 0, result.stderr
    facts = status_json(run_dir)
    (job,) = facts["jobs"]
    assert facts["kind"] == "run" and job["status"] == "succeeded" and job["exit_code"] == 0
    assert {k: v for k, v in job["progress"].items() if k != "checked_at"} == {
        "slurm": None,
        "last_step": None,
        "last_metric_time": None,
        "last_checkpoint": None,
    }
    table = run_status(run_dir)
    assert table.returncode == 0 and "succeeded" in table.stdout, table.stderr


@pytest.mark.parametrize("where", ["missing", "empty", "file"])
def test_a_folder_that_is_no_run_is_refused(where: str, tmp_path: Path) -> None:
    folder = tmp_path / where
    if where == "empty":
        folder.mkdir()
    elif where == "file":
        folder.write_text("x")
    result = run_status(folder)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {folder}: ") and "\n  fix: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "empty" / "progress.json").exists()


def test_watch_needs_a_positive_interval(tmp_path: Path) -> None:
    result = run_status(tmp_path, "--watch", "0")
    assert result.returncode == 2 and "above 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "nemotron-align-status"
    result = subprocess.run(
        [str(script), str(tmp_path / "missing")], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"error: {tmp_path / 'missing'}: does not exist\n"
        "  fix: pass the run folder a launch printed, or the sweep folder of a -m run\n"
    )
