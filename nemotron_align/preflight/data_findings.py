"""What the data check finds in one byte range of a file, and those findings merged into one
report in file order, duplicate prompts resolved across ranges."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from nemotron_align.preflight.data_report import (
    DUPLICATE_PROMPT,
    NO_ROWS,
    WARNING_CHECKS,
    DataReport,
    Kind,
    Problem,
)

# Distinct prompts tracked per process for duplicate counting (~120 bytes each): keeps memory
# constant whatever the file size; prompts past it are not compared, and the report says so.
MAX_TRACKED_PROMPTS = 250_000


@dataclass
class RangeFindings:
    """What one process found in its byte range; line numbers are relative to the range."""

    path: str
    max_reported: int
    lines: int = 0
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Duplicate prompts are rendered after merging, once each first occurrence is known.
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    first_seen: dict[int, int] = field(default_factory=dict)
    untracked_prompts: int = 0

    def add(self, line: int, check: str, problem: str, fix: str) -> None:
        self.counts[check] += 1
        shown = self.warnings if check in WARNING_CHECKS else self.errors
        if len(shown) < self.max_reported:
            shown.append(Problem(self.path, line, check, problem, fix))

    def see_prompt(self, digest: int, line: int) -> None:
        first = self.first_seen.get(digest)
        if first is None:
            if len(self.first_seen) >= MAX_TRACKED_PROMPTS:
                self.untracked_prompts += 1
                return
            self.first_seen[digest] = first = line
        if first != line:
            self.counts[DUPLICATE_PROMPT] += 1
            if len(self.duplicates) < self.max_reported:
                self.duplicates.append((line, first))


def merge_findings(
    path: str,
    kind: Kind,
    size: int,
    parts: list[RangeFindings],
    max_reported: int,
    notes: list[str],
) -> DataReport:
    """One report from the findings of consecutive ranges, parts[0] first."""
    counts: Counter[str] = Counter()
    errors: list[Problem] = []
    warnings: list[Problem] = []
    # digest -> line of the prompt's first occurrence in the file; the first range's own dict.
    first_seen = parts[0].first_seen
    offset = 0
    for i, part in enumerate(parts):
        counts.update(part.counts)
        errors += [replace(p, line=p.line + offset) for p in part.errors]
        warnings += [replace(p, line=p.line + offset) for p in part.warnings]
        # A prompt first seen in this range may have appeared in an earlier one.
        earlier = _seen_earlier(part, first_seen, offset, share=i < len(parts) - 1) if i else {}
        counts[DUPLICATE_PROMPT] += len(earlier)
        warnings += _duplicate_warnings(part, earlier, offset, max_reported)
        offset += part.lines
    rows = sum(p.rows for p in parts)
    notes += _untracked_notes(parts)
    if not rows:
        counts[NO_ROWS] += 1
        errors.append(
            Problem(path, 0, NO_ROWS, "has no rows", "point the data path at a non-empty file")
        )
    return DataReport(
        path=path,
        kind=kind,
        bytes=size,
        rows=rows,
        counts=dict(+counts),
        errors=sorted(errors, key=lambda p: p.line)[:max_reported],
        warnings=sorted(warnings, key=lambda p: p.line)[:max_reported],
        notes=notes,
    )


def _seen_earlier(
    part: RangeFindings, first_seen: dict[int, int], offset: int, share: bool
) -> dict[int, int]:
    """File line -> earlier first line, for the prompts `part` saw first that an earlier range
    saw before; with `share`, its other prompts join `first_seen` for later ranges."""
    earlier: dict[int, int] = {}
    seen_here = part.first_seen
    for digest in seen_here.keys() & first_seen.keys():
        earlier[seen_here.pop(digest) + offset] = first_seen[digest]
    if share:
        for digest, line in seen_here.items():
            if len(first_seen) >= MAX_TRACKED_PROMPTS:
                break
            first_seen[digest] = line + offset
    return earlier


def _duplicate_warnings(
    part: RangeFindings, earlier: dict[int, int], offset: int, max_reported: int
) -> list[Problem]:
    duplicates = [(line + offset, first + offset) for line, first in part.duplicates]
    duplicates = [(line, earlier.get(first, first)) for line, first in duplicates]
    return [
        _duplicate_problem(part.path, line, first)
        for line, first in sorted(duplicates + list(earlier.items()))[:max_reported]
    ]


def _untracked_notes(parts: list[RangeFindings]) -> list[str]:
    untracked = sum(p.untracked_prompts for p in parts)
    if not untracked:
        return []
    return [
        f"duplicate prompts: {untracked:,} rows past the first {MAX_TRACKED_PROMPTS:,} "
        "distinct prompts of their part of the file were not compared (memory stays constant)"
    ]


def _duplicate_problem(path: str, line: int, first: int) -> Problem:
    return Problem(
        path,
        line,
        DUPLICATE_PROMPT,
        f"same prompt as line {first}",
        "fine for several pairs per prompt; otherwise remove the repeat, as each repeat weighs "
        "that prompt more in training",
    )
