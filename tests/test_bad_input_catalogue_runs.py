"""The bad-input catalogue (README), the run itself: a busy or unwritable run folder, a killed
launcher, unresolvable interpolations, override grammar, a full disk, a launch refused into
another run's folder. Each exits with status 2 and a fix, and leaves the run's record as it was."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from bad_input_support import (
    STAND_IN_NEMO_RL,
    assert_refused,
    no_secret_anywhere,  # noqa: F401  (autouse: every test here)
)
from conftest import run_cli, start_cli, start_lock_holder, wait_for_file

from nemotron_align.records.run_lock import LOCK_FILE


@pytest.mark.parametrize(
    "args",
    [
        ["algo=dpo", "data=tiny", "launch.dry_run=true"],
        ["algo=dpo", "data=tiny"],
        ["algo=rlvr", "data=tiny", "launch.mode=subprocess"],
    ],
    ids=["dry run", "run", "another config, subprocess"],
)
def test_catalogue_run_folder_in_use(args: list[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    record = tmp_path / "record.json"
    holder = start_lock_holder(run_dir)
    try:
        result = run_cli(
            [*args, f"hydra.run.dir={run_dir}"],
            cwd=tmp_path,
            env={"NEMO_RL_ROOT": str(STAND_IN_NEMO_RL), "STAND_IN_RECORD": str(record)},
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert f"hydra.run.dir: {run_dir} is in use by another launch (pid {holder.pid} on host " in (
        result.stderr
    )
    assert "fix: wait for that run to end" in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists() and not record.exists()  # no trainer started


@pytest.mark.parametrize(
    "args",
    [["algo=dpo"], ["algo=rlvr"], ["algo=dpo", "+launch.env.NA_TEST_RUN=3"]],
    ids=["dpo", "rlvr", "with launch.env"],
)
def test_catalogue_killed_launcher(args: list[str], tmp_path: Path) -> None:
    """SIGKILL of a subprocess-mode launcher: NeMo-RL gets SIGTERM and ends (PR_SET_PDEATHSIG),
    and the next launch into the folder records the killed run as crashed."""
    run_dir = tmp_path / "run"
    record = tmp_path / "record.json"
    args = [*args, "data=tiny", "launch.mode=subprocess", f"hydra.run.dir={run_dir}"]
    env = {"NEMO_RL_ROOT": str(STAND_IN_NEMO_RL), "STAND_IN_RECORD": str(record)}
    waiting = {**env, "STAND_IN_WAIT_FOR_SIGNAL": "1", "STAND_IN_WAIT_S": "60"}
    proc = start_cli(args, cwd=tmp_path, env=waiting)
    try:
        wait_for_file(Path(f"{record}.ready"), proc=proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while json.loads(record.read_text())["signals"] != ["SIGTERM"]:
            assert time.monotonic() < deadline, "NeMo-RL never got SIGTERM"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    again = run_cli(args, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    killed = json.loads((run_dir / "launch.json").read_text())["previous_launches"][-1]
    assert killed["status"] == "crashed" and killed["pid"] == proc.pid


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


DRY_DPO = ["algo=dpo", "data=tiny", "launch.dry_run=true"]

# An interpolation that cannot be resolved, checked when the config is rendered.
INTERPOLATIONS = {
    "key that does not exist": (
        "+x=${does.not.exist}",
        ["error: x: cannot be resolved: Interpolation key 'does.not.exist' not found"],
    ),
    "self-reference": (
        "+a=${a}",
        ["error: a: cannot be resolved: Recursive interpolation", "a refers to itself"],
    ),
    "unset environment variable": (
        "+y=${oc.env:UNSET_VAR_XYZ}",
        [
            "error: y: cannot be resolved:",
            "Environment variable 'UNSET_VAR_XYZ' not found",
            "export UNSET_VAR_XYZ, or give the value a default: ${oc.env:UNSET_VAR_XYZ,<default>}",
        ],
    ),
    "NeMo-RL key pointing nowhere": (
        "policy.model_name=${nope}",
        ["error: policy.model_name: cannot be resolved: Interpolation key 'nope' not found"],
    ),
}


# Overrides the grammar refuses, and a config group left without a choice.
GRAMMAR = {
    "unicode in an unquoted value": (
        "+note=héllo wörld",
        ["error: note: '+note=héllo wörld' is not valid override grammar", "quote the value"],
    ),
    "spaces and parentheses in an unquoted value": (
        "policy.model_name=my model (v2)",
        [
            "'policy.model_name=my model (v2)' is not valid override grammar",
            "expecting <EOF>",
            "\"policy.model_name='my model (v2)'\"",
        ],
    ),
    "unclosed parenthesis": (
        "+z=f(x",
        ["error: z: '+z=f(x' is not valid override grammar", "quote it: \"+z='f(x'\""],
    ),
    "unclosed interpolation": (
        "+z=${oops",
        ["error: z: '+z=${oops' is not valid override grammar", "quote"],
    ),
    "empty group choice": (
        "algo=",
        ["error: algo=: names no option", "options: dpo, grpo_gym, rlhf, rlvr"],
    ),
}


@pytest.mark.parametrize("entry", [*INTERPOLATIONS, *GRAMMAR])
def test_catalogue_override_entry(entry: str, tmp_path: Path) -> None:
    """Interpolations that cannot be resolved, overrides the grammar refuses: no run folder."""
    override, expected = {**INTERPOLATIONS, **GRAMMAR}[entry]
    run_dir = tmp_path / "run"
    result = run_cli([*DRY_DPO, override, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert_refused(result, expected)
    assert not run_dir.exists()


# A run folder that cannot be made: {tmp} is the test's folder, which holds a file `afile`.
RUN_DIR_FAULTS = {
    "parent is a file": (
        "{tmp}/afile/run",
        ["error: {tmp}/afile/run: a part of this path is a file, not a folder"],
    ),
    "run folder is a file": (
        "{tmp}/afile",
        ["error: {tmp}/afile: is a file, not a folder", "move the file away"],
    ),
    "name too long": (
        "{tmp}/" + "a" * 300,
        ["the path is too long", "choose a shorter hydra.run.dir"],
    ),
}


@pytest.mark.parametrize("entry", list(RUN_DIR_FAULTS))
def test_catalogue_run_dir_entry(entry: str, tmp_path: Path) -> None:
    run_dir, expected = RUN_DIR_FAULTS[entry]
    (tmp_path / "afile").write_text("not a folder\n")
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir.format(tmp=tmp_path)}"], cwd=tmp_path)
    assert_refused(result, [piece.format(tmp=tmp_path) for piece in expected])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert (tmp_path / "afile").read_text() == "not a folder\n"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 100 KiB tmpfs (mounting needs root and a sandbox that allows it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


# Free space left on the disk: none (Hydra cannot write its record), then enough for the record
# but not for nemo_rl.yaml, then for nemo_rl.yaml but not launch.json (at the time of writing).
@pytest.mark.parametrize("free_kib", [0, 16, 28, 36])
def test_catalogue_disk_full(free_kib: int, small_disk: Path, tmp_path: Path) -> None:
    (small_disk / "fill").write_bytes(b"\0" * (100 - free_kib) * 1024)
    run_dir = small_disk / "run"
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert_refused(result, ["no space left on the device", "free space there"])
    assert [p.name for p in small_disk.iterdir()] == ["fill"]


def test_fault_shows_the_traceback_with_hydra_full_error(small_disk: Path, tmp_path: Path) -> None:
    """Set by the user, HYDRA_FULL_ERROR shows where a fault came from; the folder still goes."""
    (small_disk / "fill").write_bytes(b"\0" * 72 * 1024)
    result = run_cli(
        [*DRY_DPO, f"hydra.run.dir={small_disk / 'run'}"],
        cwd=tmp_path,
        env={"HYDRA_FULL_ERROR": "1"},
    )
    assert "Traceback" in result.stderr and "No space left on device" in result.stderr
    assert [p.name for p in small_disk.iterdir()] == ["fill"]


def test_catalogue_read_only_file_system(small_disk: Path, tmp_path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    run_dir = small_disk / "run"
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert_refused(result, [f"error: {run_dir}: the file system is read-only"])
    assert not run_dir.exists()


def _record(run_dir: Path) -> dict[str, bytes]:
    """A run's record: all but its log (a refused launch adds its lines) and its lock file."""
    return {k: v for k, v in _files(run_dir).items() if k not in ("nemotron_align.log", LOCK_FILE)}


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    assert run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path).returncode == 0
    return run_dir


