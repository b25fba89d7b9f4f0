"""A folder's status as a `rich` table (or JSON), once or refreshed until Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from nemotron_align.results.console import table_console
from nemotron_align.results.status_facts import FolderStatus, JobStatus, check_folder

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Show = Callable[[FolderStatus], None]


def age(seconds: float) -> str:
    """How long ago, in the largest units that say it: "45s ago", "3m ago", "2h 5m ago"."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s ago"
    if seconds < 3600:
        return f"{seconds // 60}m ago"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m ago"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h ago"


def swept(jobs: list[JobStatus]) -> dict[str, list[str]]:
    """Each job's overrides that not every job shares (all of them for a single job)."""
    lists = [j.job.overrides for j in jobs]
    shared = set.intersection(*map(set, lists)) if len(lists) > 1 else set()
    return {j.job.name: [o for o in j.job.overrides if o not in shared] for j in jobs}


def table(status: FolderStatus, caption: str | None = None) -> Table:
    from rich.table import Table

    view = Table(
        title=f"{status.kind} {status.folder}  "
        f"({status.checked_at.astimezone():%Y-%m-%d %H:%M:%S %Z})",
        caption=caption,
    )
    for name in ("job", "overrides", "status", "exit", "slurm", "step", "last metric"):
        view.add_column(name, overflow="fold")
    view.add_column("last checkpoint", overflow="fold")
    overrides = swept(status.jobs)
    for one in status.jobs:
        progress = one.progress
        slurm = progress.slurm
        when = progress.last_metric_time
        checkpoint = progress.last_checkpoint
        view.add_row(
            one.job.name,
            " ".join(overrides[one.job.name]),
            one.job.status,
            "-" if one.job.exit_code is None else str(one.job.exit_code),
            f"{slurm['state']} {slurm['exit_code']}" if slurm else "-",
            "-" if progress.last_step is None else str(progress.last_step),
            age((status.checked_at - datetime.fromisoformat(when)).total_seconds())
            if when
            else "-",
            _shorter(Path(checkpoint["path"]), status.folder) if checkpoint else "-",
        )
    return view


def _shorter(path: Path, folder: Path) -> str:
    """The path from the folder shown in the title where it is inside it."""
    return str(path.relative_to(folder)) if path.is_relative_to(folder) else str(path)


def show_table(console: Console, caption: str | None = None) -> Show:
    def show(status: FolderStatus) -> None:
        console.clear()  # a no-op where the output is not a terminal: each refresh follows
        console.print(table(status, caption))
        for warning in status.warnings:
            print(f"warning: {warning}", file=sys.stderr)

    return show


def show_json(indent: int | None) -> Show:
    def show(status: FolderStatus) -> None:
        print(json.dumps(status.as_json(), indent=indent), flush=True)

    return show


def run(folder: Path, as_json: bool, every_s: float | None) -> None:
    """Show the folder's status once, or every `every_s` seconds until interrupted."""
    if as_json:
        # Refreshed: one JSON document per line.
        show = show_json(None if every_s else 2)
    else:
        caption = f"refreshed every {every_s:g} s; Ctrl-C stops" if every_s else None
        show = show_table(table_console(), caption)
    if not every_s:
        show(check_folder(folder))
        return
    ctrl_c = _CtrlC()
    signal.signal(signal.SIGINT, ctrl_c)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            show(check_folder(folder))
            ctrl_c.sleeping = True
            if ctrl_c.pressed:
                break
            time.sleep(every_s)
            ctrl_c.sleeping = False


class _CtrlC:
    """Ctrl-C ends a watch: at once while it sleeps, after the refresh in progress otherwise
    (raised inside a refresh, it would land in the gRPC call to TensorBoard's data server, whose
    shutdown can then hang). The handler takes no lock: it runs on the main thread, which may
    hold any lock when the signal comes. A second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.pressed = False
        self.sleeping = False

    def __call__(self, *_: object) -> None:
        if self.pressed or self.sleeping:
            raise KeyboardInterrupt
        self.pressed = True
