"""Local data paths made absolute against the launcher's cwd; Hub ids and NeMo-RL's own
prompt files left as written; the reader NeMo-RL picks by extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemotron_align.config.data_paths import absolute_data_paths, is_local_path
from nemotron_align.preflight.data_format import format_problem


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("org/name", False),
        ("nvidia/HelpSteer3", False),
        ("train.jsonl", True),
        ("data/train.parquet", True),
        ("./train", True),
        ("../train", True),
        ("~/train", True),
        ("/abs/train", True),
        ("here", True),  # exists in the cwd
    ],
)
def test_a_data_path_is_local_or_a_hub_id(value: str, local: bool, tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    assert is_local_path(value, tmp_path) is local


def test_local_paths_become_absolute_and_the_rest_stays(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("Answer briefly.")
    data = {
        "train": {"data_path": "train.jsonl", "prompt_file": "mine.txt"},
        "validation": {"data_path": "org/name", "system_prompt_file": "examples/prompts/cot.txt"},
        "default": {"data_path": "../up/val.jsonl", "prompt_file": None},
        "extra": [{"data_path": "~/x.jsonl"}],
        "shuffle": True,
    }
    absolute_data_paths(data, tmp_path)
    assert data["train"] == {
        "data_path": str(tmp_path / "train.jsonl"),
        "prompt_file": str(tmp_path / "mine.txt"),
    }
    # A Hub id, and a prompt file of the NeMo-RL checkout, which NeMo-RL reads from its root.
    assert data["validation"] == {
        "data_path": "org/name",
        "system_prompt_file": "examples/prompts/cot.txt",
    }
    assert data["default"]["data_path"] == str(tmp_path.parent / "up" / "val.jsonl")
    assert data["extra"][0]["data_path"] == str(Path.home() / "x.jsonl")


@pytest.mark.parametrize(
    ("name", "body", "readable"),
    [
        ("a.jsonl", b"{}\n", True),
        ("a.json", b"[{}]", True),
        ("a.csv", b"prompt,chosen,rejected\nq,a,b\n", True),
        ("a.parquet", b"PAR1....PAR1", True),
        ("a.csv", b'\xef\xbb\xbf{"prompt": "q"}\n', False),
        ("a.txt", b'{"prompt": "q"}\n', False),
        ("a", b'{"prompt": "q"}\n', False),
    ],
)
def test_nemo_rl_reads_by_extension(name: str, body: bytes, readable: bool, tmp_path: Path) -> None:
    path = tmp_path / name
    path.write_bytes(body)
    problem = format_problem("data.train.data_path", path, ("prompt", "chosen", "rejected"))
    assert (problem is None) is readable
    if problem:
        assert "a.jsonl" in problem.fix