# A second launch into a finished run's folder, refused: its record stays as it was.
INTO_A_RUN = {
    "different config": (
        ["dpo.reference_policy_kl_penalty=0.2"],
        ["already holds a different nemo_rl.yaml"],
    ),
    "refused by a check": (
        ["policy.train_global_batch_size=10", "policy.train_micro_batch_size=4"],
        ["policy.train_global_batch_size: is 10, not a multiple of train_micro_batch_size"],
    ),
    "unresolvable interpolation": (
        ["+x=${does.not.exist}"],
        ["error: x: cannot be resolved"],
    ),
}


@pytest.mark.parametrize("entry", list(INTO_A_RUN))
def test_refused_launch_keeps_the_runs_record(
    entry: str, finished_run: Path, tmp_path: Path
) -> None:
    overrides, expected = INTO_A_RUN[entry]
    before = _record(finished_run)
    result = run_cli([*DRY_DPO, *overrides, f"hydra.run.dir={finished_run}"], cwd=tmp_path)
    assert_refused(result, expected)
    assert _record(finished_run) == before
    relaunch = json.loads((finished_run / "launch.json").read_text())["relaunch"]
    again = subprocess.run(relaunch, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert (finished_run / "nemo_rl.yaml").read_bytes() == before["nemo_rl.yaml"]


def test_launch_turned_away_from_a_busy_run_keeps_its_record(
    finished_run: Path, tmp_path: Path
) -> None:
    before = _record(finished_run)
    holder = start_lock_holder(finished_run)
    try:
        result = run_cli(
            [*DRY_DPO, "dpo.reference_policy_kl_penalty=0.2", f"hydra.run.dir={finished_run}"],
            cwd=tmp_path,
        )
    finally:
        holder.kill()
        holder.wait()
    assert_refused(result, ["is in use by another launch"])
    assert _record(finished_run) == before


def test_relaunch_refused_into_another_run_keeps_its_record(
    finished_run: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    launched = run_cli(
        [*DRY_DPO, "dpo.reference_policy_kl_penalty=0.2", f"hydra.run.dir={other}"], cwd=tmp_path
    )
    assert launched.returncode == 0, launched.stderr
    before = _record(finished_run)
    relaunch = json.loads((other / "launch.json").read_text())["relaunch"]
    result = subprocess.run(
        [*relaunch[:-1], f"hydra.run.dir={finished_run}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_refused(result, ["already holds a different nemo_rl.yaml"])
    assert _record(finished_run) == before
