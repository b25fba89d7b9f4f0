"""Checks of a rendered NeMo-RL config that types cannot express: training data present, ranges
(preflight.ranges), parallelism, batch arithmetic, backend combinations, metrics. Each failure
here would otherwise surface only after the GPUs are allocated."""

from __future__ import annotations

import os
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer
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


def check_backends(config: dict[str, Any], env: dict[str, str]) -> list[LaunchRejected]:
    policy = config["policy"]
    megatron_on = bool((policy.get("megatron_cfg") or {}).get("enabled"))
    dtensor_on = bool((policy.get("dtensor_cfg") or {}).get("enabled"))
    found = _backend_choice(megatron_on, dtensor_on)
    if megatron_on:
        found += _megatron_arch_list(env)
    if dtensor_on:
        found += _dtensor_v1_save_format(config)
    return found


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


def _megatron_arch_list(env: dict[str, str]) -> list[LaunchRejected]:
    if "TORCH_CUDA_ARCH_LIST" in env or "TORCH_CUDA_ARCH_LIST" in os.environ:
        return []
    return [
        LaunchRejected(
            "launch.env.TORCH_CUDA_ARCH_LIST",
            "is not set, and Megatron builds its kernels for the GPUs it finds from it",
            "+launch.env.TORCH_CUDA_ARCH_LIST='9.0' (H100/H200; the NeMo-RL container sets "
            "'9.0 10.0')",
        )
    ]


def _dtensor_v1_save_format(config: dict[str, Any]) -> list[LaunchRejected]:
    if (
        config["policy"]["dtensor_cfg"].get("_v2")
        or "model_save_format" not in config["checkpointing"]
    ):
        return []
    return [
        LaunchRejected(
            "checkpointing.model_save_format",
            "is set, but DTensor v1 (no policy.dtensor_cfg._v2) saves Torch DCP checkpoints "
            "and NeMo-RL raises on this key",
            "remove it (~checkpointing.model_save_format) or set +policy.dtensor_cfg._v2=true",
        )
    ]


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
