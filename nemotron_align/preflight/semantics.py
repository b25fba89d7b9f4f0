"""Checks of a rendered NeMo-RL config that types cannot express: training data present, ranges
(preflight.ranges), parallelism, batch arithmetic, backend combinations, metrics. Each failure
here would otherwise surface only after the GPUs are allocated."""

from __future__ import annotations

from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.preflight.pairing import DATASET_ENTRIES, Trainer
from nemotron_align.preflight.ranges import check_ranges
from nemotron_align.preflight.train_data import check_train_data


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


def check_backends(config: dict[str, Any], context: PreflightContext) -> list[LaunchRejected]:
    policy = config["policy"]
    megatron_on = bool((policy.get("megatron_cfg") or {}).get("enabled"))
    dtensor_on = bool((policy.get("dtensor_cfg") or {}).get("enabled"))
    found = _backend_choice(megatron_on, dtensor_on)
    if megatron_on:
        found += _megatron_arch_list(context)
    return found + _v1_save_format(config)


def _backend_choice(megatron_on: bool, dtensor_on: bool) -> list[LaunchRejected]:
    if megatron_on and dtensor_on:
        return [
            LaunchRejected(
                "policy.megatron_cfg.enabled",
                "Megatron and DTensor are both enabled; NeMo-RL refuses that at start-up",
                "to train with Megatron: policy.megatron_cfg.enabled=true "
                "policy.dtensor_cfg.enabled=false",
            )
        ]
    if not megatron_on and not dtensor_on:
        return [
            LaunchRejected(
                "policy.dtensor_cfg.enabled",
                "neither DTensor nor Megatron is enabled",
                "enable one training backend: policy.dtensor_cfg.enabled=true",
            )
        ]
    return []


ARCH_LIST = "TORCH_CUDA_ARCH_LIST"
ARCH_LIST_FIX = f"+launch.env.{ARCH_LIST}='9.0' (H100/H200; the NeMo-RL container sets '9.0 10.0')"


def _megatron_arch_list(context: PreflightContext) -> list[LaunchRejected]:
    """NeMo-RL's Policy raises at start-up without it (Megatron builds its kernels from it)."""
    if ARCH_LIST in context.job_env:
        return []
    if context.container_image:
        context.warnings.append(
            f"warning: launch.env.{ARCH_LIST}: is not set for the job; Megatron needs it, and "
            f"only the image {context.container_image} can set it (the NeMo-RL image does); "
            f"for another image: {ARCH_LIST_FIX}"
        )
        return []
    return [
        LaunchRejected(
            f"launch.env.{ARCH_LIST}",
            "is not set, and Megatron builds its kernels for the GPUs it finds from it",
            ARCH_LIST_FIX,
        )
    ]


def _v1_save_format(config: dict[str, Any]) -> list[LaunchRejected]:
    """NeMo-RL's Policy.save_checkpoint raises on a model_save_format unless DTensor v2 saves."""
    checkpointing = config["checkpointing"]
    save_format = checkpointing.get("model_save_format")
    v2 = (config["policy"].get("dtensor_cfg") or {}).get("_v2", False)
    if v2 or save_format is None or not checkpointing.get("enabled"):
        return []
    return [
        LaunchRejected(
            "checkpointing.model_save_format",
            f"is {save_format!r}, but policy.dtensor_cfg._v2 is false, and NeMo-RL then raises "
            "on any model_save_format at the first checkpoint",
            "checkpointing.model_save_format=null, or policy.dtensor_cfg._v2=true",
        )
    ]


def _enabled(policy: dict[str, Any], section: str) -> bool:
    return bool((policy.get(section) or {}).get("enabled"))


