"""Shared by the NeMo-Gym tests: the stand-in Gym tree and a composed, rendered config."""

from __future__ import annotations

from pathlib import Path

from conftest import compose_config

from nemotron_align.config.render import to_nemo_rl_dict

STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"


def rendered(algo: str, tmp_path: Path, *overrides: str) -> dict:
    return to_nemo_rl_dict(compose_config([f"algo={algo}", "data=tiny", *overrides], tmp_path))
