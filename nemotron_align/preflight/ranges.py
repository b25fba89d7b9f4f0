"""Range checks of a rendered NeMo-RL config: counts that must be positive and fit NeMo-RL's
tensors, DPO's beta, GRPO's group size. The bounds of the typed sections (`dpo`, `grpo`) sit
beside their types in nemotron_align.config.knob_schema."""

from __future__ import annotations

from typing import Any

from nemotron_align.config.knob_schema import DPOSection, GRPOSection, lower_bounds
from nemotron_align.config.render import config_value, leaf_paths
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer

# (key, lowest allowed value) of the counts of each trainer's section: beside their types.
_SECTION_COUNTS = {
    Trainer.dpo: lower_bounds("dpo", DPOSection),
    Trainer.grpo: lower_bounds("grpo", GRPOSection),
}
# Counts outside the typed sections.
_COMMON_AT_LEAST = [
    ("policy.train_global_batch_size", 1),
    ("policy.train_micro_batch_size", 1),
    ("policy.max_total_sequence_length", 1),
    ("cluster.num_nodes", 1),
    ("cluster.gpus_per_node", 1),
]


# Counts and sizes end up in int32 tensors and kernel arguments on the nodes: past this they
# overflow there, after the allocation, instead of failing here.
COUNT_MAX = 2**31 - 1
# Any other integer must fit the int64 of a tensor (and of NumPy, Ray and C extensions).
INT_MAX = 2**63 - 1


def _family(trainer: Trainer) -> Trainer:
    return Trainer.dpo if trainer is Trainer.dpo else Trainer.grpo


def check_ranges(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    counts = _COMMON_AT_LEAST + _SECTION_COUNTS[_family(trainer)]
    found = [
        p for key, lowest in counts if (p := _count_problem(key, config_value(config, key), lowest))
    ]
    found += _rollouts_too_large(config, trainer)
    found += [
        _too_large(key, value, INT_MAX, "2**63 - 1")
        for key, value in leaf_paths(config)
        if isinstance(value, int) and abs(value) > INT_MAX and key not in dict(counts)
    ]
    if trainer is Trainer.dpo:
        return found + _beta_not_positive(config)
    return found + _leave_one_out_alone(config)


def _count_problem(key: str, value: Any, lowest: int) -> LaunchRejected | None:
    if not isinstance(value, int) or isinstance(value, bool):
        return LaunchRejected(
            key, f"is {value!r}; expected an integer", f"set {key} to a whole number"
        )
    if value < lowest:
        return LaunchRejected(
            key, f"is {value}; it must be at least {lowest}", f"set {key} to {lowest} or more"
        )
    if value > COUNT_MAX:
        return _too_large(key, value, COUNT_MAX, "2**31 - 1")
    return None


def _beta_not_positive(config: dict[str, Any]) -> list[LaunchRejected]:
    beta = config_value(config, "dpo.reference_policy_kl_penalty")
    if not isinstance(beta, (int, float)) or beta > 0:
        return []
    return [
        LaunchRejected(
            "dpo.reference_policy_kl_penalty",
            f"is {beta}; DPO's beta must be positive",
            "use a value such as 0.05, 0.1 or 0.3",
        )
    ]


def _leave_one_out_alone(config: dict[str, Any]) -> list[LaunchRejected]:
    grpo = config.get("grpo") or {}
    if not grpo.get("use_leave_one_out_baseline") or grpo.get("num_generations_per_prompt") != 1:
        return []
    return [
        LaunchRejected(
            "grpo.num_generations_per_prompt",
            "is 1, but the leave-one-out baseline needs at least 2 completions per prompt",
            "set grpo.num_generations_per_prompt=2 or more (or "
            "grpo.use_leave_one_out_baseline=false)",
        )
    ]


def _too_large(key: str, value: int, limit: int, named: str) -> LaunchRejected:
    return LaunchRejected(
        key,
        f"is {value:,}; it must be at most {named} = {limit:,}, the largest NeMo-RL's tensors "
        "can hold",
        f"set {key} to {limit:,} or less",
    )


def _rollouts_too_large(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    """Each bound alone is not enough: a GRPO step generates prompts x generations rollouts."""
    grpo = config.get("grpo") or {}
    prompts, generations = grpo.get("num_prompts_per_step"), grpo.get("num_generations_per_prompt")
    if trainer is Trainer.dpo or not all(type(n) is int for n in (prompts, generations)):
        return []
    if prompts > COUNT_MAX or generations > COUNT_MAX or prompts * generations <= COUNT_MAX:
        return []
    return [
        LaunchRejected(
            "grpo.num_prompts_per_step",
            f"x grpo.num_generations_per_prompt = {prompts:,} x {generations:,} = "
            f"{prompts * generations:,} rollouts per step; it must be at most 2**31 - 1 = "
            f"{COUNT_MAX:,}, the largest NeMo-RL's tensors can hold",
            "lower grpo.num_prompts_per_step or grpo.num_generations_per_prompt",
        )
    ]
