"""The bad-input catalogue (README), bad data files and out-of-bounds sizes: each exits with
status 2, names the file and line or key, says how to fix it, and writes no nemo_rl.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from bad_input_support import (
    GOOD_PAIR,
    STAND_IN_GYM,
    assert_refused,
    no_secret_anywhere,  # noqa: F401  (autouse: every test here)
)
from conftest import run_cli

GOOD_GYM = json.dumps(
    {
        "responses_create_params": {"input": [{"role": "user", "content": "2+2?"}]},
        "agent_ref": {"type": "responses_api_agents", "name": "math_with_judge_simple_agent"},
    }
)


def _dpo_file(name: str) -> list[str]:
    # Relative on purpose: checked, and written, against the launcher's working directory.
    return [
        "algo=dpo",
        "data=preference_jsonl",
        f"data.train.data_path={name}",
        f"data.validation.data_path={name}",
    ]


def _gym_file(name: str) -> list[str]:
    return ["algo=grpo_gym", "data=tiny", f"data.train.data_path={name}"]


# id → (file name, its bytes, arguments, expected pieces); {tmp} is the test's folder and cwd.
FILE_CATALOGUE = {
    # Paths: relative paths resolve against the launcher's cwd; NeMo-RL picks its reader by
    # the extension.
    "relative data path missing": (
        "other.jsonl",
        GOOD_PAIR.encode(),
        _dpo_file("nope.jsonl"),
        ["data.train.data_path: {tmp}/nope.jsonl does not exist"],
    ),
    "JSON Lines named .txt": (
        "pairs.txt",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.txt"),
        [
            "data.train.data_path: {tmp}/pairs.txt: NeMo-RL loads a .txt file as plain text",
            "no row has `prompt`, `chosen`, `rejected`",
            "name the file pairs.jsonl",
        ],
    ),
    "JSON Lines named .csv": (
        "pairs.csv",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.csv"),
        ["{tmp}/pairs.csv holds JSON Lines, but NeMo-RL reads a .csv file with its csv reader"],
    ),
    "CSV without the key columns": (
        "pairs.csv",
        b"prompt,chosen\nq,a\n",
        _dpo_file("pairs.csv"),
        ["{tmp}/pairs.csv: the CSV header has no column rejected"],
    ),
    "not Parquet named .parquet": (
        "pairs.parquet",
        b"prompt\tchosen\n",
        _dpo_file("pairs.parquet"),
        ["{tmp}/pairs.parquet is not a Parquet file"],
    ),
    "data file with an unknown extension": (
        "pairs.data",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.data"),
        ["NeMo-RL picks a file's reader by its extension and has none for the extension .data"],
    ),
    "BOM in preference data": (
        "pairs.jsonl",
        b"\xef\xbb\xbf" + GOOD_PAIR.encode() + b"\n",
        _dpo_file("pairs.jsonl"),
        ["{tmp}/pairs.jsonl:1: starts with a UTF-8 byte-order mark (BOM)", "without a BOM"],
    ),
    # NeMo-Gym rows get the same file-level checks as DPO/RLVR rows.
    "empty Gym file": (
        "gym.jsonl",
        b"",
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl: has no rows"],
    ),
    "BOM in Gym data": (
        "gym.jsonl",
        b"\xef\xbb\xbf" + GOOD_GYM.encode() + b"\n",
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: starts with a UTF-8 byte-order mark (BOM)"],
    ),
    "invalid UTF-8 in Gym data": (
        "gym.jsonl",
        GOOD_GYM.encode() + b'\n{"question": "caf\xe9"}\n',
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:2: not valid UTF-8 (byte 0xe9 at column 18)", "re-encode"],
    ),
    "JSON array as Gym data": (
        "gym.jsonl",
        f"[\n{GOOD_GYM},\n{GOOD_GYM}\n]\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: not valid JSON", "the file looks like one JSON array"],
    ),
    "blank line in Gym data": (
        "gym.jsonl",
        f"{GOOD_GYM}\n\n{GOOD_GYM}\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:2: a blank line; NeMo-RL's NeMo-Gym dataset parses every line"],
    ),
    "text after the object in Gym data": (
        "gym.jsonl",
        f"{GOOD_GYM} trailing\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: not valid JSON (unexpected content after document"],
    ),
}


@pytest.mark.parametrize("entry", list(FILE_CATALOGUE))
def test_catalogue_file_entry(entry: str, tmp_path: Path) -> None:
    name, body, args, expected = FILE_CATALOGUE[entry]
    (tmp_path / name).write_bytes(body)
    run_dir = tmp_path / "run"
    result = run_cli(
        [*args, "launch.dry_run=true", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
    )
    assert_refused(result, [piece.format(tmp=tmp_path) for piece in expected])
    assert not (run_dir / "nemo_rl.yaml").exists()


BOUNDS = {
    "prompts per step past int32": (
        ["algo=rlvr", "data=tiny", "grpo.num_prompts_per_step=100000000000000000000"],
        [
            "grpo.num_prompts_per_step: is 100,000,000,000,000,000,000; it must be at most "
            "2**31 - 1 = 2,147,483,647",
            "set grpo.num_prompts_per_step to 2,147,483,647 or less",
        ],
    ),
    "sequence length past int32": (
        ["algo=dpo", "data=tiny", "policy.max_total_sequence_length=4294967296"],
        ["policy.max_total_sequence_length: is 4,294,967,296; it must be at most 2**31 - 1"],
    ),
    "rollouts per step past int32": (
        [
            "algo=rlvr",
            "data=tiny",
            "grpo.num_prompts_per_step=65536",
            "grpo.num_generations_per_prompt=65536",
        ],
        [
            "grpo.num_prompts_per_step: x grpo.num_generations_per_prompt = 65,536 x 65,536 = "
            "4,294,967,296 rollouts per step; it must be at most 2**31 - 1",
        ],
    ),
    "any integer past int64": (
        ["algo=rlvr", "data=tiny", "grpo.seed=100000000000000000000"],
        ["grpo.seed: is 100,000,000,000,000,000,000; it must be at most 2**63 - 1"],
    ),
}


@pytest.mark.parametrize("entry", list(BOUNDS))
def test_catalogue_bounds_entry(entry: str, tmp_path: Path) -> None:
    args, expected = BOUNDS[entry]
    run_dir = tmp_path / "run"
    result = run_cli([*args, "launch.dry_run=true", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists()


def test_relative_data_path_is_checked_and_written_against_the_launcher_cwd(
    tmp_path: Path,
) -> None:
    """NeMo-RL runs from its own root: a relative path in nemo_rl.yaml would name another
    file."""
    (tmp_path / "pairs.jsonl").write_text(GOOD_PAIR + "\n")
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            *_dpo_file("pairs.jsonl"),
            "policy.train_global_batch_size=1",
            "policy.train_micro_batch_size=1",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())["data"]
    assert data["train"]["data_path"] == str(tmp_path / "pairs.jsonl")
    assert data["validation"]["data_path"] == str(tmp_path / "pairs.jsonl")
