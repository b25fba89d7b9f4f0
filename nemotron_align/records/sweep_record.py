"""sweep.json and sweep.csv at a multirun's root, kept current as jobs start and end.

A Hydra callback for jobs that Hydra runs itself (local multiruns): each job writes its
job.json when it starts and when it ends (nemotron_align.records.job_record). Slurm jobs write
theirs on the node. At the end of any multirun the sweep-level files are rebuilt and summarised.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from nemotron_align.errors import EXIT_REJECTED
from nemotron_align.records import run_state
from nemotron_align.records.job_record import FINE, rebuild, summary_table, write_job_record


def job_status(ret: JobReturn) -> tuple[str, int | None, str | None]:
    """(status, exit code, error) of a finished job."""
    if ret.status is JobStatus.FAILED:
        err = ret._return_value
        return "crashed", None, f"{type(err).__name__}: {err}"
    code = ret._return_value if isinstance(ret._return_value, int) else 0
    if code == 0:
        return "succeeded", 0, None
    return ("rejected" if code == EXIT_REJECTED else "failed"), code, None


def _sweep_dir(config: DictConfig) -> Path:
    return Path(config.hydra.sweep.dir).resolve()


def sweep_exit_status(rows: list[dict[str, Any]]) -> int:
    """0 when every job succeeded (or, in a dry run, passed its checks; in a search, when a trial
    completed: failed and pruned trials are part of searching), 2 when every job was rejected
    before it started, else 1."""
    trials = [r["trial"] for r in rows if "trial" in r]
    if trials and any(t.get("state") == "COMPLETE" for t in trials):
        return 0
    bad = [r for r in rows if r["status"] not in FINE]
    if not bad and not trials:
        return 0
    return EXIT_REJECTED if all(r["status"] == "rejected" for r in rows) else 1


class SweepRecorder(Callback):
    """Writes each job's record as it starts and ends; at the multirun's end the sweep's files,
    its summary, and its exit status (into the launch's RunState)."""

    def __init__(self) -> None:
        self._started: dict[int, float] = {}

    def _write(self, config: DictConfig, **fields: Any) -> None:
        write_job_record(
            _sweep_dir(config),
            Path(config.hydra.runtime.output_dir),
            int(config.hydra.job.num),
            OmegaConf.to_container(config.hydra.overrides.task),
            **fields,
        )

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if config.hydra.mode == RunMode.MULTIRUN:
            self._started[int(config.hydra.job.num)] = time.monotonic()
            self._write(config, status="running")

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        status, code, error = job_status(job_return)
        started = self._started.pop(int(config.hydra.job.num), None)
        duration = None if started is None else round(time.monotonic() - started, 3)
        self._write(config, status=status, exit_code=code, duration_s=duration, error=error)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = _sweep_dir(config)
        if not sweep_dir.is_dir():
            return
        rows = rebuild(sweep_dir)
        run_state.current().sweep_exit_status = sweep_exit_status(rows)
        fine = sum(1 for r in rows if r["status"] == "succeeded")
        checked = sum(1 for r in rows if r["status"] == "dry_run")
        line = f"{fine} of {len(rows)} jobs succeeded"
        if checked:
            line = f"{checked} of {len(rows)} jobs passed their checks (dry run: none submitted)"
        print(f"\nsweep {sweep_dir}: {line}", file=sys.stderr)
        print(summary_table(rows), file=sys.stderr)
