"""Login-node check that each model a Slurm job loads is there: a local folder, or a Hugging Face
id in the cache the job uses (found as huggingface_hub finds it). Configs are resolved plain
containers (OmegaConf.to_container), not DictConfigs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nemotron_align.config.render import config_value
from nemotron_align.errors import LaunchRejected

MODEL_KEYS = ("policy.model_name", "policy.tokenizer.name", "env.nemo_gym.genrm_model_name")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = ("tokenizer_config.json", "tokenizer.json", "tokenizer.model")
_TRUE = frozenset({"1", "ON", "YES", "TRUE"})  # as huggingface_hub reads HF_HUB_OFFLINE


def is_local_path(value: Any) -> bool:
    """A model named by path (absolute, relative or ~), not by Hugging Face id."""
    return isinstance(value, str) and value.startswith(("/", ".", "~"))


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
    root = config_value(config, "launch.nemo_rl_root")
    errors: list[LaunchRejected] = []
    warnings: list[str] = []
    reported: set[str] = set()  # the tokenizer is usually the model: one report is enough
    for key in MODEL_KEYS:
        name = config_value(config, key)
        if not isinstance(name, str) or not name or name in reported:
            continue
        if is_local_path(name):
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
