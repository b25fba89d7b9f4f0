"""NeMo-Gym's math_with_judge resources server as a child process, always stopped with all its
descendants.

The server is started alone, without `gym env start` (no head server, no per-server uv venvs):
its entry module runs in an interpreter that has `nemo-gym` installed, reading its config from
`NEMO_GYM_CONFIG_DICT` as Gym hands it to every server it spawns. The judge is off, so it scores
with math-verify only; Gym still wants the judge reference to name a model instance, so a dummy
one points at a closed port and is never called. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from nemotron_align.errors import LaunchRejected
from nemotron_align.probe.gym_verifier import (
    READY_TIMEOUT_S,
    REQUEST_TIMEOUT_S,
    GymVerifyClient,
    is_live,
)

SERVER_INSTANCE = "math_with_judge"
SERVER_MODULE = "resources_servers.math_with_judge.app"
# Port 9 (discard) on loopback: nothing listens there, so a judge call would fail at once.
DEAD_URL = "http://127.0.0.1:9/v1"
STOP_GRACE_S = 5.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_config(port: int, head_port: int) -> dict[str, Any]:
    """Gym's global config dict for math_with_judge alone, judge off, all on loopback."""
    return {
        SERVER_INSTANCE: {
            "resources_servers": {
                "math_with_judge": {
                    "entrypoint": "app.py",
                    "host": "127.0.0.1",
                    "port": port,
                    "domain": "math",
                    "judge_model_server": {"type": "responses_api_models", "name": "policy_model"},
                    "judge_responses_create_params": {"input": []},
                    "should_use_judge": False,
                }
            }
        },
        "policy_model": {
            "responses_api_models": {
                "vllm_model": {
                    "entrypoint": "app.py",
                    "host": "127.0.0.1",
                    "port": 9,
                    "base_url": DEAD_URL,
                    "api_key": "dummy",
                    "model": "dummy",
                }
            }
        },
        "default_host": "127.0.0.1",
        # The server only records where a head server would be; it never contacts it.
        "head_server": {"host": "127.0.0.1", "port": head_port},
        "dry_run": False,
    }


def server_command(python: str) -> list[str]:
    return [python, "-m", SERVER_MODULE]


def server_environment(port: int, head_port: int) -> dict[str, str]:
    env = dict(os.environ)
    # An inherited RAY_ADDRESS would attach the server to someone else's Ray cluster.
    env.pop("RAY_ADDRESS", None)
    env.update(
        {
            "NEMO_GYM_CONFIG_DICT": yaml.safe_dump(server_config(port, head_port)),
            "NEMO_GYM_CONFIG_PATH": SERVER_INSTANCE,
            # The server starts a private Ray; this makes Ray bind its node to 127.0.0.1.
            "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
            "RAY_USAGE_STATS_ENABLED": "0",
        }
    )
    return env


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below `pid`: Ray's workers leave the server's group."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _signal_all(pgid: int, tree: list[psutil.Process], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for process in tree:
        # psutil refuses a PID that a later process reuses (its start time differs).
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(sig)


def _exit_status(pid: int) -> int | None:
    """Exit status of a child that has exited (-N: killed by signal N), else None.

    The child is left unreaped (a zombie), so its PID and group id stay reserved until
    stop_process_tree has signalled the group.
    """
    try:
        info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return 0
    if info is None:
        return None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def _wait_unreaped(pid: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while _exit_status(pid) is None and time.monotonic() < deadline:
        time.sleep(0.1)


def stop_process_tree(process: subprocess.Popen[bytes], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM the server, its process group and every descendant; SIGKILL what outlives grace_s.

    The server was started in its own session, so its process group id is its PID; it is reaped
    only after the last signal, so that id cannot meanwhile name someone else's group.
    """
    tree = descendants(process.pid)
    _signal_all(process.pid, tree, signal.SIGTERM)
    _wait_unreaped(process.pid, grace_s)
    _signal_all(process.pid, tree + descendants(process.pid), signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@dataclass(frozen=True)
class RunningServer:
    client: GymVerifyClient
    pid: int


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _raise_exit(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def running_gym_server(
    python: str,
    ready_timeout_s: float = READY_TIMEOUT_S,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
    stop_grace_s: float = STOP_GRACE_S,
) -> Iterator[RunningServer]:
    """Start math_with_judge on a free loopback port, wait until it answers, always stop it."""
    port, head_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="nemotron-align-gym-"))
    log_path = workdir / "server.log"
    process: subprocess.Popen[bytes] | None = None
    # SIGTERM raises SystemExit meanwhile, so that `finally` stops the server; only the main
    # thread may set signal handlers.
    main_thread = threading.current_thread() is threading.main_thread()
    previous_sigterm = signal.signal(signal.SIGTERM, _raise_exit) if main_thread else None
    try:
        process = _start(python, workdir, log_path, port, head_port)
        _wait_until_live(process, python, base_url, log_path, ready_timeout_s)
        yield RunningServer(GymVerifyClient(base_url, timeout_s=request_timeout_s), process.pid)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
        if process is not None:
            stop_process_tree(process, grace_s=stop_grace_s)
        shutil.rmtree(workdir, ignore_errors=True)
        if main_thread:
            signal.signal(signal.SIGTERM, previous_sigterm or signal.SIG_DFL)


def _start(
    python: str, workdir: Path, log_path: Path, port: int, head_port: int
) -> subprocess.Popen[bytes]:
    """The server in its own session (so its process group id is its PID), logging to log_path."""
    with log_path.open("wb") as log:
        try:
            return subprocess.Popen(
                server_command(python),
                cwd=workdir,
                env=server_environment(port, head_port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as err:
            raise LaunchRejected(
                python,
                f"cannot start NeMo-Gym's math_with_judge server: {err}",
                "point --gym-python at an interpreter with nemo-gym installed",
            ) from err


def _wait_until_live(
    process: subprocess.Popen[bytes],
    python: str,
    base_url: str,
    log_path: Path,
    ready_timeout_s: float,
) -> None:
    """Return once the server answers; refuse once it has exited or the time is up."""
    deadline = time.monotonic() + ready_timeout_s
    while not is_live(base_url, timeout_s=2.0):
        code = _exit_status(process.pid)
        if code is not None or time.monotonic() > deadline:
            state = (
                f"exited with status {code}"
                if code is not None
                else f"did not answer within {ready_timeout_s:g} s"
            )
            raise LaunchRejected(
                base_url,
                f"NeMo-Gym's math_with_judge server ({' '.join(server_command(python))}) "
                f"{state}; its log ends:\n{_log_tail(log_path)}",
                "check that this interpreter has nemo-gym and math-verify installed "
                "(pip install 'nemotron-align[gym]'), or run the reward probe in-process "
                "(--mode math-verify)",
            )
        time.sleep(0.25)
