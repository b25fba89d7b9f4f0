"""`python -m nemotron_align.status <run or sweep folder>` (console script
`nemotron-align-status`): per job, its recorded status and exit code, Slurm's state, the last
step and when its last metric was logged, the last checkpoint. `--watch` refreshes; `--json`
prints the facts. A sweep's sweep.json gets the same facts under each row's "progress"."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from nemotron_align.errors import exit_status

DEFAULT_WATCH_S = 10.0


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text}: give a number of seconds above 0")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nemotron_align.status",
        description="Where each job of a run or sweep folder stands.",
    )
    parser.add_argument("folder", type=Path, help="a run folder or a sweep (multirun) folder")
    parser.add_argument(
        "--watch",
        nargs="?",
        const=DEFAULT_WATCH_S,
        type=_seconds,
        metavar="SECONDS",
        help=f"refresh every SECONDS (default {DEFAULT_WATCH_S:g}) until Ctrl-C",
    )
    parser.add_argument("--json", action="store_true", help="print the facts as JSON")
    args = parser.parse_args(argv)
    from nemotron_align.results.status_view import run

    return exit_status(lambda: run(args.folder, args.json, args.watch))


if __name__ == "__main__":
    sys.exit(main())
