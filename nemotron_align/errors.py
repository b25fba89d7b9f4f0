"""Errors that reject a launch: printed without a traceback, exit status 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

EXIT_REJECTED = 2


def not_a_file(path: str | Path) -> str:
    """Why `path` is not a file to read, in words: a folder is not reported as missing."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder, not a file"
    if path.exists():
        return f"{path} is not a regular file"
    return f"{path} does not exist"


class LaunchRejected(Exception):
    """A problem the user can fix. `where` names the config key or file:line."""

    def __init__(self, where: str, problem: str, fix: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where = where
        self.problem = problem
        self.fix = fix

    def render(self) -> str:
        return f"error: {self.where}: {self.problem}\n  fix: {self.fix}"


class LaunchRejectedMany(LaunchRejected):
    """Several problems found at once; each is reported."""

    def __init__(self, problems: list[LaunchRejected]) -> None:
        super().__init__(problems[0].where, problems[0].problem, problems[0].fix)
        self.problems = problems

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


def exit_status(run: Callable[[], object]) -> int:
    """A module entry point's exit status: 0, or 2 with the rejection printed (no traceback)."""
    try:
        run()
    except LaunchRejected as err:
        print(err.render(), file=sys.stderr)
        return EXIT_REJECTED
    return 0
