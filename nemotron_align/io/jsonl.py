"""JSON Lines files, read one way: as bytes, line by line, a blank line being no row.

Standard library only: slurm/node_job counts rows with it on cluster nodes. The data check
(preflight/data_check) reads byte ranges of a file through `lines` and parses them with orjson for
speed; everything else reads whole files through `read_json_lines`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

from nemotron_align.errors import LaunchRejected

_BUFFER_BYTES = 1 << 20


def lines(path: str | os.PathLike[str], start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The lines of bytes [start, end) (end None: the whole file), newline included; start is
    at a line's start."""
    remaining = (os.path.getsize(path) if end is None else end) - start
    if remaining <= 0:
        return
    with open(path, "rb", buffering=_BUFFER_BYTES) as f:
        f.seek(start)
        for text in f:
            yield text
            remaining -= len(text)
            if remaining <= 0:
                return


def count_rows(path: str | os.PathLike[str]) -> int:
    """Non-blank lines of a JSONL file: the rows a dataset reader makes of it."""
    return sum(1 for text in lines(path) if text.strip())


def read_json_lines(path: str | os.PathLike[str]) -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line; a line that is not JSON is refused at its
    file:line."""
    for number, text in enumerate(lines(path), start=1):
        if not text.strip():
            continue
        try:
            value = json.loads(text)
        except ValueError as err:
            raise LaunchRejected(
                f"{os.fspath(path)}:{number}",
                f"is not valid JSON ({err})",
                "write one JSON object per line",
            ) from None
        yield number, value
