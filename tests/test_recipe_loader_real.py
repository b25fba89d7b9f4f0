"""Our recipe loader equals NeMo-RL's own `load_config` on every DPO and GRPO recipe of each
release in NEMO_RL_TREES (`examples/configs/recipes/llm/`, sub-folders included), unresolved and
resolved, and on hand-made recipes for each inheritance rule, where a failure of NeMo-RL's must
be a refusal of ours. One NeMo-RL process per release loads all of its files at once
(tests/nemo_rl_real/recipe_load_driver.py)."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from nemo_rl_real_support import VENV_SIDE, real_tree, run_in_venv
from omegaconf import DictConfig, OmegaConf

from nemotron_align.config.recipe_loader import load_recipe
from nemotron_align.config.release import RELEASES
from nemotron_align.config.resolvers import register_resolvers
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.recipe_trainer import recipe_trainer

# Each release's recipes in one NeMo-RL process of their own: nothing shared machine-wide.
pytestmark = [pytest.mark.nemo_rl_real, pytest.mark.reads_trees_only]

RECIPES = "examples/configs/recipes/llm"
# Recipes whose parity is not asserted ("<release>/<path under RECIPES>": why). None: every DPO
# and GRPO recipe of every release loads and resolves equal.
PARITY_EXCEPTIONS: dict[str, str] = {}
# What a recipe's file name says (before the first "-"), to cross-check the trainer found from
# its content; None: refused. An unknown prefix fails the test, to be sorted in here.
GRPO_FAMILY = frozenset({Trainer.grpo, Trainer.grpo_nemo_gym})
BY_NAME: dict[str, frozenset[Trainer] | None] = {
    "dpo": frozenset({Trainer.dpo}),
    **dict.fromkeys(("grpo", "dapo", "gdpo", "prorlv2", "mopd"), GRPO_FAMILY),
    **dict.fromkeys(("sft", "distillation", "ppo"), None),
}
# Hand-made recipes: entry file -> {file: text}; each rule, and what NeMo-RL fails on.
EDGE_CASES: dict[str, dict[str, str]] = {
    "lists.yaml": {
        "lists.yaml": "defaults: [a.yaml, '{root}/sub/b.yaml', sub/c.yaml]\nz: {k: 1}\n",
        "a.yaml": "x: a\ny: {p: a, q: a}\nz: {k: 0, j: 0}\n",
        "sub/b.yaml": "y: {q: b}\nw: {u: '${y.p}'}\n",
        "sub/c.yaml": "defaults: ../a.yaml\nv: '${mul:2,3}'\n",
    },
    "overrides.yaml": {
        "overrides.yaml": "defaults: mid.yaml\n"
        "p: {_override_: true, a: 9}\nq: {_override_: false, b: 2}\n"
        "r: {s: {_override_: true, t: 1}}\n",
        "mid.yaml": "defaults: low.yaml\ns: {_override_: true, m: 1}\n",
        "low.yaml": "p: {a: 1, b: 1}\nq: {a: 1}\nr: {s: {u: 1}}\ns: {n: 1}\n",
    },
    "alone.yaml": {"alone.yaml": "p: {_override_: true, a: 1}\ndefaults: '???'\n"},
    "missing.yaml": {
        "missing.yaml": "defaults: base.yaml\nseed: ???\nfresh: ???\np: {lr: '???'}\n",
        "base.yaml": "seed: 7\np: {tp: '???'}\n",
    },
    "interpolated.yaml": {
        "interpolated.yaml": "defaults: base.yaml\ny: ${x}\n",
        "base.yaml": "x: 1",
    },
    "odd_files.yaml": {"odd_files.yaml": "defaults: [empty.yaml, word.yaml]\n", "word.yaml": "hi"},
    "no_parent.yaml": {"no_parent.yaml": "defaults: nope.yaml\n"},
    "cycle.yaml": {"cycle.yaml": "defaults: back.yaml\n", "back.yaml": "defaults: cycle.yaml\n"},
}


def _write_edge_cases(root: Path) -> list[Path]:
    """Each case in a folder of its own under `root`; the entry files."""
    for entry, files in EDGE_CASES.items():
        folder = root / Path(entry).stem
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(textwrap.dedent(text).replace("{root}", str(folder)) + "\n")
    (root / "odd_files" / "empty.yaml").write_text("")
    return [_edge_entry(root, entry) for entry in EDGE_CASES]


def _edge_entry(root: Path, entry: str) -> Path:
    return root / Path(entry).stem / entry


@pytest.fixture(scope="module")
def nemo_rl_loads(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """release -> (tree, edge-case folder, scratch, NeMo-RL's result per file path), one NeMo-RL
    process per release for its recipes and the edge cases."""
    done: dict[str, tuple[Path, Path, Path, dict[str, Any]]] = {}

    def load(release: str) -> tuple[Path, Path, Path, dict[str, Any]]:
        if release not in done:
            tree = real_tree(release)
            scratch = tmp_path_factory.mktemp(f"recipes_{release}")
            edges = scratch / "edge"
            files = [*sorted((tree / RECIPES).rglob("*.yaml")), *_write_edge_cases(edges)]
            out = scratch / "nemo_rl_loads.json"
            argv = [str(VENV_SIDE / "recipe_load_driver.py"), str(out), *map(str, files)]
            result = run_in_venv(tree, argv, scratch)
            assert result.returncode == 0, result.stderr[-3000:]
            done[release] = (tree, edges, scratch, json.loads(out.read_text()))
        return done[release]

    return load


def _canonical(config: Any) -> str:
    """Types and key order count: 1 is not 1.0, nor true."""
    return json.dumps(config)


def _first_difference(ours: Any, theirs: Any, key: str = "") -> str:
    if isinstance(ours, dict) and isinstance(theirs, dict):
        if list(ours) != list(theirs):
            return f"{key or '<top>'}: keys {list(ours)} != {list(theirs)}"
        for k in ours:
            if _canonical(ours[k]) != _canonical(theirs[k]):
                return _first_difference(ours[k], theirs[k], f"{key}.{k}".lstrip("."))
    return f"{key or '<top>'}: ours {ours!r} != NeMo-RL's {theirs!r}"


def _differences(config: DictConfig, theirs: dict[str, Any]) -> list[str]:
    """What differs from NeMo-RL's result, unresolved and, where NeMo-RL resolves it, resolved."""
    found = []
    pairs = [("unresolved", OmegaConf.to_container(config, resolve=False))]
    if "resolved" in theirs:
        pairs.append(("resolved", OmegaConf.to_container(config, resolve=True)))
    for kind, ours in pairs:
        if _canonical(ours) != _canonical(theirs[kind]):
            found.append(f"{kind}: {_first_difference(ours, theirs[kind])}")
    return found


@pytest.mark.parametrize("release", RELEASES)
def test_every_dpo_and_grpo_recipe_loads_as_nemo_rl_loads_it(
    release: str, nemo_rl_loads: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    tree, _, scratch, theirs = nemo_rl_loads(release)
    monkeypatch.setenv("HF_HOME", str(scratch / "hf"))  # as the NeMo-RL process had it
    register_resolvers()
    trainers: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    unequal, unresolvable, excepted = [], [], []
    for path in sorted((tree / RECIPES).rglob("*.yaml")):
        name = f"{release}/{path.relative_to(tree / RECIPES)}"
        prefix = path.name.split("-")[0]
        assert prefix in BY_NAME, f"{name}: a recipe kind this test does not know"
        config = load_recipe(path, release)
        try:
            trainer = recipe_trainer(config, path)
        except LaunchRejected as err:
            assert BY_NAME[prefix] is None, f"{name} refused: {err.problem}"
            refused[prefix] += 1
            continue
        assert trainer in (BY_NAME[prefix] or ()), f"{name}: found {trainer.value}"
        if name in PARITY_EXCEPTIONS:
            excepted.append(name)
            continue
        trainers[trainer.value] += 1
        result = theirs[str(path)]
        assert "load_error" not in result, f"{name}: NeMo-RL fails: {result['load_error']}"
        unequal += [f"{name}: {d}" for d in _differences(config, result)]
        if "resolve_error" in result:
            unresolvable.append(f"{name}: {result['resolve_error']}")
    total = sum(trainers.values())
    resolved = total - len(unresolvable)
    with capsys.disabled():
        print(
            f"\nNeMo-RL {release}: {total - len(unequal)}/{total} DPO and GRPO recipes load equal "
            f"({', '.join(f'{t} {n}' for t, n in sorted(trainers.items()))}), "
            f"{resolved}/{total} resolve equal; {sum(refused.values())} others refused "
            f"({', '.join(f'{t} {n}' for t, n in sorted(refused.items()))})"
            + "".join(f"\n  not resolvable by NeMo-RL: {u}" for u in unresolvable)
            + "".join(f"\n  excepted: {e}: {PARITY_EXCEPTIONS[e]}" for e in excepted)
        )
    assert not unequal, "\n".join(unequal)
    assert total >= 10 and trainers[Trainer.dpo.value] > 0 and trainers[Trainer.grpo.value] > 0
    assert not unresolvable, "\n".join(unresolvable)


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("entry", EDGE_CASES)
def test_each_inheritance_rule_as_nemo_rl_applies_it(
    release: str, entry: str, nemo_rl_loads: Any
) -> None:
    """Where NeMo-RL loads the recipe ours is equal; where it fails (a traceback), ours refuses."""
    _, edges, _, theirs = nemo_rl_loads(release)
    register_resolvers()
    result = theirs[str(_edge_entry(edges, entry))]
    if "load_error" in result:
        with pytest.raises(LaunchRejected):
            load_recipe(_edge_entry(edges, entry), release)
        return
    assert _differences(load_recipe(_edge_entry(edges, entry), release), result) == []


def test_the_edge_cases_cover_both_outcomes_and_the_release_difference(nemo_rl_loads: Any) -> None:
    """The hand-made recipes include ones NeMo-RL loads and ones it fails on, and the one rule that
    differs between releases (a top-level `???`) differs in NeMo-RL itself."""
    outcomes = {}
    for release in RELEASES:
        _, edges, _, theirs = nemo_rl_loads(release)
        outcomes[release] = {
            e: "load_error" in theirs[str(_edge_entry(edges, e))] for e in EDGE_CASES
        }
    assert outcomes["main"]["missing.yaml"] is False
    assert outcomes["v0.7.0"]["missing.yaml"] is outcomes["v0.6.0"]["missing.yaml"] is True
    assert outcomes["main"]["lists.yaml"] is False and outcomes["main"]["cycle.yaml"] is True
