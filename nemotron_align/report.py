"""`python -m nemotron_align.report <run or sweep folder>` (console script
`nemotron-align-report`): one row per job, printed as a table and written as report.json,
report.csv and report.png in the folder (or --out); for a study folder also the study's best
trial and Optuna's views (nemotron_align.results.report_study)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nemotron_align.errors import LaunchRejected, exit_status


def report(folder: Path, out: Path, metric: str | None, higher: bool | None, plot: bool) -> None:
    from nemotron_align.results.report_files import print_table, write_report_files
    from nemotron_align.results.report_rows import build_report
    from nemotron_align.results.report_study import (
        print_study,
        read_study,
        study_json,
        write_views,
    )

    built = build_report(folder, metric, higher)
    study = read_study(folder)
    if built.ranking.metric and not any(row.metric_tag for row in built.rows):
        print(f"note: no job has logged {built.ranking.metric} yet", file=sys.stderr)
    print_table(built)
    if study:
        print_study(study, built)
    try:
        pictures = []
        if plot:
            from nemotron_align.results.report_plot import write_plot

            pictures = [write_plot(built, out), *(write_views(study, out) if study else [])]
        written = write_report_files(built, out, study_json(study) if study else None)
        written += pictures
    except OSError as err:
        raise LaunchRejected(
            str(out), f"cannot write the report there ({err.strerror})", "pass --out <folder>"
        ) from err
    print("wrote " + ", ".join(str(p) for p in written))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nemotron_align.report",
        description="Report a run or a sweep: per job its swept values, status, steps, metrics "
        "and best checkpoint; the best job marked.",
    )
    parser.add_argument("folder", type=Path, help="a run folder or a sweep folder")
    parser.add_argument(
        "--metric",
        help="rank by this TensorBoard tag or checkpointing.metric_name "
        "(default: the jobs' checkpointing.metric_name)",
    )
    direction = parser.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher", action="store_true", default=None)
    direction.add_argument("--lower-is-better", dest="higher", action="store_false")
    parser.add_argument("--out", type=Path, help="where the report files go (default: folder)")
    parser.add_argument(
        "--no-plot", dest="plot", action="store_false", help="skip report.png (and a study's PNGs)"
    )
    args = parser.parse_args(argv)
    return exit_status(
        lambda: report(args.folder, args.out or args.folder, args.metric, args.higher, args.plot)
    )


if __name__ == "__main__":
    sys.exit(main())
