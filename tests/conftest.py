"""Shared helpers: Hydra's compose API for config tests, the CLI in a subprocess for the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from nemo_rl_real_support import tiny_tokenizer  # noqa: F401  (session fixture, nemo_rl_real)
from omegaconf import DictConfig, open_dict
from slurm_cluster import slurm_cluster  # noqa: F401  (session fixture for tests marked slurm)

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.resolvers import register_resolvers
from nemotron_align.config.store import register_schemas
from nemotron_align.preflight import nemo_rl_keys

STAND_IN_ROOT = Path(__file__).resolve().parent / "stand_in_nemo_rl"
ALGOS = ["dpo", "rlvr", "grpo_gym", "rlhf"]
# Default data of the Gym algos is local JSONL: the tests point it at the bundled rows.
GYM_PATHS = {
    "grpo_gym": "grpo_gym",
    "rlhf": "rlhf",
}
CLI_TIMEOUT_S = 120
DRY = "launch.dry_run=true"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def gym_data_overrides(algo: str) -> list[str]:
    if algo not in GYM_PATHS:
        return []
    from nemotron_align.config.resolvers import TINY_DATA_DIR

    stem = GYM_PATHS[algo]
    return [
        f"data.train.data_path={TINY_DATA_DIR / f'{stem}_train.jsonl'}",
        f"data.validation.data_path={TINY_DATA_DIR / f'{stem}_validation.jsonl'}",
    ]


def compose_config(overrides: list[str], run_dir: Path) -> DictConfig:
    """Compose like the app does, with `${hydra:runtime.output_dir}` pointing at run_dir."""
    register_resolvers()
    register_schemas()
    GlobalHydra.instance().clear()
    with initialize_app_config():
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
    HydraConfig.instance().set_config(cfg)
    return cfg


def run_cli(
    args: list[str],
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "nemotron_align", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[str]:
    """The CLI as a running child, for tests that signal it or watch it while it works."""
    return subprocess.Popen(
        [sys.executable, "-m", "nemotron_align", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def wait_for_file(
    path: Path, timeout: float = 60, proc: subprocess.Popen[str] | None = None
) -> None:
    """Bounded wait for a file to appear; fails early if `proc` has exited meanwhile."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        assert proc is None or proc.poll() is None, f"exited before {path} appeared"
        time.sleep(0.05)


def start_lock_holder(run_dir: Path) -> subprocess.Popen[str]:
    """Another process holding the run folder's lock (nemotron_align.records.run_lock) until killed;
    returns once it holds it."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path;"
            "from nemotron_align.records.run_lock import hold;"
            "lock = hold(Path(sys.argv[1])); print('held', flush=True); time.sleep(300)",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    return holder


# Tests that share a machine-wide resource (the local Slurm cluster, Ray, a server's port) run
# one at a time, on one pytest-xdist worker.
ONE_AT_A_TIME = ("slurm", "nemo_rl_real", "gym_server")


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.get_closest_marker("reads_trees_only"):
        return
    if any(item.get_closest_marker(name) for name in ONE_AT_A_TIME):
        item.add_marker(pytest.mark.xdist_group("one_at_a_time"))


def snapshot_sections(text: str) -> dict[str, list[str]]:
    """A key snapshot's lines by [trainer] section."""
    sections: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("["):
            current = sections.setdefault(line[1:-1], [])
        elif line and not line.startswith("#"):
            current.append(line)
    return sections


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder the checker reads its snapshots from, instead of the committed ones."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    monkeypatch.setattr(nemo_rl_keys, "SNAPSHOT_DIR", folder)
    clear_snapshot_caches()
    yield folder
    clear_snapshot_caches()


def clear_snapshot_caches() -> None:
    for cached in (nemo_rl_keys._snapshot, nemo_rl_keys.renames):
        cached.cache_clear()


@pytest.fixture
def stand_in_env(tmp_path: Path) -> dict[str, str]:
    """Environment that points the launcher at the stand-in NeMo-RL and records what it got."""
    return {
        "NEMO_RL_ROOT": str(STAND_IN_ROOT),
        "STAND_IN_RECORD": str(tmp_path / "record.json"),
    }
