"""Under cluster=slurm NeMo-RL saves before the time limit: checkpointing.checkpoint_must_save_by
derives from hydra.launcher.timeout_min (config/resolvers.py must_save_by), in the format NeMo-RL
reads (its own timer.convert_to_seconds), the same for a requeued job."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DRY, STAND_IN_ROOT, compose_config, run_cli
from nemo_rl_real_support import real_tree

from nemotron_align.config.release import RELEASES
from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.config.resolvers import ONE_SAVE_S, START_UP_S, must_save_by

LIMITS_MIN = [30, 60, 240, 2880]


def _save_by(tmp_path: Path, *overrides: str) -> str | None:
    cfg = compose_config(["algo=dpo", "data=tiny", *overrides], tmp_path / "run")
    return to_nemo_rl_dict(cfg)["checkpointing"]["checkpoint_must_save_by"]


def test_the_deadline_leaves_the_margin_but_at_least_half_the_limit() -> None:
    assert must_save_by(240, 120) == "00:03:28:00"  # 240 min - 2 min - 20 min - 10 min
    assert must_save_by(2880, 120) == "01:23:28:00"
    assert must_save_by(30, 120) == "00:00:15:00"  # half of a short limit
    assert must_save_by(None, 120) is None
    assert START_UP_S + ONE_SAVE_S == 30 * 60


def test_slurm_renders_it_from_the_time_limit(tmp_path: Path) -> None:
    assert _save_by(tmp_path, "cluster=slurm") == must_save_by(240, 120)
    assert _save_by(
        tmp_path,
        "cluster=slurm",
        "hydra.launcher.timeout_min=600",
        "hydra.launcher.signal_delay_s=300",
    ) == must_save_by(600, 300)
    assert _save_by(tmp_path) is None  # a local run has no time limit


def test_a_users_own_value_wins(tmp_path: Path) -> None:
    mine = "checkpointing.checkpoint_must_save_by=00:01:00:00"
    assert _save_by(tmp_path, "cluster=slurm", mine) == "00:01:00:00"
    off = "checkpointing.checkpoint_must_save_by=null"
    assert _save_by(tmp_path, "cluster=slurm", off) is None


def test_a_requeued_job_renders_the_same_config(tmp_path: Path) -> None:
    """A requeued job runs the nemo_rl.yaml of its folder; composing it again (a resubmit of
    the sweep into its folder) must render the same file, which the launcher checks."""
    sweep = tmp_path / "sweep"
    empty = tmp_path / "bin"
    empty.mkdir()
    args = ["cluster=slurm", "algo=dpo", "data=tiny", DRY, f"hydra.sweep.dir={sweep}"]
    env = {"PATH": str(empty), "NEMO_RL_ROOT": str(STAND_IN_ROOT)}
    first = run_cli(args, cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    rendered = (sweep / "0" / "nemo_rl.yaml").read_text()
    assert f"checkpoint_must_save_by: {must_save_by(240, 120)}" in rendered
    again = run_cli(args, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert (sweep / "0" / "nemo_rl.yaml").read_text() == rendered


def _convert_to_seconds(tree: Path) -> Callable[[str], int]:
    """NeMo-RL's own nemo_rl/utils/timer.py convert_to_seconds, taken out with ast."""
    source = (tree / "nemo_rl" / "utils" / "timer.py").read_text()
    (node,) = [
        n
        for n in ast.parse(source).body
        if isinstance(n, ast.FunctionDef) and n.name == "convert_to_seconds"
    ]
    namespace: dict = {}
    exec(compile(ast.Module([node], type_ignores=[]), "timer.py", "exec"), namespace)
    return namespace["convert_to_seconds"]


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_nemo_rl_reads_the_deadline_as_meant(release: str, tmp_path: Path) -> None:
    convert_to_seconds = _convert_to_seconds(real_tree(release))
    for limit in LIMITS_MIN:
        rendered = _save_by(tmp_path, "cluster=slurm", f"hydra.launcher.timeout_min={limit}")
        assert rendered is not None
        expected = max(limit * 60 - 120 - START_UP_S - ONE_SAVE_S, limit * 30)
        assert convert_to_seconds(rendered) == expected
