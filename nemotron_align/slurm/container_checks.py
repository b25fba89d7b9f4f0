"""Login-node checks that a Slurm job's container can run it: a local image file exists, and the
container sees every host path the job opens at the same path. Configs are resolved plain
containers (OmegaConf.to_container), not DictConfigs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nemotron_align.config.render import config_value
from nemotron_align.errors import LaunchRejected
from nemotron_align.gym.rows import split_settings
from nemotron_align.slurm.model_checks import MODEL_KEYS, is_local_path

IMAGE_KEY = "hydra.launcher.container_image"
MOUNTS_KEY = "hydra.launcher.container_mounts"
DATA_FILE_KEYS = ("data_path", "prompt_file", "system_prompt_file")


def image_problems(params: Mapping[str, Any]) -> list[LaunchRejected]:
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


def job_paths(config: Mapping[str, Any], run_dir: Path, nemo_rl_root: str) -> dict[str, str]:
    """The host paths a job opens, keyed by the config key that names them: local data files,
    the run folder, checkpoint and log folders, local models and Gym configs given by absolute
    path. NeMo-RL runs with cwd = nemo_rl_root, so a relative path is relative to the NeMo-RL
    root. Paths inside the NeMo-RL root (in a container: the image's own files) and inside the
    run folder (which stands for them) are left out."""
    root = Path(os.path.abspath(nemo_rl_root))
    run = Path(os.path.abspath(run_dir))
    paths = {"run folder": str(run)}
    for key, value in _named_paths(config).items():
        if isinstance(value, str) and value:
            path = Path(os.path.normpath(root / Path(value).expanduser()))
            if not (path.is_relative_to(root) or path.is_relative_to(run)):
                paths[key] = str(path)
    return paths


def _named_paths(config: Mapping[str, Any]) -> dict[str, Any]:
    """Config key -> the value of each key that may name a host path the job opens."""
    named: dict[str, Any] = {}
    for split, settings in split_settings(dict(config.get("data") or {})).items():
        for name in DATA_FILE_KEYS:
            named[f"data.{split}.{name}"] = settings.get(name)
    for key in ("checkpointing.checkpoint_dir", "logger.log_dir"):
        named[key] = config_value(config, key)
    for key in MODEL_KEYS:
        if is_local_path(config_value(config, key)):  # else a Hugging Face id
            named[key] = config_value(config, key)
    for i, entry in enumerate(config_value(config, "env.nemo_gym.config_paths") or []):
        named[f"env.nemo_gym.config_paths[{i}]"] = entry
    return named
