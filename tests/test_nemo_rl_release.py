"""Which NeMo-RL release a config is composed for: named (nemo_rl=...), or detected by content
under launch.nemo_rl_root / $NEMO_RL_ROOT."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import STAND_IN_ROOT, run_cli

from nemotron_align.cli import with_detected_release
from nemotron_align.config.release import RELEASE_MARKERS, detect_release


def _tree(root: Path, release: str) -> Path:
    """A folder holding the source files by which `release` is told apart (and no more)."""
    for name, file, marker in reversed(RELEASE_MARKERS):
        path = root / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{marker or ''}\n")
        if name == release:
            return root
    raise AssertionError(release)


@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0", "main"])
def test_release_is_detected_by_content(release: str, tmp_path: Path) -> None:
    assert detect_release(_tree(tmp_path, release)) == release


def test_no_nemo_rl_no_release(tmp_path: Path) -> None:
    assert detect_release(tmp_path) is None


def test_detected_release_is_added_unless_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    main = _tree(tmp_path / "main", "main")
    old = _tree(tmp_path / "old", "v0.6.0")
    monkeypatch.setenv("NEMO_RL_ROOT", str(main))
    assert with_detected_release(["algo=dpo"]) == ["algo=dpo", "nemo_rl=main"]
    # launch.nemo_rl_root on the command line wins over the environment.
    assert with_detected_release([f"launch.nemo_rl_root={old}"])[-1] == "nemo_rl=v0.6.0"
    assert with_detected_release([f"++launch.nemo_rl_root='{old}'"])[-1] == "nemo_rl=v0.6.0"
    # Named, or a relaunch of a composed record: left as it is.
    for args in (["nemo_rl=v0.7.0"], ["--config-path", "/run/.hydra", "--config-name", "config"]):
        assert with_detected_release(args) == args
    monkeypatch.setenv("NEMO_RL_ROOT", str(tmp_path / "nowhere"))
    assert with_detected_release(["algo=dpo"]) == ["algo=dpo"]


def test_launch_composes_for_the_release_under_its_root(tmp_path: Path) -> None:
    main = _tree(tmp_path / "nemo-rl", "main")
    run_dir = tmp_path / "run"
    args = ["algo=rlvr", "data=tiny", "launch.dry_run=true", f"hydra.run.dir={run_dir}"]
    result = run_cli([*args, f"launch.nemo_rl_root={main}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((run_dir / "launch.json").read_text())["nemo_rl_release"] == "main"
    generation = yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())["policy"]["generation"]
    assert generation["val_temperature"] == generation["temperature"]


def test_a_config_for_another_release_is_refused_before_anything_starts(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        ["algo=dpo", "data=tiny", "nemo_rl=main", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(STAND_IN_ROOT)},
    )
    assert result.returncode == 2
    assert "the config is composed for NeMo-RL main, but" in result.stderr
    assert "fix: add nemo_rl=v0.7.0" in result.stderr
    assert not run_dir.exists()
