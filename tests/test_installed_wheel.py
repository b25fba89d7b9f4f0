"""A built wheel, installed into a fresh venv, runs from an unrelated directory: the configs and
the tiny data ship inside the package."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _run(argv: list[str], cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


# One worker of pytest-xdist builds and installs the wheel once for every test here.
pytestmark = pytest.mark.xdist_group("installed_wheel")


@dataclass(frozen=True)
class BuiltWheel:
    path: Path
    # pip's verbose output, setuptools' warnings included.
    log: str


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> BuiltWheel:
    root = tmp_path_factory.mktemp("wheel")
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(root), str(REPO)],
        cwd=root,
    )
    assert built.returncode == 0, built.stderr
    return BuiltWheel(next(root.glob("nemotron_align-*.whl")), built.stdout + built.stderr)


@pytest.fixture(scope="module")
def installed(built_wheel: BuiltWheel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ folder of a fresh venv holding only the wheel and its dependencies (installed by this
    interpreter's pip, so the venv needs none of its own)."""
    root = tmp_path_factory.mktemp("venv")
    venv.create(root, with_pip=False)
    bin_dir = root / "bin"
    pip = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(bin_dir / "python"),
            "install",
            "-q",
            str(built_wheel.path),
        ],
        cwd=root,
    )
    assert pip.returncode == 0, pip.stderr
    return bin_dir


@pytest.mark.parametrize("algo", ["dpo", "rlvr", "grpo_gym", "rlhf"])
def test_wheel_dry_runs_every_algo(installed: Path, algo: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = _run(
        [
            str(installed / "nemotron-align"),
            f"algo={algo}",
            "data=tiny",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    text = (run_dir / "nemo_rl.yaml").read_text()
    site = installed.parent / "lib"
    data_paths = [line.split(": ", 1)[1] for line in text.splitlines() if "data_path:" in line]
    assert len(data_paths) == 2
    for path in data_paths:
        assert Path(path).is_file() and Path(path).is_relative_to(site), path
    assert json.loads((run_dir / "launch.json").read_text())["argv"][0] == str(installed / "python")


def test_wheel_module_entry_and_help(installed: Path, tmp_path: Path) -> None:
    result = _run([str(installed / "python"), "-m", "nemotron_align", "--help"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("nemotron-align: launch NVIDIA NeMo-RL alignment runs")
    assert "algo        what to train (default dpo): dpo, rlvr, grpo_gym, rlhf" in result.stdout


def test_plain_checkout_finds_conf_folder(installed: Path, tmp_path: Path) -> None:
    """From a checkout's root, `python -m nemotron_align` imports the checkout's package, which
    has no conf subpackage: the configs come from the top-level conf/ folder."""
    run_dir = tmp_path / "run"
    result = _run(
        [
            str(installed / "python"),
            "-m",
            "nemotron_align",
            "algo=rlvr",
            "data=tiny",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    hydra_yaml = (run_dir / ".hydra" / "hydra.yaml").read_text()
    assert f"path: {REPO / 'conf'}" in hydra_yaml
    assert str(REPO / "nemotron_align" / "tiny_data") in (run_dir / "nemo_rl.yaml").read_text()


def test_wheel_ships_every_config_and_dataset(built_wheel: BuiltWheel) -> None:
    # setuptools warns when a config folder is missing from pyproject's `packages`.
    assert "would be ignored" not in built_wheel.log
    with zipfile.ZipFile(built_wheel.path) as wheel:
        names = set(wheel.namelist())
    for path in (REPO / "conf").rglob("*.yaml"):
        assert f"nemotron_align/conf/{path.relative_to(REPO / 'conf')}" in names
    for path in (REPO / "nemotron_align" / "tiny_data").glob("*.jsonl"):
        assert f"nemotron_align/tiny_data/{path.name}" in names
    snapshots = list((REPO / "nemotron_align" / "preflight" / "nemo_rl_keys").glob("*.txt"))
    assert snapshots
    for path in snapshots:
        assert f"nemotron_align/preflight/nemo_rl_keys/{path.name}" in names
