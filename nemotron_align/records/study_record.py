"""Where a study lives: in its sweep folder, found again by re-running the same command.

`<sweep folder>/study.json` says which study and which storage file; the study itself is an
Optuna RDB storage on SQLite (`study.db`), or Optuna's journal file (`study.journal`) where the
folder is on a network file system (SQLite's locking is not safe there; the journal's is).
Only the sweeper process writes the study; jobs never touch it.

Each trial's user attributes: `job_folder` (its run folder), `overrides` (its job's command-line
overrides; rerun_command() runs the job alone), and for a failed or pruned
trial `reason`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from nemotron_align.io.atomic_file import write_atomically

if TYPE_CHECKING:
    import optuna

STUDY_JSON = "study.json"
JOB_FOLDER, OVERRIDES, REASON = "job_folder", "overrides", "reason"
FILES = {"sqlite": "study.db", "journal": "study.journal"}
# File systems shared between nodes (as /proc/mounts names them).
NETWORK_FILE_SYSTEMS = frozenset(
    {"nfs", "nfs4", "lustre", "gpfs", "beegfs", "cifs", "smb3", "ceph", "glusterfs", "wekafs"}
)


class StorageKind(str, Enum):
    auto = "auto"
    sqlite = "sqlite"
    journal = "journal"


@dataclass
class StudyFacts:
    """What study.json records: the study, its storage, and what it optimizes."""

    study_name: str
    storage: str  # sqlite | journal
    metric: str
    direction: str  # minimize | maximize
    objective: str  # best | last
    # The search space as given (key -> Hydra sweep expression) and the overrides every trial has.
    space: dict[str, str] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)

    @property
    def file(self) -> str:
        return FILES[self.storage]


def on_network_file_system(folder: Path) -> bool:
    import psutil

    where = folder.resolve()
    mounts = [p for p in psutil.disk_partitions(all=True) if where.is_relative_to(p.mountpoint)]
    if not mounts:
        return False
    fstype = max(mounts, key=lambda p: len(p.mountpoint)).fstype
    return fstype.removeprefix("fuse.") in NETWORK_FILE_SYSTEMS


def storage_kind(wanted: StorageKind, folder: Path) -> str:
    if wanted is StorageKind.auto:
        return "journal" if on_network_file_system(folder) else "sqlite"
    return wanted.value


def open_storage(folder: Path, kind: str) -> optuna.storages.BaseStorage:
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    path = (folder / FILES[kind]).resolve()
    if kind == "journal":
        return JournalStorage(JournalFileBackend(str(path)))
    return optuna.storages.RDBStorage(f"sqlite:///{path}")


def rerun_command(overrides: list[str]) -> list[str]:
    """The command that runs one trial's job alone: its overrides, in run mode (a search preset
    sets multirun mode, and would start a search again)."""
    return ["python", "-m", "nemotron_align", *overrides, "hydra.mode=RUN"]


def read_facts(folder: Path) -> StudyFacts | None:
    """The study.json of a sweep folder; None where the folder holds no study."""
    try:
        return StudyFacts(**json.loads((folder / STUDY_JSON).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_facts(folder: Path, facts: StudyFacts) -> None:
    write_atomically(folder / STUDY_JSON, json.dumps(asdict(facts), indent=2) + "\n")


def load_study(folder: Path) -> optuna.Study | None:
    """The study a sweep folder holds (read by the report), or None."""
    facts = read_facts(folder)
    if facts is None or not (folder / facts.file).exists():
        return None
    import optuna

    storage = open_storage(folder, facts.storage)
    return optuna.load_study(study_name=facts.study_name, storage=storage)
