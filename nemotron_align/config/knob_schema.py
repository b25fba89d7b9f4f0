"""Typed schemas of the NeMo-RL sections users sweep (`dpo`, `grpo`), in Hydra's ConfigStore.

Each algo mounts its schema under its section, so a value of the wrong type
(`dpo.reference_policy_kl_penalty=abc`) or a key that isn't there fails while Hydra composes.
Ranges that types cannot express are checked by nemotron_align.preflight.semantics before
anything is written. The fields are exactly the keys the bundled configs write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore


@dataclass
class DPOSection:
    reference_policy_kl_penalty: float = 0.05
    preference_loss_weight: float = 1.0
    sft_loss_weight: float = 0.0
    preference_average_log_probs: bool = False
    sft_average_log_probs: bool = False
    max_num_epochs: int = 1
    max_num_steps: int = 150
    val_period: int = 25
    val_batches: int = 8
    val_global_batch_size: int = 8
    val_micro_batch_size: int = 1
    val_at_start: bool = True
    val_at_end: bool = False
    seed: int = 42


@dataclass
class GRPOSection:
    num_prompts_per_step: int = 32
    num_generations_per_prompt: int = 8
    max_rollout_turns: int = 1
    max_num_epochs: int = 1
    max_num_steps: int = 1000000
    normalize_rewards: bool = True
    use_leave_one_out_baseline: bool = True
    val_period: int = 10
    val_at_start: bool = False
    val_at_end: bool = False
    overlong_filtering: bool = False
    max_val_samples: int | None = 256
    val_batch_size: int | None = 256
    seed: int = 42
    use_dynamic_sampling: bool = False
    dynamic_sampling_max_gen_batches: int = 10
    batch_multiplier: int = 1
    reward_shaping: dict[str, Any] = field(default_factory=dict)
    adv_estimator: dict[str, Any] = field(default_factory=dict)
    reward_scaling: dict[str, Any] = field(default_factory=dict)
    seq_logprob_error_threshold: float | None = None
    async_grpo: dict[str, Any] = field(default_factory=dict)


@dataclass
class GRPOSectionV070(GRPOSection):
    """The `grpo` keys NeMo-RL v0.7.0 added (mounted by conf/components/nemo_rl_grpo/v0.7.0)."""

    advantage_clip_low: float | None = None
    advantage_clip_high: float | None = None
    invalid_tool_call_advantage: float | None = None
    malformed_thinking_advantage: float | None = None


def register_knob_schemas() -> None:
    store = ConfigStore.instance()
    store.store(group="schema", name="dpo", node=DPOSection)
    store.store(group="schema", name="grpo", node=GRPOSection)
    store.store(group="schema", name="grpo_v0.7.0", node=GRPOSectionV070)
