"""One launch per run folder (nemotron_align.records.run_lock) and no NeMo-RL left unsupervised:
real launches against the stand-in NeMo-RL, real locks, real signals."""

from __future__ import annotations

import json
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import STAND_IN_ROOT, run_cli, start_cli, start_lock_holder, wait_for_file

PAIRS = 20
PAIRS_AT_ONCE = 4
BUSY = "is in use by another launch"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def _stand_in(record: Path, **extra: str) -> dict[str, str]:
    return {
        "NEMO_RL_ROOT": str(STAND_IN_ROOT),
        "STAND_IN_RECORD": str(record),
        "STAND_IN_WAIT_FOR_SIGNAL": "1",
        "STAND_IN_WAIT_S": "60",
        **extra,
    }


def _wait_until(condition, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _race(pair_dir: Path, mode: str) -> None:
    """Two launches into one folder at once: exactly one trainer starts, the other is turned
    away with exit status 2."""
    run_dir = pair_dir / "run"
    records = [pair_dir / "a.json", pair_dir / "b.json"]
    args = ["algo=dpo", "data=tiny", f"launch.mode={mode}", f"hydra.run.dir={run_dir}"]
    procs = [start_cli(args, cwd=pair_dir, env=_stand_in(record)) for record in records]
    try:
        _wait_until(lambda: any(p.poll() is not None for p in procs), "one launch to end")
        loser = next(i for i, p in enumerate(procs) if p.poll() is not None)
        winner = 1 - loser
        _, stderr = procs[loser].communicate(timeout=30)
        assert procs[loser].returncode == 2, stderr
        assert f"error: hydra.run.dir: {run_dir} {BUSY} (pid " in stderr, stderr
        assert "fix:" in stderr and "Traceback" not in stderr
        wait_for_file(Path(f"{records[winner]}.ready"), proc=procs[winner])
        procs[winner].send_signal(signal.SIGTERM)
        _, stderr = procs[winner].communicate(timeout=30)
        assert procs[winner].returncode == 0, stderr
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    assert [record.exists() for record in records] == [loser == 1, loser == 0]
    assert read_json(records[winner])["signals"] == ["SIGTERM"]


def test_two_launches_into_one_folder_start_one_trainer(tmp_path: Path) -> None:
    modes = ["exec", "subprocess"] * (PAIRS // 2)
    with ThreadPoolExecutor(PAIRS_AT_ONCE) as pool:
        futures = []
        for n, mode in enumerate(modes):
            pair_dir = tmp_path / f"pair{n}"
            pair_dir.mkdir()
            futures.append(pool.submit(_race, pair_dir, mode))
        for future in futures:
            future.result()


def test_exec_mode_nemo_rl_itself_holds_the_lock(tmp_path: Path) -> None:
    """The launcher became NeMo-RL: the lock went with it across exec, and names its pid."""
    run_dir = tmp_path / "run"
    record = tmp_path / "record.json"
    args = ["algo=dpo", "data=tiny", f"hydra.run.dir={run_dir}"]
    proc = start_cli(args, cwd=tmp_path, env=_stand_in(record))
    try:
        wait_for_file(Path(f"{record}.ready"), proc=proc)
        assert read_json(record)["pid"] == proc.pid
        again = run_cli([*args, "launch.dry_run=true"], cwd=tmp_path)
        assert again.returncode == 2
        assert f"{BUSY} (pid {proc.pid} on host {socket.gethostname()}, started " in again.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert run_cli([*args, "launch.dry_run=true"], cwd=tmp_path).returncode == 0


def test_a_dead_holder_frees_the_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    holder = start_lock_holder(run_dir)
    try:
        args = ["algo=dpo", "data=tiny", "launch.dry_run=true", f"hydra.run.dir={run_dir}"]
        busy = run_cli(args, cwd=tmp_path)
        assert busy.returncode == 2
        assert f"{run_dir} {BUSY} (pid {holder.pid} on host " in busy.stderr
        # Turned away, it left the holder's folder as it was (nothing rendered into it).
        assert not (run_dir / "nemo_rl.yaml").exists()
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        result = run_cli(args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        held_by = read_json(run_dir / ".launch.lock")
        assert held_by["pid"] != holder.pid and held_by["host"] == socket.gethostname()
    finally:
        holder.kill()
        holder.wait()
