"""A Python 3.13 environment standing in for the NeMo-RL container's on the Slurm node.

It has what NeMo-RL's environment has that our node-side code and the stand-in NeMo-RL import
(PACKAGES) and nothing of ours: no nemotron_align, no submitit, no Hydra. Jobs submitted from the
tests' own interpreter (3.11 in CI) run under it, as container jobs run under the image's Python.
Built once into .node-py313/ (git-ignored) from a pyenv CPython 3.13; the tests that need it skip
with the reason where there is none.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".node-py313"
# What NeMo-RL's own environment has (its venv built from its pyproject by
# ../shared/nemo-rl/build_venv.sh imports each) that the node side and the stand-in import.
PACKAGES = [
    "pyyaml",
    "omegaconf",
    "pydantic",
    "typing_extensions",
    "orjson",
    "xxhash",
    "tensorboard",
]
BUILD_TIMEOUT_S = 600


def _python313() -> str | None:
    found = sorted(
        glob.glob(str(Path.home() / ".pyenv" / "versions" / "3.13*" / "bin" / "python3.13"))
    )
    return found[-1] if found else shutil.which("python3.13")


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    # From / so that the checkout's own nemotron_align is not found through the working dir.
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False, cwd="/"
    )


@pytest.fixture(scope="session")
def node_python() -> str:
    """The interpreter of the stand-in container environment (built on first use)."""
    python = VENV / "bin" / "python"
    built = VENV / "packages.txt"
    if not built.exists() or built.read_text() != " ".join(PACKAGES):
        shutil.rmtree(VENV, ignore_errors=True)
        base = _python313()
        if base is None:
            pytest.skip("no CPython 3.13 here (pyenv install 3.13) for the cross-Python job test")
        for argv in (
            [base, "-m", "venv", str(VENV)],
            [str(python), "-m", "pip", "install", "-q", *PACKAGES],
        ):
            done = _run(argv)
            if done.returncode != 0:
                shutil.rmtree(VENV, ignore_errors=True)
                pytest.fail(f"{argv} failed:\n{done.stdout}{done.stderr}")
        built.write_text(" ".join(PACKAGES))
    probe = _run(
        [
            str(python),
            "-c",
            "import importlib.util as u, sys; "
            "print(sys.version_info[:2] == (3, 13), "
            "[m for m in ('nemotron_align', 'submitit', 'hydra') if u.find_spec(m)])",
        ]
    )
    assert probe.stdout.split(maxsplit=1) == ["True", "[]\n"], probe.stdout + probe.stderr
    return str(python)
