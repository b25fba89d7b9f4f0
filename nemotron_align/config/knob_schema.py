"""Typed schemas of the NeMo-RL sections users sweep (`dpo`, `grpo`), in Hydra's ConfigStore.

Each algo mounts its schema under its section, so a value of the wrong type
(`dpo.reference_policy_kl_penalty=abc`) or a key that isn't there fails while Hydra composes.
The values live only in the YAML (conf/algo/dpo.yaml, conf/components/grpo.yaml and
conf/components/nemo_rl_grpo/): a field here has a type and, for counts, its lowest allowed
value (`at_least`), which nemotron_align.preflight.ranges checks before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hydra.core.config_store import ConfigStore


def at_least(lowest: int) -> Any:
    """A required count whose value must be `lowest` or more."""
    return field(metadata={"at_least": lowest})


@dataclass
class DPOSection:
    reference_policy_kl_penalty: float
    preference_loss_weight: float
    sft_loss_weight: float
    preference_average_log_probs: bool
    sft_average_log_probs: bool
    max_num_epochs: int = at_least(1)
    max_num_steps: int = at_least(1)
    # <= 0: no periodic validation (NeMo-RL validates when val_period > 0)
    val_period: int
    val_batches: int
    val_global_batch_size: int = at_least(1)
    val_micro_batch_size: int = at_least(1)
    val_at_start: bool
    val_at_end: bool
    seed: int


@dataclass
class GRPOSection:
    num_prompts_per_step: int = at_least(1)
    num_generations_per_prompt: int = at_least(1)
    max_rollout_turns: int = at_least(1)
    max_num_epochs: int = at_least(1)
    max_num_steps: int = at_least(1)
    normalize_rewards: bool
    use_leave_one_out_baseline: bool
    # <= 0: no periodic validation (NeMo-RL validates when val_period > 0)
    val_period: int
    val_at_start: bool
    val_at_end: bool
    overlong_filtering: bool
    max_val_samples: int | None
    val_batch_size: int | None
    seed: int
    use_dynamic_sampling: bool
    dynamic_sampling_max_gen_batches: int
    batch_multiplier: int
    reward_shaping: dict[str, Any]
    adv_estimator: dict[str, Any]
    reward_scaling: dict[str, Any]
    seq_logprob_error_threshold: float | None
    async_grpo: dict[str, Any]


@dataclass
class GRPOSectionV070(GRPOSection):
    """The `grpo` keys NeMo-RL v0.7.0 added (mounted by conf/components/nemo_rl_grpo/v0.7.0)."""

    advantage_clip_low: float | None
    advantage_clip_high: float | None
    invalid_tool_call_advantage: float | None
    malformed_thinking_advantage: float | None


def lower_bounds(section: str, schema: type) -> list[tuple[str, int]]:
    """(dotted key, lowest allowed value) of each count of `schema`, mounted at `section`."""
    return [
        (f"{section}.{f.name}", f.metadata["at_least"])
        for f in fields(schema)
        if "at_least" in f.metadata
    ]


def register_knob_schemas() -> None:
    store = ConfigStore.instance()
    store.store(group="schema", name="dpo", node=DPOSection)
    store.store(group="schema", name="grpo", node=GRPOSection)
    store.store(group="schema", name="grpo_v0.7.0", node=GRPOSectionV070)
