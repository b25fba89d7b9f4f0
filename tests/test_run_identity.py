"""One identity per run folder: logger.wandb.id from the folder's absolute path (the
`run_identity` resolver) with `resume: allow`, so a relaunch or a Slurm requeue into the folder
continues the same W&B run; the key snapshots know wandb.init's own keyword arguments."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import DRY, compose_config, run_cli
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv, venv_python

from nemotron_align.config.release import RELEASES
from nemotron_align.config.render import dump_yaml, to_nemo_rl_dict
from nemotron_align.config.resolvers import run_identity
from nemotron_align.preflight import nemo_rl_keys

REPO = Path(__file__).resolve().parent.parent
WANDB_DRIVER = VENV_SIDE / "wandb_identity_driver.py"


def _rendered(run_dir: Path, *overrides: str) -> dict:
    return to_nemo_rl_dict(compose_config(["algo=dpo", "data=tiny", *overrides], run_dir))


def test_one_id_per_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    run = run_identity(str(tmp_path / "run"))
    assert re.fullmatch(r"[0-9a-f]{16}", run)
    assert run_identity("run") == run_identity(f"{tmp_path}/./run") == run
    assert run_identity(str(tmp_path / "other")) != run


@pytest.mark.parametrize("algo", ["dpo", "rlvr", "grpo_gym", "rlhf"])
def test_every_algo_renders_the_folders_wandb_identity(algo: str, tmp_path: Path) -> None:
    config = to_nemo_rl_dict(compose_config([f"algo={algo}", "data=tiny"], tmp_path / "run"))
    wandb = config["logger"]["wandb"]
    assert (wandb["id"], wandb["resume"]) == (run_identity(str(tmp_path / "run")), "allow")


def test_a_relaunch_into_the_folder_keeps_the_id(tmp_path: Path) -> None:
    """The second launch into the folder renders the same nemo_rl.yaml (else it is refused)."""
    run_dir = tmp_path / "run"
    args = ["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"]
    for _ in range(2):
        result = run_cli(args, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    assert f"id: {run_identity(str(run_dir))}" in (run_dir / "nemo_rl.yaml").read_text()


@pytest.mark.parametrize("release", RELEASES)
def test_the_key_snapshots_know_wandb_inits_keys(release: str, tmp_path: Path) -> None:
    config = _rendered(tmp_path / "run", f"nemo_rl={release}")
    config["logger"]["wandb"].update(group="sweep-1", tags=["beta"], mode="offline")
    errors, warnings = nemo_rl_keys.problems(config, release, "dpo")
    assert errors == [] and not [w for w in warnings if "logger.wandb" in w]
    # NeMo-RL passes `dir` itself: wandb.init would get it twice.
    config["logger"]["wandb"]["dir"] = "/tmp"
    errors, _ = nemo_rl_keys.problems(config, release, "dpo")
    assert [e.where for e in errors] == ["logger.wandb.dir"]


@pytest.mark.nemo_rl_real
def test_the_snapshots_list_is_the_real_wandb_inits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv_python()
    monkeypatch.syspath_prepend(str(REPO / "scripts"))
    from nemo_rl_keys_snapshot.wandb_init import PASSED_BY_NEMO_RL, WANDB_INIT_KWARGS, WANDB_VERSION

    script = (
        "import inspect, json, wandb; print(json.dumps([wandb.__version__, "
        "list(inspect.signature(wandb.init).parameters)]))"
    )
    result = run_in_venv(tmp_path, ["-c", script], tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    version, parameters = json.loads(result.stdout.splitlines()[-1])
    assert version == WANDB_VERSION
    assert sorted(set(parameters) - PASSED_BY_NEMO_RL) == sorted(WANDB_INIT_KWARGS)


def _start_wandb(tree: Path, run_dir: Path, scratch: Path) -> dict:
    """NeMo-RL's WandbLogger from the run's nemo_rl.yaml (offline), as a launch starts it."""
    config = run_dir / "nemo_rl.yaml"
    config.write_text(dump_yaml(_rendered(run_dir)))
    result = run_in_venv(tree, [str(WANDB_DRIVER), str(config), str(run_dir / "logs")], scratch)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_two_launches_of_a_folder_are_one_wandb_run(
    release: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = real_tree(release)
    monkeypatch.setenv("WANDB_MODE", "offline")
    venv_python()
    run_dir, other = tmp_path / "run", tmp_path / "other"
    run_dir.mkdir()
    other.mkdir()
    first = _start_wandb(tree, run_dir, tmp_path)
    second = _start_wandb(tree, run_dir, tmp_path)
    assert first["id"] == second["id"] == run_identity(str(run_dir))
    assert _start_wandb(tree, other, tmp_path)["id"] == run_identity(str(other))
