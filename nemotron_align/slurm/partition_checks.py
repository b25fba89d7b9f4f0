"""Login-node checks against the live Slurm before sbatch (sinfo): the partition exists and is up,
timeout_min fits its time limit, and it has the nodes and GPUs asked for; and a local container
image exists. `params` is the resolved hydra.launcher dict.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.slurm.container_checks import image_problems

# One line per partition and group of alike nodes; --all includes hidden partitions.
SINFO = ["sinfo", "--all", "--noheader", "--format=%P|%a|%l|%D|%G|%T"]
SLURM_TIMEOUT_S = 30
SKIPPED = "partition, time limit and GPU checks skipped"
PARTITION_KEY = "hydra.launcher.partition"
TIMEOUT_KEY = "hydra.launcher.timeout_min"
NODES_KEY = "hydra.launcher.nodes"
# sinfo %T states (less flag suffixes) in which a node starts no new job.
UNUSABLE_STATES = frozenset(
    {"down", "drained", "draining", "fail", "failing", "future", "inval", "unknown"}
)
# `gpu:8`, `gpu:h100:8`, `gpu:h100:8(S:0-1)`, one entry of a comma-separated GRES list.
_GPU_GRES = re.compile(r"(?:^|,)gpu(?::([^:(,]+))?:(\d+)")
# How to ask for fewer GPUs per node ({n} at most), and for none, for each way of asking.
_GPU_FIXES = {
    "hydra.launcher.gpus_per_node": (
        "set cluster.gpus_per_node={n} or less (hydra.launcher.gpus_per_node follows it)",
        "on a cluster without GPUs set hydra.launcher.gpus_per_node=null "
        "(cluster.gpus_per_node stays NeMo-RL's view)",
    ),
    "hydra.launcher.gres": (
        "ask for {n} GPUs or less in hydra.launcher.gres",
        "set hydra.launcher.gres=null",
    ),
    "hydra.launcher.gpus_per_task": (
        "make hydra.launcher.gpus_per_task x tasks_per_node {n} or less",
        "set hydra.launcher.gpus_per_task=null",
    ),
}


@dataclass(frozen=True)
class NodeGroup:
    count: int
    gpus: dict[str, int]  # GPU type ("" when untyped) -> GPUs per node
    state: str

    def gpus_of(self, gpu_type: str | None) -> int:
        return sum(self.gpus.values()) if gpu_type is None else self.gpus.get(gpu_type, 0)

    @property
    def usable(self) -> bool:
        # A trailing * means not responding; ~ # ! % $ @ ^ - are power and reservation flags.
        return not self.state.endswith("*") and self.state.rstrip("~#!%$@^-") not in (
            UNUSABLE_STATES
        )


@dataclass
class Partition:
    name: str
    default: bool
    available: str
    time_limit: str
    groups: list[NodeGroup]

    @property
    def has_gpus(self) -> bool:
        return any(g.gpus for g in self.groups)


def slurm_seconds(text: str) -> int | None:
    """A Slurm time (`MM`, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`, `D-HH:MM:SS`) in seconds;
    None for no limit (`UNLIMITED` in scontrol, `infinite` in sinfo)."""
    if text.lower() in ("unlimited", "infinite"):
        return None
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if days:
        hours, minutes, seconds = [*parts, 0, 0][:3]
        return ((int(days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if len(parts) == 3:
        return (parts[0] * 60 + parts[1]) * 60 + parts[2]
    return parts[0] * 60 + (parts[1] if len(parts) == 2 else 0)


def gpu_gres(text: str) -> dict[str, int]:
    """GPU type ("" when untyped) -> count, from a GRES string such as `gpu:h100:8,nvme:1`."""
    gpus: dict[str, int] = {}
    for match in _GPU_GRES.finditer(text):
        gpus[match[1] or ""] = gpus.get(match[1] or "", 0) + int(match[2])
    return gpus


def parse_sinfo(out: str) -> dict[str, Partition]:
    """Partitions by name from the output of SINFO."""
    partitions: dict[str, Partition] = {}
    for line in out.splitlines():
        if not line.strip():
            continue
        name, available, time_limit, count, gres, state = line.strip().split("|")
        partition = partitions.setdefault(
            name.rstrip("*"),
            Partition(name.rstrip("*"), name.endswith("*"), available, time_limit, []),
        )
        if int(count):
            partition.groups.append(NodeGroup(int(count), gpu_gres(gres), state))
    return partitions


def _run(argv: list[str]) -> str:
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=SLURM_TIMEOUT_S, check=True
    ).stdout


def cluster_problems(
    params: Mapping[str, Any], run: Callable[[list[str]], str] | None = None
) -> tuple[list[LaunchRejected], list[str]]:
    """Checks against the live Slurm. `params` is the resolved hydra.launcher dict; `run` runs
    an argv list and returns its stdout. Returns (errors, notes)."""
    errors = image_problems(params)
    out, skipped = _sinfo(run or _run)
    if out is None:
        return errors, [skipped]
    partitions = parse_sinfo(out)
    names, unknown = _chosen_partitions(params.get("partition"), partitions)
    if unknown:
        return errors + unknown, []
    # Slurm runs a job in any one of a comma-separated list of partitions that fits it.
    results = [_fit_problems(params, partitions[name], partitions) for name in names]
    if any(not problems for problems, _ in results):
        return errors, [note for problems, notes in results if not problems for note in notes]
    return errors + [p for problems, _ in results for p in problems], []


def _sinfo(run: Callable[[list[str]], str]) -> tuple[str | None, str]:
    """(sinfo's output, "") or (None, why the checks are skipped)."""
    try:
        return run(SINFO), ""
    except FileNotFoundError:
        return None, f"sinfo not found: {SKIPPED}"
    except subprocess.CalledProcessError as err:
        said = (err.stderr or "").strip().splitlines()
        return None, f"sinfo failed ({said[-1] if said else err}): {SKIPPED}"
    except subprocess.TimeoutExpired:
        return None, f"sinfo did not answer in {SLURM_TIMEOUT_S}s: {SKIPPED}"


def _listing(partitions: Iterable[Partition]) -> str:
    return ", ".join(f"{p.name} (default)" if p.default else p.name for p in partitions)


def _chosen_partitions(
    requested: str | None, partitions: dict[str, Partition]
) -> tuple[list[str], list[LaunchRejected]]:
    listing = _listing(partitions.values())
    fix = f"set {PARTITION_KEY} to one of: {listing}" if listing else "sinfo lists no partition"
    if not requested:
        default = [p.name for p in partitions.values() if p.default]
        if default:
            return default, []
        problem = "no partition is set and the cluster has no default partition"
        return [], [LaunchRejected(PARTITION_KEY, problem, fix)]
    names = str(requested).split(",")
    return names, [
        LaunchRejected(PARTITION_KEY, f"partition '{name}' does not exist on this cluster", fix)
        for name in names
        if name not in partitions
    ]


def _fit_problems(
    params: Mapping[str, Any], partition: Partition, partitions: dict[str, Partition]
) -> tuple[list[LaunchRejected], list[str]]:
    """Whether the job fits `partition`: (errors, notes)."""
    errors = _state_problems(partition, partitions) + _time_problems(params, partition)
    requests = _gpu_requests(params)
    gpu_errors = _gpu_problems(requests, partition, partitions)
    if gpu_errors:
        return errors + gpu_errors, []
    node_errors, notes = _node_problems(params, requests, partition)
    return errors + node_errors, notes


def _state_problems(partition: Partition, partitions: dict[str, Partition]) -> list[LaunchRejected]:
    if partition.available == "up":
        return []
    up = _listing(p for p in partitions.values() if p.available == "up")
    return [
        LaunchRejected(
            PARTITION_KEY,
            f"partition {partition.name} is {partition.available}, not up: no job starts there",
            f"choose a partition that is up: {up}" if up else "wait until a partition is up",
        )
    ]


def _time_problems(params: Mapping[str, Any], partition: Partition) -> list[LaunchRejected]:
    timeout, limit = params.get("timeout_min"), slurm_seconds(partition.time_limit)
    if timeout is None or limit is None or timeout * 60 <= limit:
        return []
    return [
        LaunchRejected(
            TIMEOUT_KEY,
            f"{timeout} min is more than the time limit of partition {partition.name} "
            f"({partition.time_limit}, {limit // 60} min)",
            f"set {TIMEOUT_KEY}={limit // 60} or less, or choose a partition with a longer "
            "time limit",
        )
    ]


def _gpu_problems(
    requests: list[tuple[str, str | None, int]],
    partition: Partition,
    partitions: dict[str, Partition],
) -> list[LaunchRejected]:
    errors = []
    for key, gpu_type, count in requests:
        asks = f"asks for {count} {gpu_type + ' ' if gpu_type else ''}GPUs per node"
        fewer, none = _GPU_FIXES[key]
        if not partition.has_gpus:
            with_gpus = _listing(p for p in partitions.values() if p.has_gpus)
            errors.append(
                LaunchRejected(
                    key,
                    f"{asks}, but the nodes of partition {partition.name} have no GPUs",
                    f"{none}, or choose a partition with GPUs: {with_gpus}" if with_gpus else none,
                )
            )
            continue
        most = max(g.gpus_of(gpu_type) for g in partition.groups)
        if most < count:
            errors.append(
                LaunchRejected(
                    key,
                    f"{asks}, but the nodes of partition {partition.name} have at most {most}",
                    f"{fewer.format(n=most)}, or choose a partition with bigger nodes",
                )
            )
    return errors


def _node_problems(
    params: Mapping[str, Any], requests: list[tuple[str, str | None, int]], partition: Partition
) -> tuple[list[LaunchRejected], list[str]]:
    """Enough nodes that have the GPUs asked for; a note when some of them take no job now."""
    nodes = int(params.get("nodes") or 1)
    fit = [g for g in partition.groups if all(g.gpus_of(t) >= c for _, t, c in requests)]
    total = sum(g.count for g in fit)
    if total < nodes:
        kind = " with the GPUs asked for" if requests else ""
        fix = (
            f"set cluster.num_nodes={total} or less ({NODES_KEY} follows it)"
            if total
            else "choose a partition with nodes"
        )
        problem = f"asks for {nodes} nodes{kind}, but partition {partition.name} has {total}"
        return [LaunchRejected(NODES_KEY, problem, fix)], []
    usable = sum(g.count for g in fit if g.usable)
    if usable >= nodes:
        return [], []
    return [], [
        f"partition {partition.name}: {total - usable} of the {total} nodes that fit the job "
        "are down, drained or not responding; the job waits until enough of them are back"
    ]


def _gpu_requests(params: Mapping[str, Any]) -> list[tuple[str, str | None, int]]:
    """(key, GPU type or None for any, GPUs per node) for each way params ask for GPUs."""
    requests: list[tuple[str, str | None, int]] = []
    if params.get("gpus_per_node"):
        requests.append(("hydra.launcher.gpus_per_node", None, int(params["gpus_per_node"])))
    for gpu_type, count in gpu_gres(params.get("gres") or "").items():
        requests.append(("hydra.launcher.gres", gpu_type or None, count))
    if params.get("gpus_per_task"):
        per_node = int(params["gpus_per_task"]) * int(params.get("tasks_per_node") or 1)
        requests.append(("hydra.launcher.gpus_per_task", None, per_node))
    return requests
