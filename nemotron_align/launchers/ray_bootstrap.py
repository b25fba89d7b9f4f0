"""One Ray cluster across the nodes of a Slurm job, for a multi-node NeMo-RL run.

Every node runs one task of the job (`nodes=N, tasks_per_node=1`) and calls `run_multinode`:

- rank 0 starts the Ray head on its node, waits until Ray sees every node's GPUs, runs NeMo-RL
  against it (`RAY_ADDRESS`), stops Ray, then leaves a sentinel file in the shared job folder;
- every other rank joins the head with `ray start --block` and leaves once the sentinel appears.

A single node needs none of this (`needs_ray_bootstrap`): NeMo-RL's `init_ray()` starts Ray itself.
Every wait here is bounded.
"""

from __future__ import annotations

import json
import logging
import shlex
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from nemotron_align.launchers.process import run_child

log = logging.getLogger("nemotron_align")

SENTINEL_NAME = "ray_head_done"
# Variables that make Ray's and NeMo-RL's processes think they are MPI/Slurm ranks themselves
# (NeMo-RL's init_ray() and ray.sub drop the same ones).
STRIPPED_PREFIXES = ("SLURM_", "PMI", "MPI_", "OMPI_")
HEAD_START_TIMEOUT_S = 120.0
RAY_STOP_TIMEOUT_S = 60.0
WORKER_STOP_TIMEOUT_S = 60.0
PROBE_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 2.0
POLL_S = 2.0
# How long a worker whose Ray stopped after the ready deadline waits for the head's sentinel
# before it calls the head lost: the head writes it only after its own `ray stop`.
SENTINEL_GRACE_S = 120.0

# Run with NeMo-RL's Python; prints the GPUs and live nodes the cluster at argv[1] has.
GPU_PROBE = """\
import json, sys
import ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
nodes = sum(1 for node in ray.nodes() if node["Alive"])
print(json.dumps({"gpus": ray.cluster_resources().get("GPU", 0), "nodes": nodes}))
"""


class RayBootstrapError(RuntimeError):
    """The multi-node Ray cluster could not be set up, or lost its head."""


def needs_ray_bootstrap(num_nodes: int) -> bool:
    """One node: NeMo-RL starts its own Ray. More: the job has to build the cluster first."""
    return num_nodes > 1


