"""reference/<algo>.yaml is what each algo renders today: a config change shows in their diff."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "generate_reference_configs.py"
_spec = importlib.util.spec_from_file_location("generate_reference_configs", SCRIPT)
assert _spec and _spec.loader
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)


@pytest.mark.parametrize("algo", generator.ALGOS)
def test_reference_config_is_current(algo: str) -> None:
    path = generator.REFERENCE_DIR / f"{algo}.yaml"
    regenerate = f"run `python {SCRIPT.relative_to(SCRIPT.parents[1])}` and commit the diff"
    assert path.is_file(), f"{path} is missing: {regenerate}"
    assert path.read_text() == generator.reference_yaml(algo), f"{path} is stale: {regenerate}"


def test_every_algo_has_a_reference() -> None:
    algos = {p.stem for p in (SCRIPT.parents[1] / "conf" / "algo").glob("*.yaml")}
    assert algos == set(generator.ALGOS)
