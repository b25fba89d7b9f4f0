"""NeMo-Gym's math_with_judge resources server as a child process, and a bounded /verify client.

The server is started alone, without `gym env start` (no head server, no per-server uv venvs):
its entry module runs in an interpreter that has `nemo-gym` installed, reading its config from
`NEMO_GYM_CONFIG_DICT` as Gym hands it to every server it spawns. The judge is off, so it scores
with math-verify only; Gym still wants the judge reference to name a model instance, so a dummy
one points at a closed port and is never called. Everything listens on 127.0.0.1.

Gym's own ServerClient retries a dead endpoint forever, so requests here use urllib with a
timeout on every call.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nemotron_align.errors import LaunchRejected

SERVER_INSTANCE = "math_with_judge"
SERVER_MODULE = "resources_servers.math_with_judge.app"
REQUIRED_MODULES = ("nemo_gym", "resources_servers.math_with_judge", "math_verify")
# Port 9 (discard) on loopback: nothing listens there, so a judge call would fail at once.
DEAD_URL = "http://127.0.0.1:9/v1"

READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
AVAILABILITY_TIMEOUT_S = 60.0
# Never through an http_proxy from the environment: the server is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_AVAILABILITY_SCRIPT = """
import importlib.metadata, importlib.util, json, sys
missing = []
for name in sys.argv[1:]:
    try:
        found = importlib.util.find_spec(name) is not None
    except ImportError:
        found = False
    if not found:
        missing.append(name)
try:
    version = importlib.metadata.version("nemo-gym")
except importlib.metadata.PackageNotFoundError:
    version = None
print(json.dumps({"missing": missing, "version": version,
                  "python": ".".join(map(str, sys.version_info[:3]))}))
"""


@dataclass(frozen=True)
class Score:
    reward: float
    extracted: str | None


@dataclass(frozen=True)
class GymAvailability:
    python: str
    python_version: str | None
    gym_version: str | None
    missing: tuple[str, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.missing

    def why_not(self) -> str:
        if self.error:
            return f"{self.python}: {self.error}"
        where = f"{self.python} (Python {self.python_version})"
        return f"{where} cannot import {', '.join(self.missing)}"


def gym_availability(python: str, timeout_s: float = AVAILABILITY_TIMEOUT_S) -> GymAvailability:
    """Whether `python` can run the math_with_judge server; imports nothing heavy."""
    try:
        done = subprocess.run(
            [python, "-c", _AVAILABILITY_SCRIPT, *REQUIRED_MODULES],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return GymAvailability(python, None, None, REQUIRED_MODULES, error=str(err))
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return GymAvailability(python, None, None, REQUIRED_MODULES, error=tail[0])
    found = json.loads(done.stdout)
    return GymAvailability(python, found["python"], found["version"], tuple(found["missing"]))


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


def verify_body(
    question: str, expected: str, responses_create_params: dict[str, Any], answer: str
) -> dict[str, Any]:
    """A /verify request whose response is one assistant message holding `answer`."""
    message = {
        "id": "reward-probe-message",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": answer, "annotations": []}],
    }
    return {
        "responses_create_params": responses_create_params,
        "question": question,
        "expected_answer": expected,
        "response": {
            "id": "reward-probe",
            "created_at": 0,
            "model": "reward-probe",
            "object": "response",
            "output": [message],
            "parallel_tool_calls": False,
            "tool_choice": "none",
            "tools": [],
        },
    }


class GymVerifyClient:
    """POSTs /verify to a math_with_judge server; every call bounded by `timeout_s`."""

    def __init__(self, base_url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _fail(self, problem: str) -> LaunchRejected:
        return LaunchRejected(
            f"{self.base_url}/verify",
            problem,
            "check that the math_with_judge server is running and reachable, or run the "
            "reward probe in-process (--mode math-verify)",
        )

    def verify(
        self, question: str, expected: str, responses_create_params: dict[str, Any], answer: str
    ) -> Score:
        body = json.dumps(verify_body(question, expected, responses_create_params, answer))
        request = urllib.request.Request(
            f"{self.base_url}/verify",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:400]
            raise self._fail(f"HTTP {err.code} {err.reason}: {detail}") from err
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise self._fail(f"no answer within {self.timeout_s:g} s: {reason}") from err
        except ValueError as err:
            raise self._fail(f"reply is not JSON: {err}") from err
        if not isinstance(payload, dict) or "reward" not in payload:
            raise self._fail(f"reply has no reward: {str(payload)[:400]}")
        extracted = payload.get("extracted_answer")
        return Score(float(payload["reward"]), None if extracted is None else str(extracted))


def is_live(base_url: str, timeout_s: float) -> bool:
    """Whether the server answers HTTP; nemo-gym 0.2 has no `GET /` route, so a 404 counts."""
    try:
        with _OPENER.open(f"{base_url}/", timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent PID, start time) of a process from Linux /proc; None when it is gone."""
    try:
        # The command name (field 2) may hold spaces: split only after its closing ')'.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19])


def descendants(pid: int) -> list[tuple[int, int]]:
    """(PID, start time) of every process below `pid`: Ray's workers leave the server's group."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _stat(int(entry.name))
        if stat is not None:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found: list[tuple[int, int]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


def _signal_all(pgid: int, tree: list[tuple[int, int]], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
    for pid, started in tree:
        stat = _stat(pid)
        # Same start time: still that process, not a later one that reused its PID.
        if stat is not None and stat[1] == started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)


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
        with log_path.open("wb") as log:
            try:
                process = subprocess.Popen(
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
        yield RunningServer(GymVerifyClient(base_url, timeout_s=request_timeout_s), process.pid)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # let the clean-up finish
        if process is not None:
            stop_process_tree(process, grace_s=stop_grace_s)
        shutil.rmtree(workdir, ignore_errors=True)
        if main_thread:
            signal.signal(signal.SIGTERM, previous_sigterm or signal.SIG_DFL)
