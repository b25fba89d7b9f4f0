"""One plan, then one execution: what `prepare` writes to the run folder is what the execution
runs, and a NeMo-Gym run's Gym config is materialized once, in the plan."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from conftest import STAND_IN_ROOT, compose_config

from nemotron_align.gym import config as gym_config
from nemotron_align.gym import run_config
from nemotron_align.gym import runner as gym_runner
from nemotron_align.launchers import execute as launch_execute
from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.plan import Strategy, prepare
from nemotron_align.preflight import checks as preflight_checks

STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"


def _plan(tmp_path: Path, *overrides: str, multirun: bool = False):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = compose_config(
        ["algo=rlhf", "data=tiny", f"launch.nemo_rl_root={STAND_IN_ROOT}", *overrides], run_dir
    )
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=multirun,
        algo="rlhf",
        data="tiny",
        overrides=[],
        composed_config_dir=None,
    )
    return prepare(cfg, ctx)


@pytest.fixture
def gym_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEMO_GYM_EXTRA_ROOTS", str(STAND_IN_GYM))


@pytest.mark.usefixtures("gym_found")
def test_in_process_gym_run_executes_what_the_run_folder_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    materialized: list[Any] = []
    materialize = gym_config.materialize
    monkeypatch.setattr(
        gym_config, "materialize", lambda *a, **k: materialized.append(a) or materialize(*a, **k)
    )
    consumed: list[dict] = []
    monkeypatch.setattr(gym_runner, "detect_api", lambda: SimpleNamespace(nemo_rl=None))
    monkeypatch.setattr(gym_runner.GymDriver, "run", lambda self, raw: consumed.append(raw))
    monkeypatch.chdir(tmp_path)

    plan = _plan(tmp_path)
    assert plan.strategy is Strategy.in_process
    run_dir = plan.ctx.run_dir
    assert yaml.safe_load((run_dir / "nemo_rl.yaml").read_text()) == plan.config
    assert launch_execute.execute(plan) == 0

    (raw,) = consumed
    handed = {
        k: v for k, v in raw["env"]["nemo_gym"].items() if k not in gym_config.NEMO_RL_ONLY_KEYS
    }
    assert yaml.safe_load((run_dir / "nemo_gym.yaml").read_text()) == handed
    assert handed == plan.gym.as_env_block()
    assert "genrm_compare_resources_server" in handed
    assert len(materialized) == 1  # in the plan; the runner used that one
    assert {k: v for k, v in raw.items() if k not in ("env", "data")} == {
        k: v for k, v in plan.config.items() if k not in ("env", "data")
    }


@pytest.mark.usefixtures("gym_found")
def test_a_child_run_rewrites_nemo_gym_yaml_from_what_it_runs(tmp_path: Path) -> None:
    """The runner in NeMo-RL's own Python materializes where it runs and records that."""
    plan = _plan(tmp_path, "launch.mode=subprocess")
    assert plan.strategy is Strategy.subprocess
    written = (plan.ctx.run_dir / "nemo_gym.yaml").read_text()
    (plan.ctx.run_dir / "nemo_gym.yaml").unlink()
    prepared = run_config.load_config(plan.ctx.config_path)
    on_disk = yaml.safe_load((plan.ctx.run_dir / "nemo_gym.yaml").read_text())
    assert (plan.ctx.run_dir / "nemo_gym.yaml").read_text() == written
    assert on_disk == {
        k: v
        for k, v in prepared["env"]["nemo_gym"].items()
        if k not in gym_config.NEMO_RL_ONLY_KEYS
    }


def test_strategies_cover_every_plan() -> None:
    assert set(launch_execute.STRATEGIES) == set(Strategy)


def test_a_registered_check_runs_with_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nemotron_align.errors import LaunchRejected, LaunchRejectedMany

    extra = LaunchRejected("data.train", "a registered check's problem", "fix it")
    monkeypatch.setattr(
        preflight_checks, "CHECKS", (*preflight_checks.CHECKS, lambda config, context: [extra])
    )
    with pytest.raises(LaunchRejectedMany) as refused:
        _plan(tmp_path, "launch.dry_run=true")
    assert extra in refused.value.problems
