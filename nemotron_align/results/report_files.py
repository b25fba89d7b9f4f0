"""A report as records: `report.json`, `report.csv` and the table printed on the console.

One record per job, the same fields everywhere: `job`, the swept keys (one column each),
`status`, `exit_code`, `steps` (the last step logged), `metric_last`, `metric_best`,
`metric_best_step`, the last value of each other validation tag (one column each, named by the
tag), `best_checkpoint`, `hf_export` (launch.export_hf's output) and `best` (the winning job).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.results.console import table_console
from nemotron_align.results.report_rows import Report, Row

REPORT_JSON = "report.json"
REPORT_CSV = "report.csv"
CSV_FIELDS = ("status", "exit_code", "steps", "metric_last", "metric_best", "metric_best_step")


def validation_tags(report: Report) -> list[str]:
    return sorted({tag for row in report.rows for tag in row.validation})


def record(row: Row, report: Report) -> dict[str, Any]:
    best = row.best_point(report.ranking.higher_is_better)
    return {
        "job": row.job,
        "folder": str(row.folder),
        "swept": row.swept,
        "status": row.status,
        "exit_code": row.exit_code,
        "steps": row.steps,
        "metric_tag": row.metric_tag,
        "metric_last": row.last,
        "metric_best": best[1] if best else None,
        "metric_best_step": best[0] if best else None,
        "validation": row.validation,
        "best_checkpoint": str(row.best_checkpoint) if row.best_checkpoint else None,
        "hf_export": row.hf_export,
        "best": row.best,
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "folder": str(report.folder),
        "kind": report.kind,
        "metric": report.ranking.metric,
        "higher_is_better": report.ranking.higher_is_better,
        "swept_keys": report.swept_keys,
        "best_job": report.best_row.job if report.best_row else None,
        "jobs": [record(row, report) for row in report.rows],
    }


def csv_rows(report: Report) -> list[dict[str, Any]]:
    tags = validation_tags(report)
    rows = []
    for row in report.rows:
        rec = record(row, report)
        rows.append(
            {
                "job": row.job,
                **{key: row.swept.get(key, "") for key in report.swept_keys},
                **{key: rec[key] for key in CSV_FIELDS},
                **{tag: row.validation.get(tag) for tag in tags},
                "best_checkpoint": rec["best_checkpoint"],
                "hf_export": row.hf_export or "",
                "best": row.best,
            }
        )
    return rows


def write_report_files(
    report: Report, out: Path, study: dict[str, Any] | None = None
) -> list[Path]:
    """report.json (with a `study` section for a study folder) and report.csv."""
    json_path, csv_path = out / REPORT_JSON, out / REPORT_CSV
    data = report_json(report) | ({"study": study} if study is not None else {})
    write_atomically(json_path, json.dumps(data, indent=2) + "\n")
    rows = csv_rows(report)
    text = io.StringIO()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    write_atomically(csv_path, text.getvalue())
    return [json_path, csv_path]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def print_table(report: Report) -> None:
    from rich.table import Table

    console = table_console()
    direction = "higher" if report.ranking.higher_is_better else "lower"
    metric = report.ranking.metric
    ranked = f"{metric}, {direction} is better" if metric else "no checkpointing.metric_name"
    table = Table(title=f"{report.folder} ({report.kind}): {ranked}")
    tags = validation_tags(report)
    # Tags break at their "/" so that many validation columns still leave room for the path.
    headers = ["job", *report.swept_keys, "status", "steps", "last", "best (step)"]
    for header in [*headers, *(tag.replace("/", "/\n") for tag in tags)]:
        table.add_column(header, overflow="fold")
    table.add_column("best checkpoint", no_wrap=True)
    exported = any(row.hf_export for row in report.rows)
    if exported:
        table.add_column("HF export", no_wrap=True)
    for row in report.rows:
        best = row.best_point(report.ranking.higher_is_better)
        checkpoint = row.best_checkpoint
        table.add_row(
            f"* {row.job}" if row.best else row.job,
            *(row.swept.get(key, "") for key in report.swept_keys),
            row.status if row.exit_code in (None, 0) else f"{row.status} ({row.exit_code})",
            "" if row.steps is None else str(row.steps),
            _number(row.last),
            f"{best[1]:.4g} ({best[0]})" if best else "",
            *(_number(row.validation.get(tag)) for tag in tags),
            _relative(checkpoint, report.folder) if checkpoint else "",
            *([_relative(Path(row.hf_export), report.folder) if row.hf_export else ""] * exported),
            style="bold green" if row.best else None,
        )
    console.print(table)
    if report.best_row:
        console.print(f"best: job {report.best_row.job} (marked *)")


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder.resolve()))
    except ValueError:
        return str(path)
