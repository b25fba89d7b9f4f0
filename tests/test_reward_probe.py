"""The reward probe as run: its modes, its CLI and the launch that runs it before writing
anything."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import run_cli
from reward_probe_support import (
    GYM_ROWS,
    RLVR_ROWS,
    UNSCORABLE_EXPECTED,
    needs_math_verify,
    write_jsonl,
)

from nemotron_align.config.launch_schema import ProbeMode
from nemotron_align.errors import LaunchRejected
from nemotron_align.probe.reward import main, run_probe


def test_gym_mode_with_no_gym_interpreter_is_refused(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-python")
    with pytest.raises(LaunchRejected) as err:
        run_probe([RLVR_ROWS], mode=ProbeMode.gym, gym_python=missing)
    assert missing in err.value.problem
    assert "nemotron-align[gym]" in err.value.fix


# ---- in-process math-verify


@needs_math_verify
def test_math_verify_scores_good_one_and_wrong_zero_on_tiny_data() -> None:
    out = io.StringIO()
    result = run_probe([GYM_ROWS, RLVR_ROWS], n=8, mode=ProbeMode.math_verify, out=out)
    assert result.ok, out.getvalue()
    assert len(result.outcomes) == 16
    assert result.mode.startswith("in-process math-verify")
    assert all(o.good.reward == 1.0 and o.wrong.reward == 0.0 for o in result.outcomes)
    assert "16/16 rows ok" in out.getvalue()


@needs_math_verify
def test_math_verify_unscorable_answer_makes_the_cli_refuse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"input": "Q1?", "output": "4"}, {"input": "Q2?", "output": UNSCORABLE_EXPECTED}],
    )
    assert main([str(path), "--mode", "math-verify"]) == 2
    captured = capsys.readouterr()
    assert "FAIL" in captured.out
    assert f"error: {path}:2: reward probe (in-process math-verify" in captured.err
    assert "fix: write the expected answer" in captured.err


@needs_math_verify
def test_launch_runs_the_probe_before_writing_anything(tmp_path: Path) -> None:
    ok_dir = tmp_path / "ok"
    ok = run_cli(
        [
            "algo=rlvr",
            "data=tiny",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            "launch.reward_probe_rows=3",
            f"hydra.run.dir={ok_dir}",
        ],
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert "reward probe: in-process math-verify" in ok.stderr and "6/6 rows ok" in ok.stderr

    bad_rows = tmp_path / "bad.jsonl"
    bad_rows.write_text(json.dumps({"input": "Q?", "output": UNSCORABLE_EXPECTED}) + "\n")
    bad_dir = tmp_path / "bad"
    bad = run_cli(
        [
            "algo=rlvr",
            "data=response_jsonl",
            f"data.train.data_path={bad_rows}",
            f"data.validation.data_path={bad_rows}",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            f"hydra.run.dir={bad_dir}",
        ],
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert f"{bad_rows}:1" in bad.stderr and "Traceback" not in bad.stderr
    assert not bad_dir.exists()


def test_probe_refused_for_dpo(tmp_path: Path) -> None:
    result = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            "launch.reward_probe=true",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2 and "DPO has no reward to probe" in result.stderr
