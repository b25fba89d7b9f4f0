"""A dry run loads nothing heavy that it does not use: each of these costs start-up time
(bench/launch_overhead.py) on every launch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ALGOS, CLI_TIMEOUT_S

from nemotron_align.preflight import data_rows

# The CLI as `python -m nemotron_align` runs it, writing the names of the modules it loaded.
LIST_MODULES = """
import atexit, json, runpy, sys
out = sys.argv.pop(1)
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv[0] = "nemotron_align"
runpy.run_module("nemotron_align", run_name="__main__", alter_sys=True)
"""
# Reward probing (math-verify and the sympy under it), Slurm submission (submitit), HTTP,
# NeMo-RL's schema (pydantic), the child process tools.
HEAVY = ("math_verify", "sympy", "submitit", "pydantic", "httpx", "urllib.request", "ctypes")


@pytest.mark.parametrize("algo", ALGOS)
def test_a_dry_run_loads_no_heavy_module(algo: str, tmp_path: Path) -> None:
    listed = tmp_path / "modules.json"
    args = [f"algo={algo}", "data=tiny", "launch.dry_run=true", f"hydra.run.dir={tmp_path}/run"]
    subprocess.run(
        [sys.executable, "-c", LIST_MODULES, str(listed), *args],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=CLI_TIMEOUT_S,
    )
    loaded = json.loads(listed.read_text())
    assert (tmp_path / "run" / "nemo_rl.yaml").is_file()
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []


@pytest.mark.parametrize(
    "answer", ["7", "-0.5", "007", "\\frac{3}{4}", "-\\dfrac{10}{4}", "\\tfrac{1}{2}"]
)
def test_answers_passed_without_math_verify_are_ones_it_parses(answer: str) -> None:
    pytest.importorskip("math_verify")
    assert data_rows._PLAIN_ANSWER.fullmatch(answer)
    assert data_rows.math_verify_parses()(answer)
