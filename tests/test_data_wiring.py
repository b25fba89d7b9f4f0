"""Each algo wires its own data; an algo added without that wiring is refused, not launched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import run_cli

from nemotron_align.errors import EXIT_REJECTED

CONF = Path(__file__).resolve().parents[1] / "conf"


def _algo_without_data_wiring(config_dir: Path) -> None:
    """A fifth algo copied from dpo.yaml, its data wiring forgotten."""
    (config_dir / "algo").mkdir(parents=True)
    text = (CONF / "algo" / "dpo.yaml").read_text()
    kept = [line for line in text.splitlines() if "for_algo" not in line]
    assert len(kept) < len(text.splitlines())
    (config_dir / "algo" / "dpo_copy.yaml").write_text("\n".join(kept) + "\n")


@pytest.mark.parametrize("data", [[], ["data=tiny"], ["data=default"]])
def test_an_algo_without_its_data_wiring_is_refused(tmp_path: Path, data: list[str]) -> None:
    _algo_without_data_wiring(tmp_path / "extra")
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "--config-dir",
            str(tmp_path / "extra"),
            "algo=dpo_copy",
            *data,
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == EXIT_REJECTED, result.stderr
    assert "error: data.train: is empty: the config names no training data" in result.stderr
    assert "fix: pick data that sets data.train" in result.stderr
    assert "for_algo@_global_: <algo>_${data}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists()


def test_the_copy_with_its_wiring_launches(tmp_path: Path) -> None:
    """The same copy with dpo's wiring kept is accepted: the refusal above is the wiring's."""
    (tmp_path / "extra" / "algo").mkdir(parents=True)
    shutil.copy(CONF / "algo" / "dpo.yaml", tmp_path / "extra" / "algo" / "dpo_copy.yaml")
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "--config-dir",
            str(tmp_path / "extra"),
            "algo=dpo_copy",
            "data=tiny",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert (run_dir / "nemo_rl.yaml").exists()


def test_every_algo_wires_default_and_tiny_data() -> None:
    algos = sorted(p.stem for p in (CONF / "algo").glob("*.yaml"))
    for algo in algos:
        text = (CONF / "algo" / f"{algo}.yaml").read_text()
        assert f"- optional /data/for_algo@_global_: {algo}_${{data}}" in text, algo
        for data in ("default", "tiny"):
            assert (CONF / "data" / "for_algo" / f"{algo}_{data}.yaml").is_file(), (algo, data)
