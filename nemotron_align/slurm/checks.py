"""Checks on the Slurm login node before sbatch: the cluster, the container and the models.

cluster_problems asks the live Slurm (sinfo) whether the partition exists and is up, whether
timeout_min fits its time limit and whether it has the nodes and GPUs asked for, and checks a local
container image. job_paths and container_path_problems check that the container sees every host
path the job opens; model_problems that each model is a local folder or in the job's Hugging Face
cache. Configs are resolved plain containers (OmegaConf.to_container), not DictConfigs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.gym.rows import split_settings

# One line per partition and group of alike nodes; --all includes hidden partitions.
SINFO = ["sinfo", "--all", "--noheader", "--format=%P|%a|%l|%D|%G|%T"]
SLURM_TIMEOUT_S = 30
SKIPPED = "partition, time limit and GPU checks skipped"
PARTITION_KEY = "hydra.launcher.partition"
TIMEOUT_KEY = "hydra.launcher.timeout_min"
NODES_KEY = "hydra.launcher.nodes"
IMAGE_KEY = "hydra.launcher.container_image"
MOUNTS_KEY = "hydra.launcher.container_mounts"
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

MODEL_KEYS = ("policy.model_name", "policy.tokenizer.name", "env.nemo_gym.genrm_model_name")
DATA_FILE_KEYS = ("data_path", "prompt_file", "system_prompt_file")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "tokenizer.model")
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})  # as huggingface_hub reads HF_HUB_OFFLINE


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
    errors = _image_problems(params)
    try:
        out = (run or _run)(SINFO)
    except FileNotFoundError:
        return errors, [f"sinfo not found: {SKIPPED}"]
    except subprocess.CalledProcessError as err:
        said = (err.stderr or "").strip().splitlines()
        return errors, [f"sinfo failed ({said[-1] if said else err}): {SKIPPED}"]
    except subprocess.TimeoutExpired:
        return errors, [f"sinfo did not answer in {SLURM_TIMEOUT_S}s: {SKIPPED}"]
    partitions = parse_sinfo(out)
    names, unknown = _chosen_partitions(params.get("partition"), partitions)
    if unknown:
        return errors + unknown, []
    # Slurm runs a job in any one of a comma-separated list of partitions that fits it.
    results = [_fit_problems(params, partitions[name], partitions) for name in names]
    if any(not problems for problems, _ in results):
        return errors, [note for problems, notes in results if not problems for note in notes]
    return errors + [p for problems, _ in results for p in problems], []


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


def _image_problems(params: Mapping[str, Any]) -> list[LaunchRejected]:
    """A local image file (not a registry reference such as nvcr.io#nvidia/nemo-rl) exists."""
    image = params.get("container_image")
    if not image or not (image.endswith(".sqsh") or image.startswith(("/", "./", "../"))):
        return []
    if Path(image).exists():
        return []
    return [
        LaunchRejected(
            IMAGE_KEY,
            f"container image {image} does not exist",
            f"point {IMAGE_KEY} at an existing .sqsh file, or name a registry image such as "
            "nvcr.io#nvidia/nemo-rl:v0.7.0",
        )
    ]


def _mounts(entries: Iterable[str]) -> list[tuple[Path, Path]]:
    """(host folder, container folder) of each `src:dst[:flags]` or `path` mount."""
    mounts = []
    for entry in ",".join(entries).split(","):
        if entry:
            parts = entry.split(":")
            src, dst = parts[0], parts[1] if len(parts) > 1 else parts[0]
            mounts.append((Path(os.path.abspath(src)), Path(os.path.abspath(dst))))
    return mounts


def container_path_problems(
    paths: Mapping[str, str], params: Mapping[str, Any]
) -> list[LaunchRejected]:
    """With params['container_image'] set: each host path the job opens (key -> absolute path)
    must lie under a mount that puts it at the same path in the container, where NeMo-RL opens
    it. No container image -> []."""
    image = params.get("container_image")
    if not image:
        return []
    mounts = _mounts(params.get("container_mounts") or [])
    problems = []
    for key, path in paths.items():
        host = Path(os.path.normpath(path))
        if any(src == dst and host.is_relative_to(src) for src, dst in mounts):
            continue
        moved = [dst / host.relative_to(src) for src, dst in mounts if host.is_relative_to(src)]
        problem = (
            f"{host} is mounted into the container at {moved[0]}, but NeMo-RL opens {host}"
            if moved
            else f"{host} is not mounted into the container ({image}): NeMo-RL cannot open it"
        )
        folder = host.parent if host.is_file() else host
        problems.append(
            LaunchRejected(
                key,
                problem,
                f"mount it at the same path: add '{folder}:{folder}' (or a folder above it) to "
                f"{MOUNTS_KEY}",
            )
        )
    return problems


def _get(config: Mapping[str, Any], dotted: str) -> Any:
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _path_like(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("/", ".", "~"))


def job_paths(config: Mapping[str, Any], run_dir: Path, nemo_rl_root: str) -> dict[str, str]:
    """The host paths a job opens, keyed by the config key that names them: local data files,
    the run folder, checkpoint and log folders, local models and Gym configs given by absolute
    path. NeMo-RL runs with cwd = nemo_rl_root, so a relative path is relative to the NeMo-RL
    root. Paths inside the NeMo-RL root (in a container: the image's own files) and inside the
    run folder (which stands for them) are left out."""
    root = Path(os.path.abspath(nemo_rl_root))
    run = Path(os.path.abspath(run_dir))
    named: dict[str, Any] = {}
    for split, settings in split_settings(dict(config.get("data") or {})).items():
        for name in DATA_FILE_KEYS:
            named[f"data.{split}.{name}"] = settings.get(name)
    for key in ("checkpointing.checkpoint_dir", "logger.log_dir"):
        named[key] = _get(config, key)
    for key in MODEL_KEYS:
        if _path_like(_get(config, key)):  # else a Hugging Face id
            named[key] = _get(config, key)
    for i, entry in enumerate(_get(config, "env.nemo_gym.config_paths") or []):
        named[f"env.nemo_gym.config_paths[{i}]"] = entry
    paths = {"run folder": str(run)}
    for key, value in named.items():
        if isinstance(value, str) and value:
            path = Path(os.path.normpath(root / Path(value).expanduser()))
            if not (path.is_relative_to(root) or path.is_relative_to(run)):
                paths[key] = str(path)
    return paths


def hf_hub_cache(job_env: Mapping[str, str]) -> Path:
    """The Hugging Face hub cache the job uses, found as huggingface_hub finds it."""
    home = job_env.get("HOME") or str(Path.home())

    def expand(path: str) -> str:
        return home + path[1:] if path == "~" or path.startswith("~/") else path

    hf_home = job_env.get("HF_HOME") or os.path.join(
        job_env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "huggingface"
    )
    hub = (
        job_env.get("HF_HUB_CACHE")
        or job_env.get("HUGGINGFACE_HUB_CACHE")
        or os.path.join(expand(hf_home), "hub")
    )
    return Path(expand(hub))


def cached_snapshot(hub: Path, repo_id: str) -> Path | None:
    """The snapshot offline huggingface_hub loads for `repo_id`: the one refs/main names."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    ref = repo / "refs" / "main"
    if not ref.is_file():
        return None
    snapshot = repo / "snapshots" / ref.read_text().strip()
    return snapshot if snapshot.is_dir() else None


def has_model(folder: Path) -> bool:
    """config.json and all weights: every shard of the index, else the single weights file."""
    if not (folder / "config.json").is_file():
        return False
    for index in WEIGHT_INDEXES:
        if (folder / index).is_file():
            shards = set(json.loads((folder / index).read_text())["weight_map"].values())
            return all((folder / shard).is_file() for shard in shards)
    return any((folder / name).is_file() for name in WEIGHT_FILES)


def has_tokenizer(folder: Path) -> bool:
    return any((folder / name).is_file() for name in TOKENIZER_FILES)


def model_problems(
    config: Mapping[str, Any], job_env: Mapping[str, str]
) -> tuple[list[LaunchRejected], list[str]]:
    """The policy model, its tokenizer and the RLHF judge are each a local folder or a Hugging
    Face id in the cache the job uses; a missing id is a warning (the job downloads it), an error
    when job_env turns HF_HUB_OFFLINE on. A relative local path is relative to the NeMo-RL root
    (launch.nemo_rl_root). Returns (errors, warnings)."""
    hub = hf_hub_cache(job_env)
    offline = (job_env.get("HF_HUB_OFFLINE") or "").strip().upper() in _TRUE
    root = _get(config, "launch.nemo_rl_root")
    errors: list[LaunchRejected] = []
    warnings: list[str] = []
    reported: set[str] = set()  # the tokenizer is usually the model: one report is enough
    for key in MODEL_KEYS:
        name = _get(config, key)
        if not isinstance(name, str) or not name or name in reported:
            continue
        if _path_like(name):
            found = _local_model_problems(key, name, root)
        else:
            found = _hub_model_problems(key, name, hub, offline)
        if found:
            reported.add(name)
        for problem in found:
            (warnings if isinstance(problem, str) else errors).append(problem)
    return errors, warnings


def _local_model_problems(key: str, name: str, root: str | None) -> list[LaunchRejected | str]:
    folder = Path(name).expanduser()
    if not folder.is_absolute():
        if not (root and Path(root).is_dir()):
            where = root or "launch.nemo_rl_root not given"
            return [
                f"{key}: {name} is relative to the NeMo-RL root, which is not on this machine "
                f"({where}): not checked"
            ]
        folder = Path(root) / folder
    if folder.is_dir():
        return []
    return [
        LaunchRejected(
            key,
            f"model folder {folder} does not exist",
            "point it at a local model folder, or name a Hugging Face model id",
        )
    ]


def _hub_model_problems(
    key: str, name: str, hub: Path, offline: bool
) -> list[LaunchRejected | str]:
    snapshot = cached_snapshot(hub, name)
    complete = has_tokenizer if key == "policy.tokenizer.name" else has_model
    if snapshot is not None and complete(snapshot):
        return []
    if not offline:
        return [
            f"{key}: {name} is not in the Hugging Face cache the job uses ({hub}): the job's "
            "nodes download it when the run starts"
        ]
    return [
        LaunchRejected(
            key,
            f"{name} is not in the Hugging Face cache the job uses ({hub}), and HF_HUB_OFFLINE "
            "forbids downloading it",
            f"download it into that cache first (HF_HUB_CACHE={hub} huggingface-cli download "
            f"{name}), or unset HF_HUB_OFFLINE for the job",
        )
    ]
