"""Local data paths made absolute against the launcher's working directory.

NeMo-RL runs with the NeMo-RL root as its working directory, so a relative path written into
nemo_rl.yaml would be looked up there, not where the user typed it. Every local path NeMo-RL
opens is made absolute before the checks, so the preflight checks the file NeMo-RL will open.

A `data_path` may also be a Hugging Face dataset id (`org/name`).
It is taken as a local path when it starts with `/`, `./`, `../` or `~`, names something that
exists here, or ends in an extension NeMo-RL picks a file reader by (READERS); anything else is
left as written, for NeMo-RL to load from the Hub. `prompt_file` and `system_prompt_file` are
made absolute when they start with one of those prefixes or exist here; any other relative one
names a file of the NeMo-RL checkout (`examples/prompts/cot.txt`) and is left as written.

A recipe run (`launch.recipe` set) reads its relative paths as NeMo-RL does: a path written in a
recipe file names a file of the NeMo-RL tree (`3rdparty/Gym-workspace/.../train.jsonl`). So there
any of the three keys is made absolute only when it starts with `./`, `../` or `~` or exists under
the launcher's cwd (the user's own file, typically an override); any other relative value stays
as written, and NeMo-RL reads it from its root, in whatever container. The preflight checks such a
root-relative path at `<NeMo-RL root>/<path>` (is_root_relative).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# NeMo-RL's load_dataset_from_path: file extension → the `datasets` reader it loads it with.
READERS = {
    ".arrow": "arrow",
    ".csv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
    ".txt": "text",
}
DATASET_KEYS = ("data_path",)
FILE_KEYS = ("prompt_file", "system_prompt_file")
_LOCAL_PREFIXES = ("/", "./", "../", "~")


def _here(value: str, cwd: Path) -> bool:
    return value.startswith(_LOCAL_PREFIXES) or value in (".", "..") or (cwd / value).exists()


def is_local_path(value: str, cwd: Path) -> bool:
    """Whether a dataset value names a local file or folder, not a Hugging Face dataset id."""
    return _here(value, cwd) or os.path.splitext(value)[1].lower() in READERS


def _absolute(value: str, cwd: Path) -> str:
    return os.path.normpath(cwd / Path(value).expanduser())


def is_root_relative(value: str) -> bool:
    """Whether a path in a rendered config is read from the NeMo-RL root (it stayed relative)."""
    return not (value.startswith(_LOCAL_PREFIXES) or value in (".", ".."))


def absolute_data_paths(data: dict[str, Any], cwd: Path, recipe: bool = False) -> None:
    """Rewrite, in place, every local path of `data` (NeMo-RL's data section) against `cwd`;
    `recipe`: only the user's own (see the module's docstring)."""
    entries = [
        entry
        for node in data.values()
        for entry in (node if isinstance(node, list) else [node])
        if isinstance(entry, dict)
    ]
    for entry in entries:
        for key in DATASET_KEYS + FILE_KEYS:
            value = entry.get(key)
            if not (isinstance(value, str) and value):
                continue
            if _here(value, cwd) if key in FILE_KEYS or recipe else is_local_path(value, cwd):
                entry[key] = _absolute(value, cwd)
