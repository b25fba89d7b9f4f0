"""One launch per run folder: an exclusive flock on <run folder>/.launch.lock for the whole run.

The kernel frees a flock when the last descriptor of its open file closes, so a holder that dies,
however it dies (SIGKILL included), frees the folder. The holder writes its pid, host and start
time into the lock file, for the launch it turns away. Standard library only: it runs on Slurm
nodes too.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from nemotron_align.errors import LaunchRejected

LOCK_FILE = ".launch.lock"
# The holder writes who it is right after it takes the lock; a launch turned away in between
# waits this long to name it.
HOLDER_WAIT_S = 1.0


class RunFolderBusy(LaunchRejected):
    """Another launch holds the run folder."""


class RunLock:
    """The held lock of one run folder; released on close (or by the holder's death)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def keep_across_exec(self) -> None:
        """Exec mode: NeMo-RL, the process this one becomes, goes on holding the lock."""
        os.set_inheritable(self.fd, True)

    def close(self) -> None:
        os.close(self.fd)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def hold(run_dir: Path) -> RunLock:
    """Take the run folder's lock, or raise RunFolderBusy naming the launch that holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / LOCK_FILE
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise _busy(run_dir, path) from None
        # A launch that removes the run folder it was refused (lock file included) does so
        # holding the lock; a lock on the file it unlinked guards nothing: take the new one.
        if _is_same_file(fd, path):
            break
        os.close(fd)
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.write(fd, (json.dumps(holder) + "\n").encode())
    return RunLock(fd)


def _is_same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _busy(run_dir: Path, path: Path) -> RunFolderBusy:
    holder = _read_holder(path)
    who = (
        f"pid {holder.get('pid', '?')} on host {holder.get('host', '?')}, "
        f"started {holder.get('started', '?')}"
    )
    return RunFolderBusy(
        "hydra.run.dir",
        f"{run_dir.resolve()} is in use by another launch ({who})",
        "wait for that run to end (or stop it), or launch into another folder "
        "(drop hydra.run.dir); the lock is freed as soon as its holder exits",
    )


def _read_holder(path: Path) -> dict:
    deadline = time.monotonic() + HOLDER_WAIT_S
    while True:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            if time.monotonic() >= deadline:
                return {}
            time.sleep(0.02)
