"""Local data paths made absolute against the launcher's cwd; Hub ids and NeMo-RL's own
prompt files left as written, and a recipe's relative paths too, checked under the NeMo-RL root;
the reader NeMo-RL picks by extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemotron_align.config.data_paths import absolute_data_paths, is_local_path
from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.gym.rows import check_rows
from nemotron_align.preflight.data import check_data
from nemotron_align.preflight.data_format import format_problem
from nemotron_align.preflight.pairing import Trainer


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


def test_a_recipes_relative_paths_stay_unless_they_are_the_users(tmp_path: Path) -> None:
    (tmp_path / "mine.jsonl").write_text("{}\n")
    data = {
        "train": {"data_path": "3rdparty/Gym-workspace/train.jsonl", "prompt_file": "p.txt"},
        "validation": {"data_path": "mine.jsonl", "system_prompt_file": "./s.txt"},
        "default": {"data_path": "~/v.jsonl"},
    }
    absolute_data_paths(data, tmp_path, recipe=True)
    # Read by NeMo-RL from its root, as in NeMo-RL's own run of the recipe.
    assert data["train"] == {
        "data_path": "3rdparty/Gym-workspace/train.jsonl",
        "prompt_file": "p.txt",
    }
    # The user's own: a file here, or a path marked as local.
    assert data["validation"] == {
        "data_path": str(tmp_path / "mine.jsonl"),
        "system_prompt_file": str(tmp_path / "s.txt"),
    }
    assert data["default"]["data_path"] == str(Path.home() / "v.jsonl")


def _preference_config(path: str) -> dict:
    split = {"dataset_name": "BinaryPreferenceDataset", "data_path": path}
    return {
        "data": {"train": dict(split), "validation": dict(split)},
        "policy": {"train_global_batch_size": 1},
    }


def test_a_root_relative_data_file_is_checked_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "nemo-rl"
    (root / "data").mkdir(parents=True)
    (root / "data" / "pairs.jsonl").write_text((TINY_DATA_DIR / "dpo_train.jsonl").read_text())
    errors, warnings = check_data(_preference_config("data/pairs.jsonl"), Trainer.dpo, root)
    assert errors == [] and not any("not on this machine" in w for w in warnings)
    errors, _ = check_data(_preference_config("data/gone.jsonl"), Trainer.dpo, root)
    assert [e.render().splitlines()[0] for e in errors] == [
        f"error: data.{split}.data_path: {root / 'data' / 'gone.jsonl'} does not exist"
        for split in ("train", "validation")
    ]


def test_a_root_relative_prompt_file_is_checked_under_the_root(tmp_path: Path) -> None:
    config = _preference_config("org/name")  # a Hub dataset: not a file
    config["data"]["train"]["prompt_file"] = "examples/prompts/nope.txt"
    errors, _ = check_data(config, Trainer.dpo, tmp_path)
    assert [e.where for e in errors] == ["data.train.prompt_file"]
    assert str(tmp_path / "examples" / "prompts" / "nope.txt") in errors[0].problem
    # Without a recipe's root (our own data options): left to NeMo-RL, as before.
    assert check_data(config, Trainer.dpo)[0] == []


def test_a_root_not_on_this_machine_is_a_warning(tmp_path: Path) -> None:
    root = tmp_path / "opt" / "nemo-rl"
    config = _preference_config("data/pairs.jsonl")
    errors, warnings = check_data(config, Trainer.dpo, root)
    assert errors == []
    assert warnings == [
        f"warning: data.{split}.data_path: data/pairs.jsonl is read from the NeMo-RL root "
        f"{root}, which is not on this machine; the file is not checked here"
        for split in ("train", "validation")
    ]
    # Gym rows likewise: nothing to read here, nothing refused.
    assert check_rows({"train": {"data_path": "data/rows.jsonl"}}, None, root) == []


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
