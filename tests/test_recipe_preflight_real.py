"""Strict preflight on every DPO and GRPO recipe of v0.6.0, v0.7.0 and main, launched as in
NeMo-RL's container (TORCH_CUDA_ARCH_LIST and HF_HOME set, launch.nemo_rl_root = the tree, a
dry run): our checks refuse exactly the recipes listed here, each for the reason given, and no
other. A check that refused what NeMo-RL runs would show up as a recipe refused unexpectedly.
Composed in-process as the CLI composes (with_recipe, then Hydra), then every check of a launch
(launchers/plan.check), writing nothing."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import compose_config
from nemo_rl_real_support import real_tree
from omegaconf import OmegaConf

from nemotron_align.config.recipe_args import with_recipe
from nemotron_align.config.recipe_loader import load_recipe
from nemotron_align.errors import LaunchRejected
from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.plan import check
from nemotron_align.preflight.recipe_trainer import recipe_trainer

pytestmark = [pytest.mark.nemo_rl_real, pytest.mark.reads_trees_only]

RECIPES = "examples/configs/recipes/llm"
# Data a user must bring: placeholders, and files under $HF_HOME made by the authors' own scripts.
PLACEHOLDER = "data.train.data_path: /path/to/train.jsonl does not exist"
UNDER_HF_HOME = "{HF_HOME}/"
# NeMo-Gym's data, a git submodule of NeMo-RL that the source archives do not hold.
IN_GYM_SUBMODULE = "3rdparty/Gym-workspace/Gym/resources_servers/"
# "<release>/<recipe>": a piece of the first error our preflight gives.
REFUSED = {
    "v0.7.0/grpo-nanov3-30BA3B-2n8g-megatron_generation-async-gym.yaml": PLACEHOLDER,
    "v0.7.0/grpo-qwen3-1.7b-1n8g-megatron-super-swe1.yaml": UNDER_HF_HOME,
    "v0.7.0/grpo-qwen3-1.7b-2n8g-megatron-super-rlhf.yaml": UNDER_HF_HOME,
    "v0.7.0/grpo-qwen3-1.7b-6n8g-megatron-super-rlvr.yaml": UNDER_HF_HOME,
    "v0.7.0/grpo-qwen3-30ba3b-thinking-swe1-16n8g-megatron-cp2-r3-async-gym.yaml": UNDER_HF_HOME,
    "v0.7.0/mopd-qwen3-1.7b-3n8g-megatron-pack.yaml": UNDER_HF_HOME,
    "main/gdpo-qwen2.5-1.5b-1n8g-gym-multireward.yaml": IN_GYM_SUBMODULE,
    "main/grpo-nanov3-30BA3B-2n8g-megatron_generation-async-gym.yaml": PLACEHOLDER,
    "main/grpo-nanov3-30ba3b-3n8g-megatron-dynamo-swe1.yaml": UNDER_HF_HOME,
    "main/grpo-qwen3-1.7b-1n8g-megatron-super-swe1.yaml": UNDER_HF_HOME,
    "main/grpo-qwen3-1.7b-2n8g-megatron-super-rlhf.yaml": UNDER_HF_HOME,
    "main/grpo-qwen3-1.7b-6n8g-megatron-super-rlvr.yaml": UNDER_HF_HOME,
    "main/grpo-qwen3-30ba3b-thinking-swe1-16n8g-megatron-cp2-r3-async-gym.yaml": UNDER_HF_HOME,
    "main/mopd-qwen3-1.7b-3n8g-megatron-pack.yaml": UNDER_HF_HOME,
}


def _refusal(path: Path, release: str, tree: Path, run_dir: Path) -> str | None:
    """The first error line of our preflight on the recipe, or None where it passes."""
    args = with_recipe(
        [
            f"recipe={path}",
            f"nemo_rl={release}",
            f"launch.nemo_rl_root={tree}",
            "launch.dry_run=true",
        ]
    )
    cfg = compose_config(args, run_dir)
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=False,
        algo="recipe",
        data=None,
        overrides=args,
        composed_config_dir=None,
    )
    try:
        check(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), ctx, show=False)
    except LaunchRejected as err:
        return err.render().splitlines()[0]
    return None


@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0", "main"])
def test_strict_preflight_refuses_only_the_listed_recipes(
    release: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    tree = real_tree(release)
    # As in NeMo-RL's container: both set there.
    monkeypatch.setenv("TORCH_CUDA_ARCH_LIST", "9.0 10.0")
    hf_home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.chdir(tmp_path)
    refused, total = {}, 0
    started = time.monotonic()
    for path in sorted((tree / RECIPES).rglob("*.yaml")):
        try:
            recipe_trainer(load_recipe(path, release), path)
        except LaunchRejected:
            continue  # SFT, distillation, PPO: not ours to launch
        total += 1
        reason = _refusal(path, release, tree, tmp_path / "run")
        if reason is not None:
            refused[f"{release}/{path.relative_to(tree / RECIPES)}"] = reason
    elapsed = time.monotonic() - started
    expected = {
        name: piece.format(HF_HOME=hf_home)
        for name, piece in REFUSED.items()
        if name.startswith(f"{release}/")
    }
    with capsys.disabled():
        print(
            f"\nNeMo-RL {release}: strict preflight passes {total - len(refused)}/{total} DPO and "
            f"GRPO recipes in {elapsed:.1f} s"
            + "".join(f"\n  refused: {name}: {reason}" for name, reason in refused.items())
        )
    unexpected = {n: r for n, r in refused.items() if n not in expected}
    assert not unexpected, "refused, not listed:\n" + "\n".join(
        f"{n}: {r}" for n, r in unexpected.items()
    )
    passing = sorted(set(expected) - set(refused))
    assert not passing, f"listed as refused, but pass: {passing}"
    wrong = [f"{n}: {refused[n]}" for n, piece in expected.items() if piece not in refused[n]]
    assert not wrong, "refused for another reason:\n" + "\n".join(wrong)
