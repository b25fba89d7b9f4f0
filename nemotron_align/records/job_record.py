"""<job folder>/job.json and the sweep-level sweep.json / sweep.csv rebuilt from every job's record.

Standard library only: jobs write their records on Slurm nodes, where nothing of ours is
installed. Jobs may run in other processes or on other nodes, so nothing is held in memory; a
sweep that is killed still shows which jobs ran, which were running and how each ended.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
from pathlib import Path
from typing import Any

from nemotron_align.io.secret_env import redact_text, write_record

JOB_JSON = "job.json"
SWEEP_JSON = "sweep.json"
SWEEP_CSV = "sweep.csv"
# A job's progress as nemotron_align.status last saw it (Slurm state, step, checkpoint). Status
# writes its own file, never job.json: a node may be updating job.json at the same moment.
PROGRESS_JSON = "progress.json"
# A search's trial of this job (nemotron_align.search): params, Optuna state, value, reason.
TRIAL_JSON = "trial.json"
COLUMNS = ("job", "overrides", "status", "exit_code", "duration_s", "job_folder", "error")
# Statuses after which a job does not run again (unless Slurm requeues it).
FINAL = frozenset(
    {
        "succeeded",
        "failed",
        "rejected",
        "crashed",
        "timeout",
        "preempted",
        "cancelled",
        "lost",
        "pruned",
    }
)
# Statuses that are not failures: a job checked by a dry run was never meant to start, a pruned
# one was stopped by its search on purpose.
FINE = frozenset({"succeeded", "dry_run", "pruned"})


def rebuild(sweep_dir: Path) -> list[dict[str, Any]]:
    """Regenerate sweep.json and sweep.csv from the job records, each sweep.json row with the
    job's progress.json under "progress" where status wrote one, and its trial.json under
    "trial" in a search; returns the rows."""
    with (sweep_dir / ".sweep.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = []
        for path in sweep_dir.glob(f"*/{JOB_JSON}"):
            try:
                row = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for key, name in (("progress", PROGRESS_JSON), ("trial", TRIAL_JSON)):
                with contextlib.suppress(OSError, ValueError):
                    row[key] = json.loads((path.parent / name).read_text())
            rows.append(row)
        rows.sort(key=lambda r: r["job"])
        write_record(sweep_dir / SWEEP_JSON, rows)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "overrides": " ".join(row["overrides"])})
        write_record(sweep_dir / SWEEP_CSV, out.getvalue())
    return rows


def summary_table(rows: list[dict[str, Any]]) -> str:
    """One line per job; a job that did not succeed shows its error's first line under it."""
    lines = [f"{'job':>4}  {'status':<10} {'exit':>4} {'time':>8}  overrides"]
    for r in rows:
        code = "-" if r["exit_code"] is None else str(r["exit_code"])
        took = "-" if r["duration_s"] is None else f"{r['duration_s']:.1f}s"
        lines.append(
            f"{r['job']:>4}  {r['status']:<10} {code:>4} {took:>8}  " + " ".join(r["overrides"])
        )
        if r.get("error") and r["status"] not in FINE:
            lines.append(f"{'':>6}{r['error'].splitlines()[0]}")
    return redact_text("\n".join(lines))


def read_job_record(job_dir: Path) -> dict[str, Any]:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((job_dir / JOB_JSON).read_text())
    return {}


def write_job_record(
    sweep_dir: Path, job_dir: Path, num: int, overrides: list[str], **fields: Any
) -> None:
    """<job folder>/job.json, then the sweep-level files rebuilt from every job's record."""
    record = {
        "job": num,
        "overrides": overrides,
        "job_folder": str(job_dir),
        "exit_code": None,
        "duration_s": None,
        "error": None,
        **fields,
    }
    job_dir.mkdir(parents=True, exist_ok=True)
    write_record(job_dir / JOB_JSON, record)
    rebuild(sweep_dir)


def update_job_record(
    sweep_dir: Path, job_dir: Path, num: int, overrides: list[str], **fields: Any
) -> None:
    """Change some fields of a job's record; what it recorded before (its Slurm job id, its
    log) stays."""
    kept = {
        k: v
        for k, v in read_job_record(job_dir).items()
        if k not in ("job", "overrides", "job_folder")
    }
    write_job_record(sweep_dir, job_dir, num, overrides, **{**kept, **fields})
