"""Which NeMo-RL trainer a loaded recipe is for, from its content (its file name may say
anything): a `dpo` section is DPO, a `grpo` section GRPO, with NeMo-Gym where
`env.should_use_nemo_gym` is true (tested as NeMo-RL tests it: its truth value)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer

# The top-level section of each of NeMo-RL's other trainers' configs, and what it trains.
OTHER_TRAINERS = {
    "sft": "SFT",
    "distillation": "distillation",
    "rm": "reward model",
    "ppo": "PPO",
}
SUPPORTED = (
    "nemotron_align runs DPO recipes (a `dpo` section) and GRPO recipes (a `grpo` section; "
    "with NeMo-Gym where env.should_use_nemo_gym is true)"
)


def recipe_trainer(recipe: DictConfig, path: str | Path) -> Trainer:
    """The trainer of `recipe` (loaded from `path`); any other recipe is refused."""
    sections = [key for key in ("dpo", "grpo", *OTHER_TRAINERS) if key in recipe]
    if sections == ["dpo"]:
        return Trainer.dpo
    if sections == ["grpo"]:
        return Trainer.grpo_nemo_gym if _uses_nemo_gym(recipe, path) else Trainer.grpo
    if not sections:
        problem = "has no `dpo` or `grpo` section, so it is for no trainer nemotron_align runs"
    elif len(sections) == 1:
        problem = f"is a {OTHER_TRAINERS[sections[0]]} recipe (it has a `{sections[0]}` section)"
    else:
        named = ", ".join(f"`{s}`" for s in sections)
        problem = f"has the sections of several trainers ({named}): which one is ambiguous"
    raise LaunchRejected(
        str(path),
        f"{problem}; {SUPPORTED}",
        "start from a DPO or GRPO recipe (NeMo-RL's examples/configs/recipes/llm/dpo-*.yaml, "
        "grpo-*.yaml), or run this one with NeMo-RL's own example script",
    )


def _uses_nemo_gym(recipe: DictConfig, path: str | Path) -> bool:
    where = f"{path}: env.should_use_nemo_gym"
    try:
        env = OmegaConf.select(recipe, "env", default=None)
        if not isinstance(env, DictConfig):  # no env section: NeMo-RL reads it as false
            return False
        if OmegaConf.is_missing(env, "should_use_nemo_gym"):
            raise LaunchRejected(where, "is ??? (no value)", "set it to true or false")
        return bool(env.get("should_use_nemo_gym"))
    except OmegaConfBaseException as err:
        raise LaunchRejected(
            where, f"cannot be resolved: {err}", "set it to true or false"
        ) from None
