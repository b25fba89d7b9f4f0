"""Where each job of a run or sweep folder stands: its record, Slurm's state, its last metric and
its last checkpoint; saved to each job's progress.json and, for a sweep, merged into sweep.json.

Status only reads the job records (job.json, launch.json): a Slurm node may be rewriting a job.json
at any moment, so what status learns goes into the job's own progress.json, which
`job_record.rebuild` merges into the job's sweep.json row under "progress".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.io.secret_env import write_record
from nemotron_align.records.job_record import PROGRESS_JSON, rebuild
from nemotron_align.results.checkpoints import latest, list_checkpoints
from nemotron_align.results.jobs import Job, find_jobs
from nemotron_align.results.metrics import read_metrics
from nemotron_align.results.status_slurm import SacctFailed, SlurmState, sacct_states


@dataclass
class Progress:
    """What progress.json holds (times ISO 8601, UTC)."""

    checked_at: str
    # sacct's state, exit code ("<status>:<signal>") and elapsed time; None without a Slurm job
    # id, without sacct, or while sacct does not know the job yet.
    slurm: dict[str, str] | None = None
    last_step: int | None = None
    last_metric_time: str | None = None
    # {"step": N, "path": ".../step_N"} of the newest finished checkpoint.
    last_checkpoint: dict[str, Any] | None = None


@dataclass
class JobStatus:
    job: Job
    progress: Progress

    def as_json(self) -> dict[str, Any]:
        return {
            "job": self.job.name,
            "folder": str(self.job.folder),
            "overrides": self.job.overrides,
            "status": self.job.status,
            "exit_code": self.job.exit_code,
            "slurm_job_id": self.job.slurm_job_id,
            "progress": asdict(self.progress),
        }


@dataclass
class FolderStatus:
    folder: Path
    kind: str
    jobs: list[JobStatus]
    checked_at: datetime
    # What could not be learnt or saved (sacct failing, a folder not writable).
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "kind": self.kind,
            "checked_at": _iso(self.checked_at),
            "jobs": [j.as_json() for j in self.jobs],
            "warnings": self.warnings,
        }


def check_folder(folder: Path) -> FolderStatus:
    """Every job's status now, saved to its progress.json (and a sweep's sweep.json)."""
    if not folder.is_dir():
        raise LaunchRejected(
            str(folder),
            "does not exist" if not folder.exists() else "is not a folder",
            "pass the run folder a launch printed, or the sweep folder of a -m run",
        )
    folder = folder.resolve()
    kind, jobs = find_jobs(folder)
    now = datetime.now(timezone.utc)
    warnings: list[str] = []
    slurm = _slurm_states(jobs, warnings)
    metrics = read_metrics(folder, [j.folder for j in jobs], wanted=lambda tag: False)
    statuses = []
    for job in jobs:
        progress = Progress(checked_at=_iso(now))
        state = slurm.get(job.slurm_job_id or "")
        if state is not None:
            progress.slurm = asdict(state)
        seen = metrics[job.folder]
        progress.last_step = seen.last_step
        if seen.last_time is not None:
            progress.last_metric_time = _iso(datetime.fromtimestamp(seen.last_time, timezone.utc))
        checkpoint_dir = job.checkpoint_dir
        checkpoint = latest(list_checkpoints(checkpoint_dir)) if checkpoint_dir else None
        if checkpoint is not None:
            progress.last_checkpoint = {"step": checkpoint.step, "path": str(checkpoint.path)}
        statuses.append(JobStatus(job, progress))
    status = FolderStatus(folder, kind, statuses, now, warnings)
    _save(status)
    return status


def _slurm_states(jobs: list[Job], warnings: list[str]) -> dict[str, SlurmState]:
    ids = [j.slurm_job_id for j in jobs if j.slurm_job_id]
    if not ids:
        return {}
    try:
        states = sacct_states(ids)
    except SacctFailed as err:
        warnings.append(f"Slurm states unknown: {err}")
        return {}
    if states is None:
        warnings.append("Slurm states unknown: sacct is not on PATH")
        return {}
    return states


def _save(status: FolderStatus) -> None:
    try:
        for one in status.jobs:
            write_record(one.job.folder / PROGRESS_JSON, asdict(one.progress))
        if status.kind == "sweep":
            rebuild(status.folder)
    except OSError as err:
        status.warnings.append(f"progress not saved: {err}")


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")