def _whole(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def training_share(config: dict[str, Any], trainer: Trainer) -> tuple[int, int, str]:
    """(nodes, GPUs per node) that train, as NeMo-RL's GRPO setup places them: a reward-model
    environment's and non-colocated generation's GPUs are not the policy's. With what was taken
    out, said for a message ("" when nothing was); 0 GPUs where the shares do not fit (the
    generation check names why)."""
    cluster, policy = config["cluster"], config["policy"]
    nodes, per_node = int(cluster["num_nodes"]), int(cluster["gpus_per_node"])
    if trainer is Trainer.dpo:
        return nodes, per_node, ""
    taken = []
    rm_nodes = rm_per_node = 0
    data = config.get("data") or {}
    if any((data.get(k) or {}).get("env_name") == "reward_model" for k in DATASET_ENTRIES):
        resources = ((config.get("env") or {}).get("reward_model") or {}).get("resources") or {}
        rm_nodes, rm_per_node = (
            _whole(resources.get("num_nodes")),
            _whole(resources.get("gpus_per_node")),
        )
        taken.append("env.reward_model.resources")
    policy_nodes = nodes if nodes == 1 else nodes - rm_nodes
    colocated = (policy.get("generation") or {}).get("colocated") or {}
    if colocated.get("enabled", True):
        train_nodes, train_per_node = policy_nodes, per_node - (rm_per_node if nodes == 1 else 0)
    else:
        generation = colocated.get("resources") or {}
        taken.append("policy.generation.colocated.resources")
        if policy_nodes == 1:
            subtract = _whole(generation.get("gpus_per_node")) + (rm_per_node if nodes == 1 else 0)
            train_nodes, train_per_node = 1, per_node - subtract
        else:
            train_nodes = policy_nodes - _whole(generation.get("num_nodes"))
            train_per_node = per_node
    if train_nodes <= 0 or train_per_node <= 0:
        return 0, 0, ""
    return train_nodes, train_per_node, " and ".join(taken)


def check_parallelism(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    policy = config["policy"]
    nodes, gpus_per_node, taken = training_share(config, trainer)
    if not nodes:
        return []
    total = gpus_per_node * nodes
    gpus = f"the {total} training GPUs ({nodes} node(s) x {gpus_per_node}" + (
        f", after {taken})" if taken else ")"
    )
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
                f"divide {gpus}",
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
    packed = [
        f"policy.{k}" for k in ("sequence_packing", "dynamic_batching") if _enabled(policy, k)
    ]
    # Packed or dynamic micro-batches are cut by tokens, not by train_micro_batch_size.
    unit = data_parallel if packed else mbs * data_parallel
    if gbs % unit:
        parts = (
            f"the data-parallel size {data_parallel} ({packed[0]} cuts micro-batches by tokens)"
            if packed
            else f"train_micro_batch_size x data-parallel size = {mbs} x {data_parallel} = {unit}"
        )
        found.append(
            LaunchRejected(
                "policy.train_global_batch_size",
                f"is {gbs}, not a multiple of {parts} (data-parallel = {gpus} / {model} "
                "model-parallel)",
                f"use a multiple of {unit}, or change the "
                + ("parallelism" if packed else "micro batch or parallelism"),
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
    if int(cluster["num_nodes"]) == 1:
        return _generation_share(
            "gpus_per_node",
            resources.get("gpus_per_node"),
            int(cluster["gpus_per_node"]),
            f"on one node, non-colocated generation needs some of the node's "
            f"{cluster['gpus_per_node']} GPUs",
        )
    return _generation_share(
        "num_nodes",
        resources.get("num_nodes"),
        int(cluster["num_nodes"]),
        f"non-colocated generation needs whole nodes of the {cluster['num_nodes']}",
    )


def _generation_share(name: str, given: Any, total: int, needs: str) -> list[LaunchRejected]:
    """Generation must take part of the cluster's `name`, leaving the rest for training."""
    if given and given < total:
        return []
    return [
        LaunchRejected(
            f"policy.generation.colocated.resources.{name}",
            f"is {given}; {needs} and must leave some for training",
            f"set it between 1 and cluster.{name} - 1",
        )
    ]


def check_metric(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    checkpointing = config["checkpointing"]
    metric = checkpointing.get("metric_name")
    if not checkpointing.get("enabled") or metric is None:
        return []
    if trainer is Trainer.dpo:
        names = ["default", *((config["data"].get("val_data_paths") or {}).keys())]
        allowed = [f"val:validation-{n}_loss" for n in names]
    elif trainer is Trainer.grpo_nemo_gym:
        # NeMo-RL's validate() logs accuracy beside the Gym rollout's own metrics, whose names
        # (total_reward/mean, <agent>/...) depend on the agents
        if "/" in metric:
            return []
        allowed = ["val:accuracy", "val:total_reward/mean"]
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


def validation_schedule_warnings(config: dict[str, Any], trainer: Trainer) -> list[str]:
    """Checkpoints kept by a val: metric that no validation ever logs: NeMo-RL warns at each
    save and keeps the latest ones instead of the best."""
    section = config["dpo"] if trainer is Trainer.dpo else config["grpo"]
    name = "dpo" if trainer is Trainer.dpo else "grpo"
    period, steps = section.get("val_period") or 0, section.get("max_num_steps")
    metric = str(config["checkpointing"].get("metric_name") or "")
    validates = (period > 0 and (steps is None or period <= steps)) or section.get("val_at_end")
    if validates or not config["checkpointing"].get("enabled") or not metric.startswith("val:"):
        return []
    when = f"is {period}" + (f", past {name}.max_num_steps={steps}" if period > 0 else "")
    return [
        f"warning: {name}.val_period: {when}, and {name}.val_at_end is false: no validation "
        f"runs, so no checkpoint has '{metric}' and NeMo-RL keeps the latest "
        f"checkpointing.keep_top_k instead of the best (set {name}.val_at_end=true to score them)"
    ]


def check_semantics(config: dict[str, Any], context: PreflightContext) -> list[LaunchRejected]:
    trainer = context.trainer
    problems = check_train_data(config, trainer) + check_ranges(config, trainer)
    if problems:
        return problems  # the arithmetic below assumes sane sizes
    problems += check_backends(config, context)
    problems += check_parallelism(config, trainer)
    problems += check_metric(config, trainer)
    context.warnings += validation_schedule_warnings(config, trainer)
    if trainer is not Trainer.dpo:
        problems += check_grpo_batch(config)
        problems += check_generation_resources(config)
    return problems
