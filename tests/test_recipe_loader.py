"""NeMo-RL's recipe inheritance (`defaults:`, `_override_`), as our loader implements it, on small
hand-made recipe trees, and each way a recipe is refused (exit status 2, file and line, a fix).
tests/test_recipe_loader_real.py proves the same loader equal to NeMo-RL's on its own recipes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from nemotron_align.config.recipe_loader import load_recipe
from nemotron_align.config.release import RELEASES
from nemotron_align.config.resolvers import register_resolvers
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected, exit_status
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.recipe_trainer import recipe_trainer


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def loaded(path: Path, release: str = "main") -> dict:
    return OmegaConf.to_container(load_recipe(path, release), resolve=False)


def refused(path: Path, release: str = "main") -> LaunchRejected:
    with pytest.raises(LaunchRejected) as err:
        load_recipe(path, release)
    return err.value


def test_defaults_as_a_string_chain_relative_to_each_including_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base/grandparent.yaml": "policy: {lr: 1, tp: 1}\nseed: 1\n",
            "base/parent.yaml": "defaults: grandparent.yaml\npolicy: {tp: 2}\n",
            "recipes/llm/child.yaml": "defaults: ../../base/parent.yaml\npolicy: {lr: 3}\n",
        },
    )
    config = loaded(tmp_path / "recipes/llm/child.yaml")
    assert config == {"policy": {"lr": 3, "tp": 2}, "seed": 1}  # no `defaults` at any level
    assert list(config) == ["policy", "seed"]  # key order: the base's, as OmegaConf merges


def test_defaults_as_a_list_later_parents_win_and_the_file_itself_last(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": "x: a\ny: a\nz: a\n",
            "b.yaml": "y: b\nz: b\n",
            "child.yaml": "defaults:\n  - a.yaml\n  - ./b.yaml\nz: child\n",
        },
    )
    assert loaded(tmp_path / "child.yaml") == {"x": "a", "y": "b", "z": "child"}


def test_an_absolute_parent_path_and_the_same_parent_twice(tmp_path: Path) -> None:
    write(tmp_path, {"shared/base.yaml": "x: 1\n", "one.yaml": "defaults: shared/base.yaml\n"})
    write(tmp_path, {"child.yaml": f"defaults: [{tmp_path}/shared/base.yaml, one.yaml]\ny: 2\n"})
    assert loaded(tmp_path / "child.yaml") == {"x": 1, "y": 2}


def test_override_replaces_a_top_level_section_instead_of_merging(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": "data: {train: {path: a, split: s}, shuffle: true}\nkeep: {k: 1}\n",
            "child.yaml": """
                defaults: base.yaml
                data:
                  _override_: true
                  train: {path: b}
                keep: {_override_: false, j: 2}
            """,
        },
    )
    # `_override_: false` merges as usual and, like NeMo-RL, stays as a key.
    assert loaded(tmp_path / "child.yaml") == {
        "data": {"train": {"path": "b"}},
        "keep": {"k": 1, "_override_": False, "j": 2},
    }


def test_override_in_a_parent_replaces_the_grandparents_section(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "grand.yaml": "data: {a: 1, b: 2}\n",
            "parent.yaml": "defaults: grand.yaml\ndata: {_override_: true, c: 3}\n",
            "child.yaml": "defaults: parent.yaml\ndata: {d: 4}\n",
        },
    )
    assert loaded(tmp_path / "child.yaml") == {"data": {"c": 3, "d": 4}}


def test_override_only_at_the_top_level_and_only_where_something_is_merged(tmp_path: Path) -> None:
    """NeMo-RL checks the marker on top-level sections of a file it merges: a nested one, or one
    in a recipe without `defaults`, stays in the config as an ordinary key."""
    write(
        tmp_path,
        {
            "base.yaml": "policy: {megatron_cfg: {enabled: true, tp: 2}}\n",
            "child.yaml": "defaults: base.yaml\npolicy:\n  megatron_cfg: {_override_: true}\n",
            "alone.yaml": "data: {_override_: true, x: 1}\n",
        },
    )
    assert loaded(tmp_path / "child.yaml") == {
        "policy": {"megatron_cfg": {"enabled": True, "tp": 2, "_override_": True}}
    }
    assert loaded(tmp_path / "alone.yaml") == {"data": {"_override_": True, "x": 1}}


def test_interpolations_stay_unresolved_until_resolved_with_our_resolvers(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "base.yaml": """
                policy: {max_len: 512, batch: 4}
                data: {max_input_seq_length: "${policy.max_len}"}
                grpo: {rollouts: "${mul:${policy.batch},2}"}
            """,
            "child.yaml": "defaults: base.yaml\npolicy: {max_len: 1024, batch: 8}\n",
        },
    )
    config = load_recipe(tmp_path / "child.yaml", "main")
    assert OmegaConf.to_container(config)["data"] == {"max_input_seq_length": "${policy.max_len}"}
    register_resolvers()
    resolved = OmegaConf.to_container(config, resolve=True)
    assert resolved["data"]["max_input_seq_length"] == 1024
    assert resolved["grpo"]["rollouts"] == 16


def test_a_top_level_missing_value_per_release(tmp_path: Path) -> None:
    """main's merge skips a top-level `???` (the inherited value stands); v0.6.0's and v0.7.0's
    fail on it, so for them it is refused, naming the file and line."""
    write(
        tmp_path,
        {
            "base.yaml": "seed: 7\n",
            "child.yaml": "defaults: base.yaml\nseed: ???\nfresh: ???\npolicy: {lr: '???'}\n",
        },
    )
    assert loaded(tmp_path / "child.yaml", "main") == {
        "seed": 7,
        "fresh": "???",
        "policy": {"lr": "???"},
    }
    for release in ("v0.6.0", "v0.7.0"):
        err = refused(tmp_path / "child.yaml", release)
        assert err.where == f"{tmp_path / 'child.yaml'}:2"
        assert "`seed: ???` at the top level" in err.problem
        assert f"NeMo-RL {release}'s loader fails on it" in err.problem
        assert "nemo_rl=main" in err.fix


def test_a_nested_missing_value_loads_on_every_release(tmp_path: Path) -> None:
    write(tmp_path, {"b.yaml": "p: {lr: 1, tp: '???'}\n"})
    write(tmp_path, {"c.yaml": "defaults: b.yaml\np: {x: '???'}\n"})
    for release in RELEASES:
        assert loaded(tmp_path / "c.yaml", release) == {"p": {"lr": 1, "tp": "???", "x": "???"}}


def test_a_top_level_interpolation_nemo_rl_cannot_read_while_merging(tmp_path: Path) -> None:
    write(tmp_path, {"b.yaml": "x: 1\n", "c.yaml": "defaults: b.yaml\ny: ${x}\n"})
    err = refused(tmp_path / "c.yaml")
    assert err.where == f"{tmp_path / 'c.yaml'}:2"
    assert "reads top-level `y` while merging" in err.problem


def test_an_unknown_release_is_a_programming_error(tmp_path: Path) -> None:
    write(tmp_path, {"r.yaml": "x: 1\n"})
    with pytest.raises(ValueError, match="unknown NeMo-RL release 'v9'"):
        load_recipe(tmp_path / "r.yaml", "v9")


@pytest.mark.parametrize(
    ("files", "recipe", "where", "problem"),
    [
        pytest.param(
            {"r.yaml": "defaults:\n  - base.yaml\n  - nope.yaml\nx: 1\n", "base.yaml": "a: 1\n"},
            "r.yaml",
            "r.yaml:3",
            "the parent recipe {tmp}/nope.yaml cannot be loaded: {tmp}/nope.yaml does not exist",
            id="missing parent",
        ),
        pytest.param(
            {"r.yaml": "defaults: sub\n", "sub/x.yaml": "a: 1\n"},
            "r.yaml",
            "r.yaml:1",
            "the parent recipe {tmp}/sub cannot be loaded: {tmp}/sub is a folder, not a file",
            id="folder as parent",
        ),
        pytest.param(
            {
                "a.yaml": "defaults: b.yaml\n",
                "b.yaml": "x: 1\ndefaults: [c.yaml]\n",
                "c.yaml": "defaults: a.yaml\n",
            },
            "a.yaml",
            "c.yaml:1",
            "recipe inheritance cycle: "
            "{tmp}/a.yaml -> {tmp}/b.yaml -> {tmp}/c.yaml -> {tmp}/a.yaml",
            id="cycle",
        ),
        pytest.param(
            {"a.yaml": "x: 1\ndefaults: ./a.yaml\n"},
            "a.yaml",
            "a.yaml:2",
            "recipe inheritance cycle: {tmp}/a.yaml -> {tmp}/a.yaml",
            id="includes itself",
        ),
        pytest.param(
            {"r.yaml": "defaults: base.yaml\n", "base.yaml": "policy:\n  lr: [1, 2\n  tp: 2\n"},
            "r.yaml",
            "base.yaml:3",
            "not valid YAML: expected ',' or ']', but got ':'",
            id="bad YAML in a parent",
        ),
        pytest.param(
            {"r.yaml": "policy: {lr: 1}\npolicy: {lr: 2}\n"},
            "r.yaml",
            "r.yaml:2",
            "not valid YAML: found duplicate key policy",
            id="duplicate key",
        ),
        pytest.param(
            {"r.yaml": "- policy\n"},
            "r.yaml",
            "r.yaml",
            "holds a list at its top level; a recipe is a mapping of sections",
            id="a list",
        ),
        pytest.param(
            {"r.yaml": "defaults: {base: base.yaml}\n"},
            "r.yaml",
            "r.yaml:1",
            "`defaults` is neither a path nor a list of paths",
            id="defaults a mapping",
        ),
        pytest.param(
            {"r.yaml": "defaults:\n  - base.yaml\n  - 3\n", "base.yaml": "a: 1\n"},
            "r.yaml",
            "r.yaml:3",
            "`defaults` entry 3 is not a path",
            id="defaults entry not a path",
        ),
        pytest.param(
            {"r.yaml": "x: 1\n"},
            "nope.yaml",
            "nope.yaml",
            "no such recipe: {tmp}/nope.yaml does not exist",
            id="recipe missing",
        ),
    ],
)
def test_refused_with_file_line_and_fix(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    files: dict[str, str],
    recipe: str,
    where: str,
    problem: str,
) -> None:
    write(tmp_path, files)
    assert exit_status(lambda: load_recipe(tmp_path / recipe, "v0.7.0")) == EXIT_REJECTED
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: {tmp_path / where}: {problem.format(tmp=tmp_path)}"
    assert err[1].startswith("  fix: ")
    assert len(err) == 2  # no traceback


TRAINERS = {
    "dpo": ("dpo: {beta: 0.1}\npolicy: {}\n", Trainer.dpo),
    "grpo": ("grpo: {n: 1}\nenv: {math: {}}\n", Trainer.grpo),
    "grpo no env": ("grpo: {n: 1}\n", Trainer.grpo),
    "grpo gym false": ("grpo: {}\nenv: {should_use_nemo_gym: false}\n", Trainer.grpo),
    "grpo gym": ("grpo: {}\nenv: {should_use_nemo_gym: true}\n", Trainer.grpo_nemo_gym),
    "grpo gym interpolated": (
        "grpo: {gym: true}\nenv: {should_use_nemo_gym: '${grpo.gym}'}\n",
        Trainer.grpo_nemo_gym,
    ),
}


@pytest.mark.parametrize("name", TRAINERS)
def test_the_trainer_of_a_recipe_from_its_content(tmp_path: Path, name: str) -> None:
    text, trainer = TRAINERS[name]
    write(tmp_path, {"r.yaml": text})
    assert recipe_trainer(load_recipe(tmp_path / "r.yaml", "main"), tmp_path / "r.yaml") is trainer


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("sft: {}\npolicy: {}\n", "is a SFT recipe (it has a `sft` section)"),
        ("distillation: {}\nenv: {should_use_nemo_gym: true}\n", "is a distillation recipe"),
        ("ppo: {}\n", "is a PPO recipe (it has a `ppo` section)"),
        ("rm: {}\n", "is a reward model recipe"),
        ("policy: {}\n", "has no `dpo` or `grpo` section"),
        ("dpo: {}\ngrpo: {}\n", "several trainers (`dpo`, `grpo`): which one is ambiguous"),
    ],
)
def test_other_recipes_are_refused_naming_what_we_run(
    tmp_path: Path, text: str, problem: str
) -> None:
    write(tmp_path, {"r.yaml": text})
    with pytest.raises(LaunchRejected) as err:
        recipe_trainer(load_recipe(tmp_path / "r.yaml", "main"), tmp_path / "r.yaml")
    assert err.value.where == str(tmp_path / "r.yaml")
    assert problem in err.value.problem
    assert "nemotron_align runs DPO recipes (a `dpo` section) and GRPO recipes" in err.value.problem


def test_a_gym_switch_without_a_value_is_refused(tmp_path: Path) -> None:
    write(tmp_path, {"r.yaml": "grpo: {}\nenv: {should_use_nemo_gym: '???'}\n"})
    config = load_recipe(tmp_path / "r.yaml", "main")
    assert isinstance(config, DictConfig)
    with pytest.raises(LaunchRejected, match=r"env.should_use_nemo_gym: is \?\?\?"):
        recipe_trainer(config, tmp_path / "r.yaml")
