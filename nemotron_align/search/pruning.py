"""Pruning while a batch runs: each running trial's new values of the metric are reported to
Optuna (trial.report), and a trial the pruner gives up on is stopped: on Slurm `scancel` of its
array task, locally SIGTERM to its NeMo-RL child (which, like any stop, keeps its checkpoints).

The values are read with the report's reader (TensorBoard events under the sweep folder), every
`watch_interval_s`. NeMo-RL's TensorBoard writer flushes every 120 s or every 10 values, so a
trial is judged on what it has flushed.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import optuna
import psutil

from nemotron_align.config.render import NEMO_RL_YAML
from nemotron_align.records.job_record import read_job_record
from nemotron_align.results.metrics import Series

log = logging.getLogger("nemotron_align")


class PruneWatch:
    """A thread that reports and prunes the trials of one batch until the batch has ended."""

    def __init__(
        self,
        trials: dict[Path, optuna.Trial],
        read_series: Callable[[], dict[Path, Series]],
        interval_s: float,
    ) -> None:
        self.trials = trials
        self.read_series = read_series
        self.interval_s = interval_s
        # Job folder -> why it was pruned.
        self.pruned: dict[Path, str] = {}
        self._reported: dict[Path, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="prune-watch", daemon=True)

    def __enter__(self) -> PruneWatch:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception as err:  # a failed read must not end the watch, nor the batch
                log.warning("pruning: could not read the running trials' metrics: %s", err)

    def check(self) -> None:
        """Report what is new; stop the trials the pruner gives up on."""
        series = self.read_series()
        for folder, trial in self.trials.items():
            if folder in self.pruned or folder not in series:
                continue
            if self._report(folder, trial, series[folder]) and trial.should_prune():
                step = self._reported[folder]
                why = f"pruned at step {step} by the {type(trial.study.pruner).__name__}"
                log.info("trial %d: %s; stopping its job", trial.number, why)
                self.pruned[folder] = why
                stop_job(folder)

    def _report(self, folder: Path, trial: optuna.Trial, series: Series) -> bool:
        """Report the values logged after the last one reported; whether any was new."""
        last = self._reported.get(folder, -1)
        new = [(s, v) for s, v in zip(series.steps, series.values, strict=True) if s > last]
        for step, value in new:
            trial.report(value, step)
            self._reported[folder] = step
        return bool(new)


def stop_job(job_dir: Path) -> None:
    """Stop the job of this folder: its Slurm array task, or its NeMo-RL child here."""
    slurm_id = read_job_record(job_dir).get("slurm_job_id")
    if slurm_id:
        subprocess.run(["scancel", str(slurm_id)], check=False, capture_output=True)
        return
    config = str((job_dir / NEMO_RL_YAML).resolve())
    for child in psutil.Process().children(recursive=True):
        try:
            if config in child.cmdline():
                child.send_signal(signal.SIGTERM)
        except psutil.Error:
            continue
