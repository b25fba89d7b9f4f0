"""A sweep's or a run's report, one row per job: what it swept, how far it got, how well it did.

The ranking metric is the jobs' `checkpointing.metric_name` (or one asked for), read from the
TensorBoard tag NeMo-RL logged it under; its direction is `checkpointing.higher_is_better`. The
best checkpoint is the one NeMo-RL itself would keep and an export would take: ranked by the
job's own `checkpointing` settings, whatever metric the report ranks by.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from nemotron_align.errors import LaunchRejected
from nemotron_align.records.launch_record import LAUNCH_JSON
from nemotron_align.results import checkpoints
from nemotron_align.results.jobs import Job, find_jobs
from nemotron_align.results.metric_tags import candidate_tags, is_validation, tag_for
from nemotron_align.results.metrics import RunMetrics, Series, Wanted, read_metrics


@dataclass(frozen=True)
class Ranking:
    # A checkpointing.metric_name (`val:...`, `train:...`) or a TensorBoard tag.
    metric: str | None
    higher_is_better: bool


@dataclass
class Row:
    job: str
    folder: Path
    swept: dict[str, str]
    status: str
    exit_code: int | None
    steps: int | None
    metric_tag: str | None
    series: Series
    # The last value of every other validation tag.
    validation: dict[str, float]
    best_checkpoint: Path | None
    # The run's Hugging Face export (launch.export_hf), from launch.json's `produced`.
    hf_export: str | None = None
    best: bool = False

    @property
    def last(self) -> float | None:
        return self.series.values[-1] if self.series.values else None

    def best_point(self, higher_is_better: bool) -> tuple[int, float] | None:
        """(step, value) of the best value logged; the earliest step on ties."""
        if not self.series.values:
            return None
        sign = 1 if higher_is_better else -1
        points = zip(self.series.steps, self.series.values, strict=True)
        return max(points, key=lambda p: (sign * p[1], -p[0]))


@dataclass
class Report:
    folder: Path
    kind: str
    ranking: Ranking
    swept_keys: list[str]
    rows: list[Row] = field(default_factory=list)

    @property
    def best_row(self) -> Row | None:
        return next((r for r in self.rows if r.best), None)


def build_report(
    folder: Path, metric: str | None = None, higher_is_better: bool | None = None
) -> Report:
    if not folder.is_dir():
        raise LaunchRejected(
            str(folder),
            "does not exist" if not folder.exists() else "is not a folder",
            "pass the run folder a launch printed, or the sweep folder of a -m run",
        )
    kind, jobs = find_jobs(folder)
    ranking = _ranking(jobs, metric, higher_is_better)
    tags = set(candidate_tags(ranking.metric)) if ranking.metric else set()
    log_dirs = [_log_dir(job) for job in jobs]
    metrics = _read_log_dirs(folder, log_dirs, lambda tag: tag in tags or is_validation(tag))
    swept = swept_overrides([job.overrides for job in jobs])
    report = Report(folder, kind, ranking, sorted({k for s in swept for k in s}))
    report.rows = [
        _row(job, values, metrics[log_dir], ranking)
        for job, values, log_dir in zip(jobs, swept, log_dirs, strict=True)
    ]
    _mark_best(report)
    return report


def swept_overrides(overrides: list[list[str]]) -> list[dict[str, str]]:
    """Each job's overrides whose value is not the same in every job (a lone run: all of them)."""
    parsed = [dict(_key_value(o) for o in job) for job in overrides]
    if len(parsed) == 1:
        return parsed
    keys = {k for job in parsed for k in job}
    varying = {k for k in keys if len({job.get(k) for job in parsed}) > 1}
    return [{k: v for k, v in job.items() if k in varying} for job in parsed]


def _key_value(override: str) -> tuple[str, str]:
    key, _, value = override.partition("=")
    return key, value


def _ranking(jobs: list[Job], metric: str | None, higher_is_better: bool | None) -> Ranking:
    settings = next((j.checkpointing for j in jobs if j.checkpointing), {})
    configured = settings.get("metric_name")
    chosen = metric or configured
    if chosen is None or higher_is_better is not None:
        return Ranking(chosen, True if higher_is_better is None else higher_is_better)
    same = configured and (chosen == configured or chosen in candidate_tags(configured))
    if same and settings.get("higher_is_better") is not None:
        return Ranking(chosen, bool(settings["higher_is_better"]))
    raise LaunchRejected(
        "--metric" if metric else "checkpointing.higher_is_better",
        f"the direction of {chosen} is unknown (not the jobs' checkpointing.metric_name)"
        if metric
        else "is not set in the jobs' nemo_rl.yaml",
        "add --higher-is-better or --lower-is-better",
    )


def _log_dir(job: Job) -> Path:
    logger = job.config.get("logger")
    log_dir = logger.get("log_dir") if isinstance(logger, dict) else None
    return Path(log_dir) if log_dir else job.folder


def _read_log_dirs(folder: Path, log_dirs: list[Path], wanted: Wanted) -> dict[Path, RunMetrics]:
    """The log folders inside `folder` read in one pass from the deepest folder holding them all;
    one elsewhere (a logger.log_dir set by hand) on its own, never from a common root such as /."""
    inside = [d for d in log_dirs if d.resolve().is_relative_to(folder.resolve())]
    outside = [d for d in log_dirs if d not in inside]
    metrics = {}
    if inside:
        root = Path(os.path.commonpath([d.resolve() for d in inside]))
        metrics.update(read_metrics(root, inside, wanted))
    for log_dir in dict.fromkeys(outside):
        metrics.update(read_metrics(log_dir, [log_dir], wanted))
    return metrics


def _row(job: Job, swept: dict[str, str], metrics: RunMetrics, ranking: Ranking) -> Row:
    tag = tag_for(ranking.metric, metrics.tags)
    series = metrics.series.get(tag, Series()) if tag else Series()
    validation = {
        t: s.values[-1]
        for t, s in sorted(metrics.series.items())
        if t != tag and is_validation(t) and s.values
    }
    return Row(
        job=job.name,
        folder=job.folder,
        swept=swept,
        status=job.status,
        exit_code=job.exit_code,
        steps=metrics.last_step,
        metric_tag=tag,
        series=series,
        validation=validation,
        best_checkpoint=_best_checkpoint(job),
        hf_export=_hf_export(job.folder),
    )


def _hf_export(folder: Path) -> str | None:
    try:
        produced = json.loads((folder / LAUNCH_JSON).read_text()).get("produced") or {}
    except (OSError, ValueError):
        return None
    return produced.get("hf_export")


def _best_checkpoint(job: Job) -> Path | None:
    if job.checkpoint_dir is None:
        return None
    settings = job.checkpointing
    found = checkpoints.list_checkpoints(job.checkpoint_dir)
    chosen = checkpoints.best(
        found, settings.get("metric_name"), bool(settings.get("higher_is_better"))
    )
    return chosen.path if chosen else None


def _mark_best(report: Report) -> None:
    """The row with the best value (the first job on ties); rows without the metric never win."""
    higher = report.ranking.higher_is_better
    sign = 1 if higher else -1
    measured = [(r, p[1]) for r in report.rows if (p := r.best_point(higher)) is not None]
    if measured:
        winner = max(measured, key=lambda rv: sign * rv[1])[0]
        winner.best = True