def ray_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for Ray and NeMo-RL: no Slurm/PMI/MPI rank variables, and the two Ray
    settings `import nemo_rl` makes (no uv runtime env, no usage stats) in force from the start."""
    kept = {k: v for k, v in env.items() if not k.startswith(STRIPPED_PREFIXES)}
    kept["RAY_ENABLE_UV_RUN_RUNTIME_ENV"] = "0"
    kept["RAY_USAGE_STATS_ENABLED"] = "0"
    return kept


def run_multinode(
    argv: list[str],
    cwd: Path,
    env: Mapping[str, str],
    *,
    num_nodes: int,
    gpus_per_node: int,
    job_dir: Path,
    rank: int,
    head_host: str,
    python: Sequence[str],
    port: int,
    ray: Sequence[str],
    ray_start_args: Sequence[str],
    ready_timeout_s: float,
) -> int:
    """This node's part of a multi-node NeMo-RL run; NeMo-RL's exit code on rank 0, else 0.

    argv runs on rank 0 only, in cwd. python is the command prefix of NeMo-RL's interpreter (it
    checks the cluster's GPUs), ray the prefix of its `ray` CLI; ray_start_args go to this node's
    `ray start`. job_dir must be one folder of this job that every node sees. The Ray settings
    have no defaults here: their one copy is launch.ray* (config/launch_schema.py).
    """
    try:
        head_ip = socket.gethostbyname(head_host)
    except OSError as err:
        raise RayBootstrapError(f"cannot resolve the Ray head's host {head_host!r}: {err}") from err
    node = _Node(
        address=f"{head_ip}:{port}",
        cwd=cwd,
        env=ray_environment(env),
        ray=list(ray),
        sentinel=job_dir / SENTINEL_NAME,
    )
    if rank == 0:
        return node.run_head(
            argv,
            python=list(python),
            start=[
                "--head",
                f"--node-ip-address={head_ip}",
                f"--port={port}",
                f"--num-gpus={gpus_per_node}",
                "--min-worker-port=2000",
                "--max-worker-port=2999",
                *ray_start_args,
            ],
            gpus_wanted=num_nodes * gpus_per_node,
            ready_timeout_s=ready_timeout_s,
        )
    return node.run_worker(
        start=[f"--address={node.address}", f"--num-gpus={gpus_per_node}", *ray_start_args],
        ready_timeout_s=ready_timeout_s,
    )


@dataclass(frozen=True)
class _Node:
    address: str
    cwd: Path
    env: dict[str, str]
    ray: list[str]
    sentinel: Path

    def run_head(
        self,
        argv: list[str],
        *,
        python: list[str],
        start: list[str],
        gpus_wanted: int,
        ready_timeout_s: float,
    ) -> int:
        # Left by an earlier attempt of this job (a requeue): workers honour the sentinel only
        # after they reached this head, which starts after this line.
        self.sentinel.unlink(missing_ok=True)
        command = [*self.ray, "start", *start]
        log.info("Ray head at %s: %s", self.address, shlex.join(command))
        try:
            try:
                started = subprocess.run(
                    command, cwd=self.cwd, env=self.env, timeout=HEAD_START_TIMEOUT_S, check=False
                )
            except subprocess.TimeoutExpired as err:
                raise RayBootstrapError(
                    f"`{shlex.join(command)}` not done after {err.timeout:g}s"
                ) from err
            if started.returncode != 0:
                raise RayBootstrapError(f"`{shlex.join(command)}` exited {started.returncode}")
            self._wait_for_gpus(python, gpus_wanted, ready_timeout_s)
            log.info("NeMo-RL on Ray at %s: %s", self.address, shlex.join(argv))
            code = run_child(argv, self.cwd, {**self.env, "RAY_ADDRESS": self.address})
            log.info("NeMo-RL exited with code %d", code)
            return code
        finally:
            self._ray_stop()
            self.sentinel.parent.mkdir(parents=True, exist_ok=True)
            self.sentinel.touch()

    def _wait_for_gpus(self, python: list[str], wanted: int, timeout_s: float) -> None:
        """Poll until Ray has `wanted` GPUs; gives up after timeout_s (plus one last probe)."""
        deadline = time.monotonic() + timeout_s
        while True:
            probed = self._probe(python)
            if isinstance(probed, str):
                seen = probed
            else:
                gpus, nodes = probed
                if gpus >= wanted:
                    log.info("Ray at %s has %g GPUs on %d nodes", self.address, gpus, nodes)
                    return
                seen = f"{gpus:g} GPUs on {nodes} nodes"
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RayBootstrapError(
                    f"Ray at {self.address} did not reach {wanted} GPUs within {timeout_s:g}s: "
                    f"it saw {seen}"
                )
            time.sleep(min(POLL_S, remaining))

    def _probe(self, python: list[str]) -> tuple[float, int] | str:
        """(GPUs, live nodes) of the cluster, or why the probe failed."""
        try:
            result = subprocess.run(
                [*python, "-c", GPU_PROBE, self.address],
                cwd=self.cwd,
                env=self.env,
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"no answer from its GPU probe within {PROBE_TIMEOUT_S:g}s"
        lines = result.stdout.strip().splitlines()
        try:
            counts = json.loads(lines[-1])
            return float(counts["gpus"]), int(counts["nodes"])
        except (IndexError, ValueError, KeyError, TypeError):
            tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            return f"a failed GPU probe (exit {result.returncode}: {tail})"

    def run_worker(self, *, start: list[str], ready_timeout_s: float) -> int:
        # On SIGTERM, a recent `ray start --block` first asks the GCS to drain this node, for
        # up to 30 s; by then the head is gone: ours comes after its sentinel, Slurm's ends every
        # node at once.
        worker = _Worker(
            command=[*self.ray, "start", *start, "--block"],
            cwd=self.cwd,
            env={**self.env, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"},
        )
        deadline = time.monotonic() + ready_timeout_s
        try:
            while not (worker.reached_head and self.sentinel.exists()):
                if not worker.running():
                    self._join_or_give_up(worker, deadline, ready_timeout_s)
                time.sleep(POLL_S)
            log.info("the Ray head is done (%s): leaving", self.sentinel)
        finally:
            worker.stop()
            self._ray_stop()
        return 0

    def _join_or_give_up(self, worker: _Worker, deadline: float, ready_timeout_s: float) -> None:
        """(Re)join the head while the ready deadline allows; after it, wait a grace period for
        the head's sentinel before calling the head lost."""
        now = time.monotonic()
        if now < deadline:
            host, port = self.address.rsplit(":", 1)
            if _accepts_connections(host, int(port)):
                worker.start()
        elif not worker.reached_head:
            raise RayBootstrapError(
                f"no Ray head answered at {self.address} within {ready_timeout_s:g}s"
            )
        else:
            if worker.lost_since is None:
                worker.lost_since = now
            if now - worker.lost_since > SENTINEL_GRACE_S:
                raise RayBootstrapError(
                    f"Ray on this node stopped and the head at {self.address} left "
                    f"no {self.sentinel} within {SENTINEL_GRACE_S:g}s: head lost"
                )

    def _ray_stop(self) -> None:
        command = [*self.ray, "stop"]
        try:
            stopped = subprocess.run(
                command, cwd=self.cwd, env=self.env, timeout=RAY_STOP_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            log.warning("`%s` not done after %gs", shlex.join(command), RAY_STOP_TIMEOUT_S)
            return
        if stopped.returncode != 0:
            log.warning("`%s` exited %d", shlex.join(command), stopped.returncode)


@dataclass
class _Worker:
    """This node's `ray start --block`, started again whenever it stops before the head is done."""

    command: list[str]
    cwd: Path
    env: dict[str, str]
    child: subprocess.Popen[bytes] | None = None
    reached_head: bool = False
    # When Ray on this node was first found stopped after the ready deadline.
    lost_since: float | None = None

    def running(self) -> bool:
        if self.child is not None and self.child.poll() is not None:
            log.warning("`%s` exited %d", shlex.join(self.command), self.child.returncode)
            self.child = None
        return self.child is not None

    def start(self) -> None:
        log.info("joining the Ray head: %s", shlex.join(self.command))
        self.child = subprocess.Popen(self.command, cwd=self.cwd, env=self.env)
        self.reached_head = True

    def stop(self) -> None:
        if self.child is not None:
            _terminate(self.child)


def _accepts_connections(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _terminate(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(timeout=WORKER_STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
