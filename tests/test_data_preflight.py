"""The launch checks local training data row by row before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli


def test_bad_preference_rows_reject_the_launch(tmp_path: Path) -> None:
    rows = tmp_path / "pairs.jsonl"
    rows.write_text(
        json.dumps({"prompt": "q", "chosen": "same", "rejected": "same"})
        + "\n"
        + json.dumps({"prompt": "q2", "chosen": "", "rejected": "b"})
        + "\n"
        + "{not json\n"
    )
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "algo=dpo",
            "data=preference_jsonl",
            f"data.train.data_path={rows}",
            f"data.validation.data_path={rows}",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"error: {rows}:1: `chosen` and `rejected` are the same text" in result.stderr
    assert f"error: {rows}:2: `chosen` is ''" in result.stderr
    assert f"error: {rows}:3: not valid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_response_rows_follow_the_configured_keys(tmp_path: Path) -> None:
    rows = tmp_path / "problems.jsonl"
    rows.write_text(json.dumps({"question": "2+2?", "answer": "4"}) + "\n")
    base = [
        "algo=rlvr",
        "data=response_jsonl",
        f"data.train.data_path={rows}",
        f"data.validation.data_path={rows}",
        "grpo.num_prompts_per_step=1",
        "launch.dry_run=true",
    ]
    wrong = run_cli([*base, f"hydra.run.dir={tmp_path / 'a'}"], cwd=tmp_path)
    assert wrong.returncode == 2 and f"{rows}:1" in wrong.stderr and "input" in wrong.stderr
    right = run_cli(
        [
            *base,
            "data.default.input_key=question",
            "data.default.output_key=answer",
            f"hydra.run.dir={tmp_path / 'b'}",
        ],
        cwd=tmp_path,
    )
    assert right.returncode == 0, right.stderr


def test_missing_data_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = run_cli(
        [
            "algo=dpo",
            "data=preference_jsonl",
            f"data.train.data_path={missing}",
            f"data.validation.data_path={missing}",
            "launch.dry_run=true",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"error: data.train.data_path: {missing} does not exist" in result.stderr
