"""What NeMo-RL's reader makes of a local data file, picked by its extension.

NeMo-RL's load_dataset_from_path chooses the `datasets` reader by the file's extension
(data_paths.READERS): `.jsonl` and `.json` are read as JSON and get data_check's row check here.
A JSON Lines file named otherwise is read as plain text, CSV or Parquet and never yields the
fields its rows carry; a local file with any other extension is tried as a Hugging Face dataset
id and fails.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from pathlib import Path

from nemotron_align.config.data_paths import READERS
from nemotron_align.errors import LaunchRejected

_HEAD_BYTES = 1 << 16
_BOM = b"\xef\xbb\xbf"


def reader_of(path: Path) -> str | None:
    """The `datasets` reader NeMo-RL loads `path` with; None: it tries the Hub instead."""
    return READERS.get(path.suffix.lower())


def format_problem(key: str, path: Path, columns: Collection[str]) -> LaunchRejected | None:
    """Why NeMo-RL's reader for `path` cannot give rows with `columns`; None when it can, as
    far as can be told without reading the rows (JSON files are checked row by row next)."""
    reader = reader_of(path)
    if reader == "json":
        return None
    jsonl = path.with_suffix(".jsonl").name
    if reader is None:
        named = f"the extension {path.suffix}" if path.suffix else "a file without an extension"
        return LaunchRejected(
            key,
            f"{path}: NeMo-RL picks a file's reader by its extension and has none for {named}, "
            "so it would try the path as a Hugging Face dataset id and fail",
            f"write JSON Lines and name the file {jsonl}",
        )
    if reader == "text":
        return LaunchRejected(
            key,
            f"{path}: NeMo-RL loads a .txt file as plain text, one `text` field per line, so no "
            f"row has {', '.join(f'`{c}`' for c in columns)}",
            f"write JSON Lines and name the file {jsonl}",
        )
    return _content_problem(key, path, reader, columns)


def _content_problem(
    key: str, path: Path, reader: str, columns: Collection[str]
) -> LaunchRejected | None:
    """Why the head of a file NeMo-RL reads as CSV, Parquet or Arrow cannot give `columns`."""
    jsonl = path.with_suffix(".jsonl").name
    with path.open("rb") as f:
        head = f.read(_HEAD_BYTES)
    if head.removeprefix(_BOM).lstrip().startswith(b"{"):
        return LaunchRejected(
            key,
            f"{path} holds JSON Lines, but NeMo-RL reads a {path.suffix} file with its {reader} "
            "reader",
            f"rename it to {jsonl}",
        )
    if reader == "parquet" and not head.startswith(b"PAR1"):
        return LaunchRejected(
            key,
            f"{path} is not a Parquet file (no PAR1 header), but NeMo-RL reads a .parquet file "
            "as Parquet",
            f"write it as Parquet, or as JSON Lines named {jsonl}",
        )
    if reader == "csv":
        first = head.removeprefix(_BOM).decode(errors="replace").splitlines()[:1]
        header = next(csv.reader(first), [])
        missing = [c for c in columns if c not in header]
        if missing:
            return LaunchRejected(
                key,
                f"{path}: the CSV header has no column {', '.join(missing)}; NeMo-RL reads each "
                "row's fields from the columns",
                "add the columns, or set the key settings to the columns the file has",
            )
    return None
