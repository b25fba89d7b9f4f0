"""What the data check found in one file: per-check counts and the first problems of each
severity, each with file:line, what was expected and how to fix it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from nemotron_align.errors import LaunchRejected

Kind = Literal["preference", "response", "nemo_gym"]

# Check names. Each problem counts under exactly one.
MALFORMED_JSON = "malformed_json"
NOT_OBJECT = "not_object"
BLANK_LINE = "blank_line"
NO_ROWS = "no_rows"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
EMPTY_FIELD = "empty_field"
CHOSEN_EQUALS_REJECTED = "chosen_equals_rejected"
BAD_MESSAGES = "bad_messages"
MISSING_AGENT_REF = "missing_agent_ref"
BAD_AGENT_REF = "bad_agent_ref"
UNKNOWN_AGENT = "unknown_agent"
DUPLICATE_PROMPT = "duplicate_prompt"
UNPARSEABLE_ANSWER = "unparseable_answer"
WARNING_CHECKS = frozenset({DUPLICATE_PROMPT, UNPARSEABLE_ANSWER})


@dataclass(frozen=True)
class Problem:
    """One problem in a row; `where`, `problem` and `fix` read as in LaunchRejected."""

    path: str
    line: int
    check: str
    problem: str
    fix: str

    @property
    def severity(self) -> Literal["error", "warning"]:
        return "warning" if self.check in WARNING_CHECKS else "error"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def render(self) -> str:
        return f"{self.severity}: {self.where}: {self.problem}\n  fix: {self.fix}"


@dataclass
class DataReport:
    path: str
    kind: Kind
    bytes: int
    rows: int
    # Problems per check name; a check that found nothing is absent.
    counts: dict[str, int]
    # The first `max_reported` errors and warnings, each in file order.
    errors: list[Problem]
    warnings: list[Problem]
    # What was not checked, and why.
    notes: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(n for check, n in self.counts.items() if check not in WARNING_CHECKS)

    @property
    def warning_count(self) -> int:
        return sum(n for check, n in self.counts.items() if check in WARNING_CHECKS)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def rejections(self) -> list[LaunchRejected]:
        """The errors shown, and how many more there are, as launch rejections."""
        found = [LaunchRejected(p.where, p.problem, p.fix) for p in self.errors]
        if self.error_count > len(self.errors):
            more = self.error_count - len(self.errors)
            found.append(
                LaunchRejected(
                    self.path,
                    f"{more:,} more errors not shown",
                    "fix the ones above, then check again",
                )
            )
        return found

    def render(self) -> str:
        lines = [
            f"{self.path}: {self.kind} data, {self.rows:,} rows, {self.bytes / 1e6:,.1f} MB: "
            f"{self.error_count:,} errors, {self.warning_count:,} warnings"
        ]
        for check, n in sorted(self.counts.items(), key=lambda kv: (kv[0] in WARNING_CHECKS, kv)):
            severity = "warning" if check in WARNING_CHECKS else "error"
            lines.append(f"  {severity:<7} {check:<24} {n:>10,}")
        for shown, total, severity in (
            (self.errors, self.error_count, "errors"),
            (self.warnings, self.warning_count, "warnings"),
        ):
            lines.extend(p.render() for p in shown)
            if total > len(shown):
                lines.append(f"({total - len(shown):,} more {severity} not shown)")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)
