"""Checks of a rendered NeMo-RL config that types cannot express: ranges, parallelism, batch
arithmetic, backend combinations, metrics. Each failure here would otherwise surface only after
the GPUs are allocated."""

from __future__ import annotations

import os
from typing import Any

from nemotron_align.config.render import leaf_paths
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.train_data import check_train_data

# (key, lowest allowed value): counts and sizes that must be positive.
_AT_LEAST = {
    Trainer.dpo: [
        ("dpo.max_num_steps", 1),
        ("dpo.max_num_epochs", 1),
        ("dpo.val_period", 0),
        ("dpo.val_global_batch_size", 1),
        ("dpo.val_micro_batch_size", 1),
    ],
    Trainer.grpo: [
        ("grpo.num_prompts_per_step", 1),
        ("grpo.num_generations_per_prompt", 1),
        ("grpo.max_num_steps", 1),
        ("grpo.max_num_epochs", 1),
        ("grpo.val_period", 0),
        ("grpo.max_rollout_turns", 1),
    ],
}
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


def _get(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _family(trainer: Trainer) -> Trainer:
    return Trainer.dpo if trainer is Trainer.dpo else Trainer.grpo


def check_ranges(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    found = []
    counts = _COMMON_AT_LEAST + _AT_LEAST[_family(trainer)]
    for key, lowest in counts:
        value = _get(config, key)
        if not isinstance(value, int) or isinstance(value, bool):
            found.append(
                LaunchRejected(
                    key, f"is {value!r}; expected an integer", f"set {key} to a whole number"
                )
            )
        elif value < lowest:
            found.append(
                LaunchRejected(
                    key,
                    f"is {value}; it must be at least {lowest}",
                    f"set {key} to {lowest} or more",
                )
            )
        elif value > COUNT_MAX:
            found.append(_too_large(key, value, COUNT_MAX, "2**31 - 1"))
    found += _rollouts_too_large(config, trainer)
    found += [
        _too_large(key, value, INT_MAX, "2**63 - 1")
        for key, value in leaf_paths(config)
        if isinstance(value, int) and abs(value) > INT_MAX and key not in dict(counts)
    ]
    beta = _get(config, "dpo.reference_policy_kl_penalty")
    if trainer is Trainer.dpo and isinstance(beta, (int, float)) and beta <= 0:
        found.append(
            LaunchRejected(
                "dpo.reference_policy_kl_penalty",
                f"is {beta}; DPO's beta must be positive",
                "use a value such as 0.05, 0.1 or 0.3",
            )
        )
    grpo = config.get("grpo") or {}
    if (
        trainer is not Trainer.dpo
        and grpo.get("use_leave_one_out_baseline")
        and grpo.get("num_generations_per_prompt") == 1
    ):
        found.append(
            LaunchRejected(
                "grpo.num_generations_per_prompt",
                "is 1, but the leave-one-out baseline needs at least 2 completions per prompt",
                "set grpo.num_generations_per_prompt=2 or more (or "
                "grpo.use_leave_one_out_baseline=false)",
            )
        )
    return found


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


def model_parallel(policy: dict[str, Any]) -> tuple[str, int, int, int]:
    """(backend, tensor, pipeline, context) parallel sizes of the training backend in use."""
    megatron = policy.get("megatron_cfg") or {}
    if megatron.get("enabled"):
        return (
            "megatron",
            int(megatron.get("tensor_model_parallel_size", 1)),
            int(megatron.get("pipeline_model_parallel_size", 1)),
            int(megatron.get("context_parallel_size", 1)),
        )
    dtensor = policy.get("dtensor_cfg") or {}
    return (
        "dtensor",
        int(dtensor.get("tensor_parallel_size", 1)),
        1,
        int(dtensor.get("context_parallel_size", 1)),
    )


def check_backends(config: dict[str, Any], env: dict[str, str]) -> list[LaunchRejected]:
    policy = config["policy"]
    megatron_on = bool((policy.get("megatron_cfg") or {}).get("enabled"))
    dtensor_on = bool((policy.get("dtensor_cfg") or {}).get("enabled"))
    found = []
    if megatron_on and dtensor_on:
        found.append(
            LaunchRejected(
                "policy.megatron_cfg.enabled",
                "Megatron and DTensor are both enabled; NeMo-RL refuses that at start-up",
                "to train with Megatron: policy.megatron_cfg.enabled=true "
                "policy.dtensor_cfg.enabled=false",
            )
        )
    if not megatron_on and not dtensor_on:
        found.append(
            LaunchRejected(
                "policy.dtensor_cfg.enabled",
                "neither DTensor nor Megatron is enabled",
                "enable one training backend: policy.dtensor_cfg.enabled=true",
            )
        )
    if (
        megatron_on
        and "TORCH_CUDA_ARCH_LIST" not in env
        and "TORCH_CUDA_ARCH_LIST" not in os.environ
    ):
        found.append(
            LaunchRejected(
                "launch.env.TORCH_CUDA_ARCH_LIST",
                "is not set, and Megatron builds its kernels for the GPUs it finds from it",
                "+launch.env.TORCH_CUDA_ARCH_LIST='9.0' (H100/H200; the NeMo-RL container sets "
                "'9.0 10.0')",
            )
        )
    dtensor = policy.get("dtensor_cfg") or {}
    if dtensor_on and not dtensor.get("_v2") and "model_save_format" in config["checkpointing"]:
        found.append(
            LaunchRejected(
                "checkpointing.model_save_format",
                "is set, but DTensor v1 (no policy.dtensor_cfg._v2) saves Torch DCP checkpoints "
                "and NeMo-RL raises on this key",
                "remove it (~checkpointing.model_save_format) or set +policy.dtensor_cfg._v2=true",
            )
        )
    return found


def check_parallelism(config: dict[str, Any]) -> list[LaunchRejected]:
    cluster, policy = config["cluster"], config["policy"]
    gpus_per_node, nodes = int(cluster["gpus_per_node"]), int(cluster["num_nodes"])
    total = gpus_per_node * nodes
    backend, tp, pp, cp = model_parallel(policy)
    model = tp * pp * cp
    prefix = "policy.megatron_cfg" if backend == "megatron" else "policy.dtensor_cfg"
    tp_key = (
        f"{prefix}.tensor_model_parallel_size"
        if backend == "megatron"
        else (f"{prefix}.tensor_parallel_size")
    )
    found = []
    if total % model:
        found.append(
            LaunchRejected(
                tp_key,
                f"tensor x pipeline x context parallel = {tp} x {pp} x {cp} = {model} does not "
                f"divide the {total} GPUs (cluster.num_nodes={nodes} x cluster.gpus_per_node="
                f"{gpus_per_node})",
                "choose sizes whose product divides the GPU count, or change the cluster size",
            )
        )
        return found
    if tp > gpus_per_node:
        found.append(
            LaunchRejected(
                tp_key,
                f"is {tp}, more than the {gpus_per_node} GPUs of one node",
                "keep tensor parallelism within a node (NVLink)",
            )
        )
    data_parallel = total // model
    gbs, mbs = int(policy["train_global_batch_size"]), int(policy["train_micro_batch_size"])
    if gbs % (mbs * data_parallel):
        found.append(
            LaunchRejected(
                "policy.train_global_batch_size",
                f"is {gbs}, not a multiple of train_micro_batch_size x data-parallel size = "
                f"{mbs} x {data_parallel} = {mbs * data_parallel} (data-parallel = {total} GPUs "
                f"/ "
                f"{model} model-parallel)",
                f"use a multiple of {mbs * data_parallel}, or change the micro batch or "
                "parallelism",
            )
        )
    return found


def check_grpo_batch(config: dict[str, Any]) -> list[LaunchRejected]:
    grpo, policy = config["grpo"], config["policy"]
    rollouts = int(grpo["num_prompts_per_step"]) * int(grpo["num_generations_per_prompt"])
    gbs = int(policy["train_global_batch_size"])
    if rollouts % gbs == 0:
        return []
    return [
        LaunchRejected(
            "policy.train_global_batch_size",
            f"is {gbs}, but each GRPO step generates num_prompts_per_step x "
            f"num_generations_per_prompt = {grpo['num_prompts_per_step']} x "
            f"{grpo['num_generations_per_prompt']} = {rollouts} rollouts, not a multiple of it",
            f"set policy.train_global_batch_size to a divisor of {rollouts} (e.g. {rollouts})",
        )
    ]


def check_generation_resources(config: dict[str, Any]) -> list[LaunchRejected]:
    generation = config["policy"].get("generation") or {}
    colocated = generation.get("colocated") or {}
    if colocated.get("enabled", True):
        return []
    resources = colocated.get("resources") or {}
    cluster = config["cluster"]
    gen_nodes, gen_gpus = resources.get("num_nodes"), resources.get("gpus_per_node")
    if int(cluster["num_nodes"]) == 1:
        if not gen_gpus or gen_gpus >= int(cluster["gpus_per_node"]):
            return [
                LaunchRejected(
                    "policy.generation.colocated.resources.gpus_per_node",
                    f"is {gen_gpus}; on one node, non-colocated generation needs some of the "
                    f"node's {cluster['gpus_per_node']} GPUs and must leave some for training",
                    "set it between 1 and cluster.gpus_per_node - 1",
                )
            ]
        return []
    if not gen_nodes or gen_nodes >= int(cluster["num_nodes"]):
        return [
            LaunchRejected(
                "policy.generation.colocated.resources.num_nodes",
                f"is {gen_nodes}; non-colocated generation needs whole nodes of the "
                f"{cluster['num_nodes']} and must leave some for training",
                "set it between 1 and cluster.num_nodes - 1",
            )
        ]
    return []


def check_metric(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    checkpointing = config["checkpointing"]
    metric = checkpointing.get("metric_name")
    if not checkpointing.get("enabled") or metric is None:
        return []
    if trainer is Trainer.dpo:
        names = ["default", *((config["data"].get("val_data_paths") or {}).keys())]
        allowed = [f"val:validation-{n}_loss" for n in names]
    elif trainer is Trainer.grpo_nemo_gym:
        allowed = ["val:total_reward/mean"]
    else:
        allowed = ["val:accuracy"]
    if metric in allowed or not metric.startswith("val:"):
        return []
    return [
        LaunchRejected(
            "checkpointing.metric_name",
            f"is '{metric}', which this run's validation never logs; the first checkpoint would "
            "fail with 'Metric not found'",
            "use " + " or ".join(allowed),
        )
    ]


def check_validation_schedule(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    section = config["dpo"] if trainer is Trainer.dpo else config["grpo"]
    name = "dpo" if trainer is Trainer.dpo else "grpo"
    period, steps = section.get("val_period"), section.get("max_num_steps")
    metric = str(config["checkpointing"].get("metric_name") or "")
    validates = (period and steps and period <= steps) or section.get("val_at_end")
    if validates or not config["checkpointing"].get("enabled") or not metric.startswith("val:"):
        return []
    return [
        LaunchRejected(
            f"{name}.val_period",
            f"is {period}, past {name}.max_num_steps={steps}, and {name}.val_at_end is false: no "
            f"validation ever runs, so checkpointing on '{metric}' cannot work",
            f"set {name}.val_period to at most {steps}, or {name}.val_at_end=true",
        )
    ]


def check_semantics(config: dict[str, Any], trainer: Trainer, env: dict[str, str]) -> list:
    problems = check_train_data(config, trainer) + check_ranges(config, trainer)
    if problems:
        return problems  # the arithmetic below assumes sane sizes
    problems += check_backends(config, env)
    problems += check_parallelism(config)
    problems += check_metric(config, trainer)
    problems += check_validation_schedule(config, trainer)
    if trainer is not Trainer.dpo:
        problems += check_grpo_batch(config)
        problems += check_generation_resources(config)
    return problems
