"""Hand the run to NeMo-RL: replace this process (exec) or supervise a child (subprocess)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)
PR_SET_PDEATHSIG = 1


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: str(v) for k, v in extra.items()})
    return env


def exec_replace(argv: list[str], cwd: Path, env: dict[str, str]) -> NoReturn:
    """Become NeMo-RL: same PID, its exit code is ours, signals reach it directly."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(cwd)
    os.execvpe(argv[0], argv, env)


def _dies_with_parent() -> Callable[[], None] | None:
    """For preexec_fn: the child gets SIGTERM when this process dies, SIGKILL included (Linux's
    PR_SET_PDEATHSIG, kept across exec). None where there is no prctl."""
    import ctypes.util  # only a run that starts a child pays for it

    libc_name = ctypes.util.find_library("c")
    prctl = getattr(ctypes.CDLL(libc_name, use_errno=True), "prctl", None) if libc_name else None
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def run_child(
    argv: list[str], cwd: Path, env: dict[str, str], pass_fds: tuple[int, ...] = ()
) -> int:
    """Run NeMo-RL as a child, forwarding SIGINT/SIGTERM/SIGUSR1/SIGUSR2; return its exit code.

    A handler that was installed before (submitit's requeue on SIGUSR2) still runs after the
    signal has been passed on. The child gets SIGTERM if we die (no trainer runs unsupervised),
    and inherits `pass_fds` (the run folder's lock, so the run holds it until the child exits).

    The child gets its own session so a terminal's Ctrl-C reaches it once, through us, not twice.
    A child killed by signal N yields 128 + N, as a shell reports it.
    """
    child = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        start_new_session=True,
        pass_fds=pass_fds,
        preexec_fn=_dies_with_parent(),
    )

    def forward(signum: int, frame: Any) -> None:
        if child.poll() is None:
            child.send_signal(signum)
        # Then whatever handled it before us: under submitit, SIGUSR2 checkpoints and requeues.
        prior = previous.get(signum)
        if callable(prior) and prior is not signal.default_int_handler:
            prior(signum, frame)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        while True:
            try:
                code = child.wait()
                break
            except InterruptedError:
                continue
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code
