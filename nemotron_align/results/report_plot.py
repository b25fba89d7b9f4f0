"""`report.png`: left, the ranking metric against the step for every job (the best job bold);
right, each job's best and final value against the swept value when the sweep varies one numeric
key, otherwise per job. Drawn headless (matplotlib's Agg backend), 1200 x 450 pixels."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.results.report_rows import Report, Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes

REPORT_PNG = "report.png"
SIZE_IN = (12.0, 4.5)
DPI = 100
MANY_JOBS = 10


def numeric_sweep(report: Report) -> str | None:
    """The one swept key, when every job's value of it is a number."""
    if len(report.swept_keys) != 1:
        return None
    key = report.swept_keys[0]
    try:
        [float(row.swept[key]) for row in report.rows]
    except (KeyError, ValueError):
        return None
    return key


def _label(row: Row) -> str:
    values = " ".join(f"{k}={v}" for k, v in row.swept.items())
    return f"job {row.job}" + (f" ({values})" if values and len(values) < 60 else "")


def write_plot(report: Report, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_IN, dpi=DPI, layout="constrained")
    by_step, by_value = figure.subplots(1, 2)
    metric = report.ranking.metric or "(no checkpoint metric)"
    tag = next((row.metric_tag for row in report.rows if row.metric_tag), metric)
    direction = "higher" if report.ranking.higher_is_better else "lower"
    # Past a handful of jobs, colours stop telling them apart: the others go grey, unlabelled.
    many = len(report.rows) > MANY_JOBS
    for row in report.rows:
        if row.series.steps:
            by_step.plot(
                row.series.steps,
                row.series.values,
                marker="o" if len(row.series.steps) < 30 and not many else None,
                linewidth=3 if row.best else 1,
                alpha=1 if row.best else 0.6,
                zorder=3 if row.best else 2,
                color="tab:orange" if row.best and many else "0.6" if many else None,
                label=_label(row) + " best" if row.best else None if many else _label(row),
            )
    by_step.set(xlabel="step", ylabel=tag, title=f"{metric} ({direction} is better)")
    if any(row.series.steps for row in report.rows):
        by_step.legend(fontsize="small")
    _best_and_final(report, by_value, tag)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    path = out / REPORT_PNG
    write_atomically(path, buffer.getvalue())
    return path


def _best_and_final(report: Report, axes: Axes, tag: str) -> None:
    from matplotlib.ticker import NullFormatter

    key = numeric_sweep(report)
    higher = report.ranking.higher_is_better
    rows = [r for r in report.rows if r.series.values]
    x = {r.job: float(r.swept[key]) if key else i for i, r in enumerate(report.rows)}
    rows.sort(key=lambda r: x[r.job])
    best = [point[1] for r in rows if (point := r.best_point(higher))]
    axes.plot([x[r.job] for r in rows], best, "o-", label="best")
    axes.plot([x[r.job] for r in rows], [r.last for r in rows], "s--", label="final")
    for row, value in zip(rows, best, strict=True):
        if row.best:
            axes.plot([x[row.job]], [value], "*", markersize=18, color="gold", label="best job")
        if row.status != "succeeded":
            # Left of and below the point, so a job at the plot's edge keeps its label inside.
            axes.annotate(
                row.status,
                (x[row.job], value),
                textcoords="offset points",
                xytext=(-6, -4),
                ha="right",
                va="top",
            )
    if key:
        values = [x[r.job] for r in report.rows]
        if min(values) > 0 and max(values) / min(values) >= 10:
            axes.set_xscale("log")
            # The swept values themselves as ticks, written plainly (not 3x10^-2).
            axes.set_xticks(sorted(set(values)), [f"{v:g}" for v in sorted(set(values))])
            axes.xaxis.set_minor_formatter(NullFormatter())  # no minor tick labels
        axes.set(xlabel=key)
    else:
        labels = [f"job {r.job}" for r in report.rows]
        axes.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > MANY_JOBS else 0)
        axes.set(xlabel="job")
    axes.set(ylabel=tag, title="best and final value per job")
    if rows:
        axes.legend(fontsize="small")
