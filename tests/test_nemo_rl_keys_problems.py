"""What the key check reports against made-up snapshots: missing required keys, wrong types,
renamed keys, and keys only another release or no release knows."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.nemo_rl_keys import (
    RELEASES,
    problems,
)

MADE_UP_SNAPSHOTS = {
    "v0.6.0": """
        [dpo]
        dpo required dict
        dpo.beta required float
        dpo.old_name optional bool
        [grpo]
        grpo required dict
        """,
    "v0.7.0": """
        [dpo]
        dpo required dict
        dpo.beta required float
        dpo.new_name optional bool
        dpo.mode optional "fast"|"slow"
        dpo.plane optional None|dict
        dpo.plane.impl required "tq"
        dpo.plane.size required int
        dpo.cfg optional dict
        dpo.cfg.enabled required false|true
        dpo.cfg.size required-if:enabled=true int
        dpo.env optional dict
        dpo.env.* optional any
        dpo.items optional list
        dpo.items[] optional dict
        dpo.items[].name required str
        [grpo]
        grpo required dict
        grpo.v07_only optional int
        """,
}


@pytest.fixture
def made_up(snapshot_dir: Path) -> None:
    for release in RELEASES:
        text = MADE_UP_SNAPSHOTS.get(release, MADE_UP_SNAPSHOTS["v0.7.0"])
        (snapshot_dir / f"{release}.txt").write_text(textwrap.dedent(text))
    (snapshot_dir / "renames.txt").write_text("# made up\nv0.7.0 dpo.old_name dpo.new_name\n")


def _rendered_problems(config: dict[str, Any], release: str, trainer: str) -> list[str]:
    errors, _ = problems(config, release, trainer)
    return [error.render() for error in errors]


@pytest.mark.usefixtures("made_up")
def test_a_config_the_release_accepts_has_no_problem() -> None:
    config = {
        "dpo": {
            "beta": 1,
            "mode": "fast",
            "plane": {"impl": "tq", "size": 2},
            "cfg": {"enabled": False},
            "env": {"anything": {"deep": [1]}},
            "items": [{"name": "a"}],
        }
    }
    assert problems(config, "v0.7.0", "dpo") == ([], [])
    assert problems({"dpo": {"beta": 0.1, "plane": None}}, "main", "dpo") == ([], [])


@pytest.mark.usefixtures("made_up")
def test_a_missing_required_key_names_the_key_the_release_and_the_fix() -> None:
    config = {"dpo": {"beta": 0.1, "plane": {"size": 2}, "cfg": {"enabled": True}}}

    assert _rendered_problems(config, "v0.7.0", "dpo") == [
        "error: dpo.plane.impl: NeMo-RL v0.7.0 requires this key once dpo.plane is present\n"
        "  fix: set it, or remove dpo.plane",
        "error: dpo.cfg.size: NeMo-RL v0.7.0 requires this key when dpo.cfg.enabled is true\n"
        "  fix: set it, or change dpo.cfg.enabled",
    ]
    assert _rendered_problems({"dpo": {"items": [{}]}}, "v0.7.0", "dpo") == [
        "error: dpo.items[0].name: NeMo-RL v0.7.0 requires this key once dpo.items[0] is "
        "present\n  fix: set it, or remove dpo.items[0]",
        "error: dpo.beta: NeMo-RL v0.7.0 requires this key once dpo is present\n"
        "  fix: set it, or remove dpo",
    ]
    assert _rendered_problems({}, "v0.7.0", "dpo") == [
        "error: dpo: NeMo-RL v0.7.0 requires this key\n  fix: set it"
    ]


@pytest.mark.usefixtures("made_up")
def test_a_value_of_the_wrong_type_is_an_error() -> None:
    config = {
        "dpo": {
            "beta": "abc",
            "mode": "medium",
            "plane": {"impl": "tq", "size": True},
            "items": [7],
        }
    }

    assert _rendered_problems(config, "v0.7.0", "dpo") == [
        'error: dpo.beta: is "abc" (str); NeMo-RL v0.7.0 expects float\n  fix: set it to float',
        'error: dpo.mode: is "medium" (str); NeMo-RL v0.7.0 expects "fast" or "slow"\n'
        '  fix: set it to "fast" or "slow"',
        "error: dpo.plane.size: is true (bool); NeMo-RL v0.7.0 expects int\n  fix: set it to int",
        "error: dpo.items[0]: is 7 (int); NeMo-RL v0.7.0 expects dict\n  fix: set it to dict",
    ]


@pytest.mark.usefixtures("made_up")
def test_a_renamed_key_is_reported_with_the_name_of_the_release() -> None:
    [old_on_new] = problems({"dpo": {"beta": 0.1, "old_name": True}}, "main", "dpo")[0]
    assert old_on_new.where == "dpo.old_name"
    assert old_on_new.problem.startswith("renamed to dpo.new_name in NeMo-RL v0.7.0")
    assert old_on_new.fix == "use dpo.new_name"

    [new_on_old] = problems({"dpo": {"beta": 0.1, "new_name": True}}, "v0.6.0", "dpo")[0]
    assert new_on_old.where == "dpo.new_name"
    assert "NeMo-RL v0.6.0 calls this key dpo.old_name" in new_on_old.problem


@pytest.mark.usefixtures("made_up")
def test_a_key_only_another_release_knows_is_a_warning() -> None:
    errors, warnings = problems({"grpo": {"v07_only": 1}}, "v0.6.0", "grpo")

    assert errors == []
    assert warnings == [
        "grpo.v07_only: NeMo-RL v0.6.0 (grpo) does not know this key and will ignore it "
        "(known to v0.7.0 grpo, main grpo)"
    ]


@pytest.mark.usefixtures("made_up")
def test_a_key_no_release_knows_is_an_error_with_the_key_meant() -> None:
    [typo] = problems({"dpo": {"beta": 0.1, "betta": 0.2}}, "v0.7.0", "dpo")[0]

    assert typo.where == "dpo.betta"
    assert typo.problem == "NeMo-RL v0.7.0 has no such key (it would ignore it silently)"
    assert typo.fix == "did you mean dpo.beta?"


def test_problems_refuses_an_unknown_trainer() -> None:
    with pytest.raises(LaunchRejected, match="sft"):
        problems({}, "v0.7.0", "sft")
