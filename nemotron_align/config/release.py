"""Find the NeMo-RL checkout a run will use, and what version it is."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from nemotron_align.errors import LaunchRejected

# Where the NeMo-RL container keeps its checkout; NEMO_RL_ROOT points elsewhere.
CONTAINER_ROOT = "/opt/nemo-rl"
_VERSION_PART = re.compile(r"^(MAJOR|MINOR|PATCH|PRE_RELEASE)\s*=\s*(.+?)\s*$", re.MULTILINE)


# What each supported release's source has that the one before it lacks, newest first. Checked by
# content because main's package_info.py still says 0.6.0.
RELEASE_MARKERS: tuple[tuple[str, str, str | None], ...] = (
    ("main", "nemo_rl/models/generation/interfaces.py", "val_temperature"),
    ("v0.7.0", "nemo_rl/data_plane/interfaces.py", "class DataPlaneConfig"),
    ("v0.6.0", "nemo_rl/algorithms/grpo.py", None),
)
RELEASES = tuple(reversed([name for name, _, _ in RELEASE_MARKERS]))


@dataclass(frozen=True)
class NemoRLInstall:
    root: Path
    version: str | None
    commit: str | None
    # Which supported release's config schema this checkout has (None: not a NeMo-RL checkout).
    release: str | None


def default_root() -> str:
    return os.environ.get("NEMO_RL_ROOT", CONTAINER_ROOT)


def read_version(root: Path) -> str | None:
    """Version from nemo_rl/package_info.py (MAJOR/MINOR/PATCH/PRE_RELEASE), without importing it.

    NeMo-RL's main branch can carry an older number than its schema; the commit is recorded too.
    """
    info = root / "nemo_rl" / "package_info.py"
    try:
        parts = dict(_VERSION_PART.findall(info.read_text()))
    except OSError:
        return None
    try:
        numbers = ".".join(str(int(parts[k])) for k in ("MAJOR", "MINOR", "PATCH"))
    except (KeyError, ValueError):
        return None
    return numbers + parts.get("PRE_RELEASE", "").strip("\"'")


def detect_release(root: Path) -> str | None:
    for name, file, marker in RELEASE_MARKERS:
        try:
            text = (root / file).read_text()
        except OSError:
            continue
        if marker is None or marker in text:
            return name
    return None


def read_commit(root: Path) -> str | None:
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def inspect_install(root: str | Path) -> NemoRLInstall:
    path = Path(root).expanduser().resolve()
    return NemoRLInstall(
        root=path,
        version=read_version(path),
        commit=read_commit(path),
        release=detect_release(path),
    )


def require_script(install: NemoRLInstall, script: str) -> Path:
    """The script's absolute path (the root itself for ""); a clear rejection naming what was
    looked for if it is absent."""
    path = install.root / script
    if path.is_file() or (not script and path.is_dir()):
        return path
    if install.root.is_dir():
        looked = f"{path} does not exist (is {install.root} a NeMo-RL checkout?)"
    elif install.root.exists():
        looked = f"NeMo-RL root {install.root} is a file, not a checkout folder"
    else:
        looked = f"NeMo-RL root {install.root} does not exist"
    raise LaunchRejected(
        "launch.nemo_rl_root",
        f"NeMo-RL not found: {looked}",
        "one of: set NEMO_RL_ROOT or launch.nemo_rl_root=<path of a NeMo-RL checkout>; "
        "run inside the NeMo-RL container (nvcr.io/nvidia/nemo-rl, root /opt/nemo-rl); "
        "or add launch.dry_run=true to only write and check the run folder",
    )
