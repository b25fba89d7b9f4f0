"""Each algo wires its own data; an algo added without that wiring is refused, not launched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from nemotron_align.errors import EXIT_REJECTED

CONF = Path(__file__).resolve().parents[1] / "conf"


def _dry_run_copy(tmp_path: Path, data: list[str]) -> subprocess.CompletedProcess[str]:
    """Dry-run algo=dpo_copy, the fifth algo that tmp_path/extra/algo/dpo_copy.yaml adds."""
    return run_cli(
        [
            "--config-dir",
            str(tmp_path / "extra"),
            "algo=dpo_copy",
            *data,
            "launch.dry_run=true",
            f"hydra.run.dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
    )


# Two ways to forget the wiring: the defaults-list line, or the data/for_algo files it names.
FORGOTTEN = {
    "line": lambda line: "" if "for_algo" in line else line,
    "files": lambda line: line.replace("dpo_${data}", "dpo_copy_${data}"),
}


@pytest.mark.parametrize("forgotten", list(FORGOTTEN))
@pytest.mark.parametrize("data", [[], ["data=tiny"], ["data=default"]])
def test_an_algo_without_its_data_wiring_is_refused(
    tmp_path: Path, data: list[str], forgotten: str
) -> None:
    (tmp_path / "extra" / "algo").mkdir(parents=True)
    text = (CONF / "algo" / "dpo.yaml").read_text()
    copy = "\n".join(FORGOTTEN[forgotten](line) for line in text.splitlines()) + "\n"
    assert copy != text
    (tmp_path / "extra" / "algo" / "dpo_copy.yaml").write_text(copy)
    result = _dry_run_copy(tmp_path, data)
    assert result.returncode == EXIT_REJECTED, result.stderr
    assert "error: data.train: is empty: the config names no training data" in result.stderr
    assert "fix: pick data that sets data.train" in result.stderr
    assert "for_algo@_global_: <algo>_${data}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "nemo_rl.yaml").exists()


def test_the_copy_with_its_wiring_launches(tmp_path: Path) -> None:
    """The same copy with dpo's wiring kept is accepted: the refusal above is the wiring's."""
    (tmp_path / "extra" / "algo").mkdir(parents=True)
    shutil.copy(CONF / "algo" / "dpo.yaml", tmp_path / "extra" / "algo" / "dpo_copy.yaml")
    result = _dry_run_copy(tmp_path, ["data=tiny"])
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "nemo_rl.yaml").exists()


def test_every_algo_wires_default_and_tiny_data() -> None:
    for path in (CONF / "algo").glob("*.yaml"):
        algo = path.stem
        assert f"- optional /data/for_algo@_global_: {algo}_${{data}}" in path.read_text(), algo
        for data in ("default", "tiny"):
            assert (CONF / "data" / "for_algo" / f"{algo}_{data}.yaml").is_file(), (algo, data)
