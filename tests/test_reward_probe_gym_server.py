"""The reward probe's Gym /verify client and server lifecycle, with a stand-in server and
with NeMo-Gym's own (marked gym_server)."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from reward_probe_support import GYM_ROWS, RLVR_ROWS, UNSCORABLE_EXPECTED, write_jsonl

from nemotron_align.config.launch_schema import ProbeMode
from nemotron_align.errors import LaunchRejected
from nemotron_align.probe.gym_server import (
    descendants,
    running_gym_server,
    server_config,
    server_environment,
)
from nemotron_align.probe.gym_verifier import GymVerifyClient, gym_availability
from nemotron_align.probe.reward import run_probe
from nemotron_align.probe.verdict import reject_if_failed

_GYM = gym_availability(sys.executable)
needs_gym = pytest.mark.skipif(
    not _GYM.ok,
    reason=f"NeMo-Gym's math_with_judge server cannot run here: {_GYM.why_not()} "
    "(nemo-gym needs Python >= 3.12: run scripts/gym_test_env.sh)",
)


# ---- the Gym /verify client and server lifecycle, without Gym


def test_server_config_is_loopback_judge_off_and_ignores_outer_ray(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    env = server_environment(port=12345, head_port=12346)
    assert "RAY_ADDRESS" not in env
    assert env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert env["NEMO_GYM_CONFIG_PATH"] == "math_with_judge"
    config = server_config(port=12345, head_port=12346)
    assert yaml.safe_load(env["NEMO_GYM_CONFIG_DICT"]) == config
    server = config["math_with_judge"]["resources_servers"]["math_with_judge"]
    assert (server["host"], server["port"], server["should_use_judge"]) == (
        "127.0.0.1",
        12345,
        False,
    )
    judge = config[server["judge_model_server"]["name"]]["responses_api_models"]["vllm_model"]
    assert judge["base_url"].startswith("http://127.0.0.1:")
    assert config["head_server"] == {"host": "127.0.0.1", "port": 12346}


def test_dead_endpoint_fails_fast() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GymVerifyClient(f"http://127.0.0.1:{port}", timeout_s=5)
    started = time.monotonic()
    with pytest.raises(LaunchRejected) as err:
        client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")
    assert time.monotonic() - started < 5
    assert err.value.where == f"http://127.0.0.1:{port}/verify"
    assert "refused" in err.value.problem.lower()


def test_silent_endpoint_times_out() -> None:
    # Listening but never answering: connect succeeds, the reply never comes.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        client = GymVerifyClient(f"http://127.0.0.1:{sock.getsockname()[1]}", timeout_s=1)
        started = time.monotonic()
        with pytest.raises(LaunchRejected) as err:
            client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")
        assert time.monotonic() - started < 5
    assert "no answer within 1 s" in err.value.problem


def test_server_that_cannot_start_is_reported_with_its_log() -> None:
    if _GYM.ok:
        pytest.skip("this interpreter has nemo-gym, so the server would start")
    started = time.monotonic()
    with pytest.raises(LaunchRejected) as err, running_gym_server(sys.executable):
        pass
    assert time.monotonic() - started < 30
    assert "exited with status 1" in err.value.problem
    assert "No module named" in err.value.problem


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.fixture
def stuck_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A stand-in Gym interpreter whose server never listens and has a child in its own session,
    as Ray's workers are, and a grandchild; it writes their PIDs to the second path. Asked to
    run `-c` (the availability check), it reports nemo-gym present."""
    pids = tmp_path / "pids"
    fake_python = tmp_path / "fake-python"
    fake_python.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import json, os, subprocess, sys, time
            if sys.argv[1] == "-c":
                print(json.dumps({{"missing": [], "version": "0", "python": "3.12.0"}}))
                sys.exit(0)
            child = subprocess.Popen(["sleep", "300"], start_new_session=True)
            grandchild = subprocess.Popen(["sleep", "300"])
            with open(os.environ["PROBE_TEST_PIDS"], "w") as f:
                f.write(f"{{os.getpid()}} {{child.pid}} {{grandchild.pid}}")
            time.sleep(300)
            """
        )
    )
    fake_python.chmod(0o755)
    monkeypatch.setenv("PROBE_TEST_PIDS", str(pids))
    return fake_python, pids


def assert_all_gone(pids: Path) -> None:
    for pid in map(int, pids.read_text().split()):
        deadline = time.monotonic() + 5
        while _state(pid) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _state(pid) in (None, "Z"), f"process {pid} outlived the server"


def test_server_never_ready_is_stopped_with_all_its_children(
    stuck_server: tuple[Path, Path],
) -> None:
    fake_python, pids = stuck_server
    started = time.monotonic()
    with (
        pytest.raises(LaunchRejected) as err,
        running_gym_server(str(fake_python), ready_timeout_s=3, stop_grace_s=1),
    ):
        pass
    assert time.monotonic() - started < 20
    assert "did not answer within 3 s" in err.value.problem
    assert_all_gone(pids)


def test_sigterm_to_the_probe_stops_the_server(stuck_server: tuple[Path, Path]) -> None:
    fake_python, pids = stuck_server
    argv = [sys.executable, "-m", "nemotron_align.probe.reward", str(RLVR_ROWS)]
    probe = subprocess.Popen([*argv, "--mode", "gym", "--gym-python", str(fake_python)])
    try:
        deadline = time.monotonic() + 30
        while not (pids.exists() and len(pids.read_text().split()) == 3):
            assert time.monotonic() < deadline, "the stand-in server never started"
            assert probe.poll() is None, "the probe ended before its server started"
            time.sleep(0.1)
        probe.send_signal(signal.SIGTERM)
        assert probe.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        if probe.poll() is None:
            probe.kill()
            probe.wait(timeout=10)
    assert_all_gone(pids)


# ---- the real NeMo-Gym server


@pytest.mark.gym_server
@needs_gym
def test_gym_server_scores_good_one_and_wrong_zero_on_tiny_data() -> None:
    out = io.StringIO()
    result = run_probe([GYM_ROWS, RLVR_ROWS], n=8, mode=ProbeMode.gym, out=out)
    assert result.ok, out.getvalue()
    assert result.mode.startswith(f"NeMo-Gym {_GYM.gym_version} math_with_judge server")
    assert len(result.outcomes) == 16
    assert all(o.good.reward == 1.0 and o.wrong.reward == 0.0 for o in result.outcomes)
    by_expected = {o.row.expected: o for o in result.outcomes}
    assert by_expected["42"].good.extracted == "42"
    assert by_expected["\\frac{3}{4}"].wrong_answer == "\\boxed{\\frac{17}{2}}"


@pytest.mark.gym_server
@needs_gym
def test_gym_server_unscorable_answer_is_rejected_and_server_stopped(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"input": "Q1?", "output": "4"}, {"input": "Q2?", "output": UNSCORABLE_EXPECTED}],
    )
    out = io.StringIO()
    result = run_probe([path], mode=ProbeMode.gym, out=out)
    with pytest.raises(LaunchRejected) as err:
        reject_if_failed(result)
    assert err.value.where == f"{path}:2"
    assert "scored 0, not 1.0" in err.value.problem
    url = result.mode.rsplit(", ", 1)[1].rstrip(")")
    with pytest.raises(LaunchRejected, match="refused"):
        GymVerifyClient(url, timeout_s=5).verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}")


def _listening_sockets(pids: list[int]) -> list[str]:
    """Local addresses of the TCP sockets these processes listen on (Linux /proc)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].split(":")[0])
    return found


@pytest.mark.gym_server
@needs_gym
def test_gym_server_and_its_ray_listen_on_loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:9")  # a private Ray must ignore it
    with running_gym_server(sys.executable) as server:
        assert server.client.base_url.startswith("http://127.0.0.1:")
        assert server.client.verify("Q?", "4", {"input": "Q?"}, "\\boxed{4}").reward == 1.0
        tree = [server.pid, *(p.pid for p in descendants(server.pid))]
        addresses = _listening_sockets(tree)
    assert addresses
    # 127.0.0.1 in /proc/net/tcp, then ::1 and ::ffff:127.0.0.1 in /proc/net/tcp6.
    loopback = {
        "0100007F",
        "00000000000000000000000001000000",
        "0000000000000000FFFF00000100007F",
    }
    assert set(addresses) <= loopback, addresses
    assert not any(_state(pid) not in (None, "Z") for pid in tree)
