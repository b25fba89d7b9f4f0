"""io/jsonl: the one JSONL reader, and the row count slurm/node_job shares with the preflight."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nemotron_align.errors import LaunchRejected
from nemotron_align.io.jsonl import count_rows, lines, read_json_lines


def test_rows_skip_blank_lines_and_keep_file_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n  \n{"a": 2}\n["x"]')
    assert count_rows(path) == 3
    assert list(read_json_lines(path)) == [(1, {"a": 1}), (4, {"a": 2}), (5, ["x"])]


def test_bad_json_is_refused_at_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{oops\n')
    with pytest.raises(LaunchRejected) as err:
        list(read_json_lines(path))
    assert err.value.where == f"{path}:3"
    assert err.value.problem.startswith("is not valid JSON (")
    assert err.value.fix == "write one JSON object per line"


def test_a_byte_range_yields_whole_lines_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"aa\nbbb\ncc\n")
    assert list(lines(path, 3, 7)) == [b"bbb\n"]
    assert list(lines(path, 3)) == [b"bbb\n", b"cc\n"]
    assert list(lines(path, 7, 7)) == []


def test_imports_only_the_standard_library() -> None:
    """slurm/node_job counts rows with it on nodes where nothing of ours is installed."""
    root = Path(__file__).resolve().parents[1]
    script = (
        f"import sys; sys.path.insert(0, {str(root)!r}); before = set(sys.modules); "
        "import nemotron_align.io.jsonl; "
        "import json; "
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, check=True
    )
    third_party = set(json.loads(done.stdout)) - set(sys.stdlib_module_names) - {"nemotron_align"}
    assert not third_party, third_party
