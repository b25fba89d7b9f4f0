"""Hand-made NeMo-RL recipes for the recipe tests: our own complete config of an algo for v0.7.0
as the base, and a small recipe on it with `defaults:` (NeMo-RL's inheritance), so a recipe run
needs no NeMo-RL tree."""

from __future__ import annotations

from pathlib import Path

from conftest import compose_config

from nemotron_align.config.render import dump_yaml, to_nemo_rl_dict

# What each recipe sets on top of its base: keys whose values only the recipe has.
RECIPE_ON_TOP = {
    "dpo": "dpo:\n  reference_policy_kl_penalty: 0.2\n  seed: 1234\n"
    "data:\n  max_input_seq_length: ${policy.max_total_sequence_length}\n",
    "rlvr": "grpo:\n  seed: 7\n",
    "grpo_gym": "grpo:\n  seed: 7\n"
    "env:\n  nemo_gym:\n    math_with_judge:\n      resources_servers:\n"
    "        math_with_judge:\n          domain: recipe_math\n",
}


def write_recipe(folder: Path, algo: str) -> Path:
    """<folder>/recipes/<algo>-small.yaml on <folder>/base/<algo>.yaml: our complete config of
    `algo=<algo> data=tiny` for v0.7.0, whose run paths point elsewhere."""
    base = folder / "base" / f"{algo}.yaml"
    base.parent.mkdir(parents=True, exist_ok=True)
    cfg = compose_config([f"algo={algo}", "data=tiny", "nemo_rl=v0.7.0"], folder / "elsewhere")
    base.write_text(dump_yaml(to_nemo_rl_dict(cfg)))
    recipe = folder / "recipes" / f"{algo}-small.yaml"
    recipe.parent.mkdir(exist_ok=True)
    recipe.write_text(f"defaults: ../base/{algo}.yaml\n{RECIPE_ON_TOP[algo]}")
    return recipe
