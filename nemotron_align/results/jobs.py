"""The jobs of a run folder or a sweep folder, with what their records say.

A sweep folder has `sweep.json` (or job folders with `job.json`, a sweep still being made); a
run folder has `launch.json`. Each job's status comes from its records: a sweep job's `job.json`
(kept by the launcher or its Slurm node), a single run's `launch.json`, where a run with a start
and no end is running while a process holds its folder's lock, else crashed (exec mode:
unrecorded, nothing was left to record its end).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nemotron_align.errors import LaunchRejected
from nemotron_align.records.job_record import JOB_JSON, SWEEP_JSON, read_job_record
from nemotron_align.records.launch_record import LAUNCH_JSON, unrecorded_status
from nemotron_align.records.run_lock import LOCK_FILE

NEMO_RL_YAML = "nemo_rl.yaml"


@dataclass
class Job:
    name: str
    folder: Path
    overrides: list[str]
    status: str
    exit_code: int | None
    slurm_job_id: str | None = None
    # The rendered NeMo-RL config ({} before it is written).
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def checkpointing(self) -> dict[str, Any]:
        settings = self.config.get("checkpointing")
        return settings if isinstance(settings, dict) else {}

    @property
    def checkpoint_dir(self) -> Path | None:
        """None before the job's nemo_rl.yaml is written (or without a checkpoint_dir)."""
        configured = self.checkpointing.get("checkpoint_dir")
        return Path(configured) if configured else None


def find_jobs(folder: Path) -> tuple[str, list[Job]]:
    """("sweep" | "run", its jobs); a folder that is neither is refused."""
    if (folder / SWEEP_JSON).is_file() or any(folder.glob(f"*/{JOB_JSON}")):
        return "sweep", _sweep_jobs(folder)
    if (folder / LAUNCH_JSON).is_file():
        return "run", [_run_job(folder)]
    raise LaunchRejected(
        str(folder),
        "is neither a run folder (no launch.json) nor a sweep folder (no sweep.json)",
        "pass a folder a launch wrote: the run folder it printed, or the sweep folder of a -m run",
    )


def _sweep_jobs(folder: Path) -> list[Job]:
    jobs = []
    for path in sorted(folder.glob(f"*/{JOB_JSON}")):
        record = read_job_record(path.parent)
        if not record:
            continue
        # Where the record lies, not the job_folder it names: the sweep may have been moved.
        job_folder = path.parent
        jobs.append(
            Job(
                name=str(record["job"]),
                folder=job_folder,
                overrides=list(record.get("overrides") or []),
                status=_sweep_job_status(record, job_folder),
                exit_code=record.get("exit_code"),
                slurm_job_id=record.get("slurm_job_id"),
                config=_config(job_folder),
            )
        )
    return sorted(jobs, key=lambda j: int(j.name))


def _sweep_job_status(record: dict[str, Any], folder: Path) -> str:
    """A local job "running" whose folder lock has been taken and is free now lost its launcher
    (killed); a Slurm job's liveness is Slurm's to tell (nemotron_align.status asks sacct)."""
    status = str(record.get("status") or "unknown")
    lock = folder / LOCK_FILE
    local = not record.get("slurm_job_id")
    if status == "running" and local and lock.exists() and not _lock_held(lock):
        return "crashed"
    return status


def _run_job(folder: Path) -> Job:
    record = json.loads((folder / LAUNCH_JSON).read_text())
    return Job(
        name=folder.name,
        folder=folder,
        overrides=list(record.get("overrides") or []),
        status=run_status(record, folder),
        exit_code=record.get("exit_code"),
        config=_config(folder),
    )


def run_status(record: dict[str, Any], folder: Path) -> str:
    if record.get("dry_run"):
        return "dry_run"
    code = record.get("exit_code")
    if code is not None:
        return "succeeded" if code == 0 else "failed"
    if record.get("error"):
        return "rejected"
    if not record.get("start_time"):
        return "submitted"
    if _lock_held(folder / LOCK_FILE):
        return "running"
    return unrecorded_status(record) or "crashed"


def _lock_held(path: Path) -> bool:
    """Whether a process on this host holds the flock, seen in /proc/locks without taking it
    (taking it, even for a moment, could turn a launch starting then away)."""
    try:
        stat = os.stat(path)
        locks = Path("/proc/locks").read_text()
    except OSError:
        return False
    device = f"{os.major(stat.st_dev):02x}:{os.minor(stat.st_dev):02x}:{stat.st_ino}"
    # "<n>: [->] FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF"; "->" marks a waiter.
    held = (line.replace("->", "").split() for line in locks.splitlines())
    return any(len(fields) > 5 and fields[5] == device for fields in held)


def _config(folder: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load((folder / NEMO_RL_YAML).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return loaded if isinstance(loaded, dict) else {}
