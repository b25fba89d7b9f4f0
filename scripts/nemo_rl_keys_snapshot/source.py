"""The files of one NeMo-RL release, from a plain folder or from a git revision."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import yaml

YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# All of examples/: a recipe's `defaults:` chain may lead outside the folders the snapshot reads.
READ_ROOTS = ("nemo_rl", "examples")
READ_SUFFIXES = (".py", ".yaml", ".yml")


def _is_git(root: Path) -> bool:
    """A checkout or a git dir itself; not a plain tree (which may sit inside another repo)."""
    return (root / ".git").exists() or ((root / "HEAD").is_file() and (root / "objects").is_dir())


def _git_commit(root: Path, revision: str) -> str | None:
    probe = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def _git_files(root: Path, commit: str) -> dict[str, str]:
    present = subprocess.run(
        ["git", "-C", str(root), "ls-tree", "--name-only", commit, *READ_ROOTS],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    archive = subprocess.run(
        ["git", "-C", str(root), "archive", "--format=tar", commit, *present],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {
            m.name: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile() and m.name.endswith(READ_SUFFIXES)
        }


def _folder_files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for top in READ_ROOTS
        for p in (root / top).rglob("*")
        if p.is_file() and p.name.endswith(READ_SUFFIXES)
    }


class Source:
    """Files of one release (the Python package and the example configs), read once."""

    def __init__(self, root: Path, tag: str) -> None:
        self.tag = tag
        self.commit = _git_commit(root, tag) if _is_git(root) else None
        if self.commit:
            self.files = _git_files(root, self.commit)
        elif (root / "nemo_rl").is_dir():
            self.files = _folder_files(root)
        else:
            raise SystemExit(f"{root}: neither a git repository with {tag} nor a NeMo-RL folder")
        self._yaml: dict[str, Any] = {}

    def yaml(self, path: str) -> Any:
        if path not in self._yaml:
            self._yaml[path] = yaml.load(self.files[path], Loader=YAML_LOADER)
        return self._yaml[path]
