"""Multi-node Ray bootstrap with fakes: a fake `ray` CLI and GPU probe, a TCP socket for the head.
The same code on real Ray and Slurm: tests/test_ray_multinode.py."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from nemotron_align.launchers import ray_bootstrap
from nemotron_align.launchers.ray_bootstrap import (
    SENTINEL_NAME,
    RayBootstrapError,
    needs_ray_bootstrap,
    ray_environment,
    run_multinode,
)
from nemotron_align.slurm.placement import parse_hostnames, slurm_placement

WAIT_S = 30

# Records each call as a JSON line: its arguments, what happened, whether the sentinel existed.
FAKE_RAY = """\
import json, os, signal, sys, time
log, args = sys.argv[1], sys.argv[2:]
def record(event):
    with open(log, "a") as f:
        sentinel = os.path.exists(os.environ["FAKE_SENTINEL"])
        f.write(json.dumps({"args": args, "event": event, "sentinel": sentinel}) + "\\n")
if args[0] == "start" and "--block" in args:
    if "FAKE_BLOCK_RC" in os.environ:
        record("exited")
        sys.exit(int(os.environ["FAKE_BLOCK_RC"]))
    signal.signal(signal.SIGTERM, lambda *_: (record("terminated"), sys.exit(0)))
    record("blocking")
    time.sleep(60)
    sys.exit(1)
record("ran")
sys.exit(int(os.environ.get("FAKE_START_RC", "0")) if args[0] == "start" else 0)
"""

# The GPU probe's interpreter: answers with the first entry of a JSON list, the last one forever.
FAKE_PYTHON = """\
import json, sys
path = sys.argv[1]
with open(path) as f:
    answers = json.load(f)
print(json.dumps(answers[0]))
if len(answers) > 1:
    with open(path, "w") as f:
        json.dump(answers[1:], f)
"""

# Stands in for NeMo-RL: records its environment, exits 7.
NEMO_RL = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w')); sys.exit(7)"


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_bootstrap, "POLL_S", 0.05)


class Fakes:
    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        self.job_dir = tmp_path / "job"
        self.job_dir.mkdir()
        self.sentinel = self.job_dir / SENTINEL_NAME
        self.log = tmp_path / "ray_calls.jsonl"
        self.answers = tmp_path / "answers.json"
        self.nemo_rl_env = tmp_path / "nemo_rl_env.json"
        (tmp_path / "fake_ray.py").write_text(FAKE_RAY)
        (tmp_path / "fake_python.py").write_text(FAKE_PYTHON)
        self.env = {
            "PATH": "/usr/bin:/bin",
            "FAKE_SENTINEL": str(self.sentinel),
            "SLURM_JOB_ID": "42",
            "SLURM_PROCID": "0",
            "PMI_RANK": "0",
            "OMPI_COMM_WORLD_RANK": "0",
        }

    def run(self, rank: int, port: int, **kwargs: Any) -> int:
        options: dict[str, Any] = {
            "num_nodes": 2,
            "gpus_per_node": 1,
            "job_dir": self.job_dir,
            "rank": rank,
            "head_host": "127.0.0.1",
            "python": [sys.executable, str(self.dir / "fake_python.py"), str(self.answers)],
            "port": port,
            "ray": [sys.executable, str(self.dir / "fake_ray.py"), str(self.log)],
            "ray_start_args": [],
            "ready_timeout_s": WAIT_S,
        }
        options.update(kwargs)
        argv = [sys.executable, "-c", NEMO_RL, str(self.nemo_rl_env)]
        return run_multinode(argv, self.dir, self.env, **options)

    def calls(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    return Fakes(tmp_path)


@pytest.fixture
def head_socket() -> Iterator[int]:
    """A port that accepts connections, standing in for the Ray head's GCS."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_ray_environment_drops_rank_variables_and_uv_runtime_env() -> None:
    env = {
        "SLURM_JOB_ID": "1",
        "SLURM_PROCID": "0",
        "PMI_RANK": "0",
        "PMIX_RANK": "0",
        "MPI_LOCALRANKID": "0",
        "OMPI_COMM_WORLD_SIZE": "2",
        "HF_HOME": "/hf",
        "WANDB_API_KEY": "secret",
        "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "1",
    }
    assert ray_environment(env) == {
        "HF_HOME": "/hf",
        "WANDB_API_KEY": "secret",
        "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0",
        "RAY_USAGE_STATS_ENABLED": "0",
    }


def test_only_several_nodes_need_the_bootstrap() -> None:
    assert not needs_ray_bootstrap(1)
    assert needs_ray_bootstrap(2)


def test_hostnames_keep_slurms_order() -> None:
    assert parse_hostnames("node9\nnode10\n\n") == ["node9", "node10"]
    with pytest.raises(RayBootstrapError, match="no hosts"):
        parse_hostnames("\n")


