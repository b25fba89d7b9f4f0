"""recipe=<file>, rendered: for every DPO and GRPO recipe of v0.6.0, v0.7.0 and main (by its
content, `examples/configs/recipes/llm/`, sub-folders included), the nemo_rl.yaml we render equals
NeMo-RL's own `load_config` + resolve of the recipe, apart from the run paths we set; and, from
v0.7.0 on (v0.6.0's MasterConfig is a TypedDict, which NeMo-RL never validates), NeMo-RL's real
MasterConfig accepts ours wherever it accepts its own. Composed in-process as the CLI composes
(with_recipe, then Hydra); one NeMo-RL process per release (tests/nemo_rl_real/
recipe_render_driver.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import compose_config
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv

from nemotron_align.config.recipe_args import with_recipe
from nemotron_align.config.recipe_loader import load_recipe
from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.recipe_trainer import recipe_trainer

# Each release's recipes in one NeMo-RL process of their own: nothing shared machine-wide.
pytestmark = [pytest.mark.nemo_rl_real, pytest.mark.reads_trees_only]

RECIPES = "examples/configs/recipes/llm"
# The run paths we set: under the run folder, whatever the recipe says.
RUN_PATHS = {("checkpointing", "checkpoint_dir"): "checkpoints", ("logger", "log_dir"): "logs"}
# "<release>/<path under RECIPES>": why its parity is not asserted (none at present).
PARITY_EXCEPTIONS: dict[str, str] = {}


def _canonical(config: Any) -> str:
    """Types count (1 is not 1.0, nor true); key order does not (Hydra merges the recipe onto our
    launch, data and cluster sections, and NeMo-RL reads keys by name)."""
    return json.dumps(config, sort_keys=True)


def _without_run_paths(config: dict[str, Any]) -> dict[str, Any]:
    config = json.loads(json.dumps(config))
    for section, key in RUN_PATHS:
        if isinstance(config.get(section), dict):
            config[section].pop(key, None)
    return config


def _first_difference(ours: Any, theirs: Any, key: str = "") -> str:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if set(ours) != set(theirs):
            return f"{key or '<top>'}: keys {sorted(set(ours) ^ set(theirs))} differ"
        for k in ours:
            if _canonical(ours[k]) != _canonical(theirs[k]):
                return _first_difference(ours[k], theirs[k], f"{key}.{k}".lstrip("."))
    return f"{key or '<top>'}: ours {ours!r} != NeMo-RL's {theirs!r}"


def _render(path: Path, release: str, run_dir: Path) -> dict[str, Any]:
    args = with_recipe([f"recipe={path}", f"nemo_rl={release}"])
    return to_nemo_rl_dict(compose_config(args, run_dir))


@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0", "main"])
def test_every_recipe_renders_as_nemo_rl_loads_it(
    release: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    tree = real_tree(release)
    scratch = tmp_path / "s"
    scratch.mkdir()
    # From a folder without the recipes' relative data paths: they stay as written (files of
    # the NeMo-RL tree, read from its root), as in NeMo-RL's own load.
    monkeypatch.chdir(scratch)
    monkeypatch.setenv("HF_HOME", str(scratch / "hf"))
    run_dir = tmp_path / "run"
    entries, names, excepted = [], {}, []
    started = time.monotonic()
    for path in sorted((tree / RECIPES).rglob("*.yaml")):
        name = f"{release}/{path.relative_to(tree / RECIPES)}"
        try:
            trainer = recipe_trainer(load_recipe(path, release), path)
        except LaunchRejected:
            continue  # SFT, distillation, PPO: test_recipe_loader_real sorts these
        if name in PARITY_EXCEPTIONS:
            excepted.append(name)
            continue
        ours = _render(path, release, run_dir)
        entries.append({"path": str(path), "trainer": trainer.value, "ours": ours})
        names[str(path)] = name
    composed_s = time.monotonic() - started
    source, out = scratch / "ours.json", scratch / "theirs.json"
    source.write_text(json.dumps(entries))
    result = run_in_venv(
        tree, [str(VENV_SIDE / "recipe_render_driver.py"), str(source), str(out)], scratch
    )
    assert result.returncode == 0, result.stderr[-3000:]
    theirs = json.loads(out.read_text())
    unequal, rejected, paths = [], [], []
    for entry in entries:
        name, their = names[entry["path"]], theirs[entry["path"]]
        assert "load_error" not in their, f"{name}: NeMo-RL fails: {their['load_error']}"
        ours = entry["ours"]
        for (section, key), folder in RUN_PATHS.items():
            if key in (their.get(section) or {}) and ours[section][key] != str(run_dir / folder):
                paths.append(f"{name}: {section}.{key} = {ours[section][key]}")
        if _canonical(_without_run_paths(ours)) != _canonical(_without_run_paths(their["theirs"])):
            unequal.append(f"{name}: {_first_difference(ours, their['theirs'])}")
        if their["ours_schema"] and not their["theirs_schema"]:
            rejected.append(f"{name}: {their['ours_schema'][0]}")
    total = len(entries)
    schema = all(theirs[e["path"]]["ours_schema"] is not None for e in entries)
    accepted = sum(not theirs[e["path"]]["theirs_schema"] for e in entries)
    checked = (
        f"MasterConfig accepts ours on {accepted - len(rejected)}/{accepted} where it accepts "
        f"NeMo-RL's own ({total - accepted} of its own it refuses)"
        if schema
        else "schema not validated (this release's MasterConfig is a TypedDict, not pydantic)"
    )
    with capsys.disabled():
        print(
            f"\nNeMo-RL {release}: {total - len(unequal)}/{total} DPO and GRPO recipes render "
            f"equal; {checked}; composed in {composed_s:.1f} s "
            f"({composed_s / max(total, 1):.2f} s each)"
            + "".join(f"\n  excepted: {e}: {PARITY_EXCEPTIONS[e]}" for e in excepted)
        )
    assert not unequal, "\n".join(unequal)
    assert not paths, "\n".join(paths)
    assert not rejected, "\n".join(rejected)
    assert total >= 100