def _fake_scontrol(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "scontrol_args"
    scontrol = bin_dir / "scontrol"
    scontrol.write_text(f'#!/bin/sh\necho "$@" > {calls}\nprintf "{out}"\n')
    scontrol.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_JOB_NODELIST", "node[9-10]")
    return calls


def test_placement_from_slurm_rank_and_scontrol_hosts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_scontrol(tmp_path, monkeypatch, "node9\\nnode10\\n")
    monkeypatch.setenv("SLURM_PROCID", "1")
    monkeypatch.setenv("SLURM_NODEID", "1")
    placement = slurm_placement()
    assert (placement.rank, placement.hosts, placement.head) == (1, ["node9", "node10"], "node9")
    assert calls.read_text() == "show hostnames node[9-10]\n"


def test_placement_refuses_rank_0_off_the_first_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_scontrol(tmp_path, monkeypatch, "node9\\nnode10\\n")
    monkeypatch.setenv("SLURM_PROCID", "0")
    monkeypatch.setenv("SLURM_NODEID", "1")
    with pytest.raises(RayBootstrapError, match=r"rank 0 runs on node 1 .* first node node9"):
        slurm_placement()


def test_head_waits_for_gpus_runs_nemo_rl_then_stops_ray_and_leaves_sentinel(
    fakes: Fakes,
) -> None:
    fakes.sentinel.write_text("left by an earlier attempt")
    fakes.answers.write_text(json.dumps([{"gpus": 1, "nodes": 1}, {"gpus": 2, "nodes": 2}]))

    assert fakes.run(rank=0, port=1234) == 7

    start, stop = fakes.calls()
    assert start["args"] == [
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        "--port=1234",
        "--num-gpus=1",
        "--min-worker-port=2000",
        "--max-worker-port=2999",
    ]
    assert not start["sentinel"], "the stale sentinel must go before the head starts"
    assert stop == {"args": ["stop"], "event": "ran", "sentinel": False}
    assert fakes.sentinel.exists()
    assert json.loads(fakes.answers.read_text()) == [{"gpus": 2, "nodes": 2}], "probed twice"
    env = json.loads(fakes.nemo_rl_env.read_text())
    assert env["RAY_ADDRESS"] == "127.0.0.1:1234"
    assert env["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] == "0"
    assert not {"SLURM_JOB_ID", "SLURM_PROCID", "PMI_RANK", "OMPI_COMM_WORLD_RANK"} & set(env)


def test_head_gives_up_on_too_few_gpus_and_still_stops_ray(fakes: Fakes) -> None:
    fakes.answers.write_text(json.dumps([{"gpus": 1, "nodes": 1}]))
    with pytest.raises(RayBootstrapError) as err:
        fakes.run(rank=0, port=1234, ready_timeout_s=0.5)
    assert str(err.value) == (
        "Ray at 127.0.0.1:1234 did not reach 2 GPUs within 0.5s: it saw 1 GPUs on 1 nodes"
    )
    assert [c["args"][0] for c in fakes.calls()] == ["start", "stop"]
    assert fakes.sentinel.exists()
    assert not fakes.nemo_rl_env.exists(), "NeMo-RL must not start"


def test_head_reports_a_failing_probe(fakes: Fakes) -> None:
    fakes.answers.write_text("not json")
    with pytest.raises(RayBootstrapError, match=r"it saw a failed GPU probe \(exit 1: .*Error"):
        fakes.run(rank=0, port=1234, ready_timeout_s=0.5)


def test_head_whose_ray_start_fails_stops_and_lets_workers_go(fakes: Fakes) -> None:
    fakes.env["FAKE_START_RC"] = "3"
    with pytest.raises(RayBootstrapError, match=r"`.* start --head .*` exited 3"):
        fakes.run(rank=0, port=1234)
    assert [c["args"][0] for c in fakes.calls()] == ["start", "stop"]
    assert fakes.sentinel.exists()


def test_worker_joins_the_head_and_leaves_at_the_sentinel(fakes: Fakes, head_socket: int) -> None:
    with ThreadPoolExecutor(1) as pool:
        worker = pool.submit(fakes.run, rank=1, port=head_socket)
        _wait_until(lambda: [c["event"] for c in fakes.calls()] == ["blocking"])
        fakes.sentinel.touch()
        assert worker.result(timeout=WAIT_S) == 0
    assert fakes.calls() == [
        {
            "args": ["start", f"--address=127.0.0.1:{head_socket}", "--num-gpus=1", "--block"],
            "event": event,
            "sentinel": sentinel,
        }
        for event, sentinel in [("blocking", False), ("terminated", True)]
    ] + [{"args": ["stop"], "event": "ran", "sentinel": True}]


def test_worker_ignores_a_stale_sentinel_and_gives_up_without_a_head(fakes: Fakes) -> None:
    fakes.sentinel.touch()
    port = closed_port()
    with pytest.raises(RayBootstrapError, match=f"no Ray head answered at 127.0.0.1:{port} "):
        fakes.run(rank=1, port=port, ready_timeout_s=0.5)
    assert [c["args"] for c in fakes.calls()] == [["stop"]]


def test_worker_whose_ray_stops_without_a_sentinel_calls_the_head_lost(
    fakes: Fakes, head_socket: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ray_bootstrap, "SENTINEL_GRACE_S", 0.3)
    fakes.env["FAKE_BLOCK_RC"] = "1"
    with pytest.raises(RayBootstrapError, match=r"Ray on this node stopped .*: head lost"):
        fakes.run(rank=1, port=head_socket, ready_timeout_s=0.5)
    events = [c["event"] for c in fakes.calls()]
    assert events[-1] == "ran" and set(events[:-1]) == {"exited"}


def _wait_until(condition: Any, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
