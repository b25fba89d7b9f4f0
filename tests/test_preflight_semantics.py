"""The semantic checks against what NeMo-RL's own code does with each value (v0.7.0 and main
alike; the lines named are v0.7.0's): refused where NeMo-RL fails after the allocation, passed
where it runs. Our rlvr / dpo configs, composed, changed key by key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from conftest import compose_config

from nemotron_align.config.launch_schema import LaunchSettings
from nemotron_align.config.release import NemoRLInstall
from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.preflight.nemo_rl_keys import problems as key_problems
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.semantics import check_semantics


@pytest.fixture(scope="module")
def configs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    run = tmp_path_factory.mktemp("run")
    return {
        algo: to_nemo_rl_dict(compose_config([f"algo={algo}", "data=tiny"], run))
        for algo in ("dpo", "rlvr")
    }


def _context(trainer: Trainer, **env: Any) -> PreflightContext:
    install = NemoRLInstall(Path("/nowhere"), None, None, None)
    return PreflightContext(trainer=trainer, settings=LaunchSettings(), install=install, **env)


def _checked(config: dict[str, Any], trainer: Trainer, **env: Any) -> tuple[list[str], list[str]]:
    """(errors rendered, warnings)."""
    context = _context(trainer, **env)
    errors = [p.render() for p in check_semantics(config, context)]
    return errors, context.warnings


def _with(config: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy with dotted keys (a__b for a.b) set."""
    changed = copy.deepcopy(config)
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = changed
        for part in parents:
            node = node.setdefault(part, {})
        node[key] = value
    return changed


def test_our_configs_pass(configs: dict[str, dict[str, Any]]) -> None:
    assert _checked(configs["dpo"], Trainer.dpo) == ([], [])
    assert _checked(configs["rlvr"], Trainer.grpo) == ([], [])


@pytest.mark.parametrize(
    ("save_format", "v2", "enabled", "refused"),
    [
        ("safetensors", False, True, True),  # lm_policy.py: ValueError at the first save
        (None, False, True, False),  # `is not None`: null passes (the deepscaler recipes)
        ("safetensors", True, True, False),  # DTensor v2 takes the format
        ("safetensors", False, False, False),  # no checkpoint is ever saved
    ],
)
def test_model_save_format_is_refused_only_where_save_checkpoint_raises(
    configs: dict[str, dict[str, Any]],
    save_format: str | None,
    v2: bool,
    enabled: bool,
    refused: bool,
) -> None:
    config = _with(
        configs["rlvr"],
        checkpointing__model_save_format=save_format,
        checkpointing__enabled=enabled,
        policy__dtensor_cfg___v2=v2,
    )
    errors, _ = _checked(config, Trainer.grpo)
    assert bool(errors) is refused, errors
    if refused:
        assert "checkpointing.model_save_format: is 'safetensors'" in errors[0]


def test_megatron_uses_the_same_save_rule(configs: dict[str, dict[str, Any]]) -> None:
    config = _with(
        configs["rlvr"],
        policy__megatron_cfg__enabled=True,
        policy__dtensor_cfg__enabled=False,
        policy__dtensor_cfg___v2=False,
        checkpointing__model_save_format="torch_save",
    )
    errors, _ = _checked(config, Trainer.grpo, job_env={"TORCH_CUDA_ARCH_LIST": "9.0"})
    assert [e.split(":")[1].strip() for e in errors] == ["checkpointing.model_save_format"]


def test_a_negative_val_period_means_no_validation(configs: dict[str, dict[str, Any]]) -> None:
    """NeMo-RL validates when val_period > 0 (grpo.py, dpo.py); -1 is how recipes turn it off."""
    config = _with(configs["dpo"], dpo__val_period=-1, dpo__val_at_end=False)
    errors, warnings = _checked(config, Trainer.dpo)
    assert errors == []
    assert len(warnings) == 1 and warnings[0].startswith("warning: dpo.val_period: is -1")


def test_no_validation_with_a_val_metric_is_a_warning(configs: dict[str, dict[str, Any]]) -> None:
    """NeMo-RL warns at each save and keeps the latest checkpoints (utils/checkpoint.py)."""
    config = _with(configs["rlvr"], grpo__val_period=10, grpo__max_num_steps=2)
    config["grpo"]["val_at_end"] = False
    errors, warnings = _checked(config, Trainer.grpo)
    assert errors == []
    assert "past grpo.max_num_steps=2" in warnings[0] and "keep_top_k" in warnings[0]
    config["grpo"]["val_at_end"] = True
    assert _checked(config, Trainer.grpo) == ([], [])


def _multi_node(config: dict[str, Any], gbs: int, generation_nodes: int | None) -> dict[str, Any]:
    """3 nodes x 8 GPUs, TP 2; generation colocated (None) or on its own nodes."""
    changed = _with(
        config,
        cluster__num_nodes=3,
        cluster__gpus_per_node=8,
        policy__dtensor_cfg__tensor_parallel_size=2,
        policy__train_global_batch_size=gbs,
        policy__train_micro_batch_size=1,
        grpo__num_prompts_per_step=gbs // 2,
        grpo__num_generations_per_prompt=2,
    )
    if generation_nodes is not None:
        changed["policy"]["generation"]["colocated"] = {
            "enabled": False,
            "resources": {"num_nodes": generation_nodes, "gpus_per_node": 8},
        }
    return changed


def test_data_parallel_counts_the_training_gpus_only(configs: dict[str, dict[str, Any]]) -> None:
    """grpo.py setup(): non-colocated generation's nodes are not the policy's. 24 GPUs / TP 2 =
    DP 12 colocated, 16 / 2 = DP 8 with one generation node: 36 fits the first only."""
    assert _checked(_multi_node(configs["rlvr"], 36, None), Trainer.grpo)[0] == []
    assert _checked(_multi_node(configs["rlvr"], 32, 1), Trainer.grpo)[0] == []
    errors, _ = _checked(_multi_node(configs["rlvr"], 36, 1), Trainer.grpo)
    assert len(errors) == 1
    assert "not a multiple of the data-parallel size 8" in errors[0]
    assert "the 16 training GPUs (2 node(s) x 8, after policy.generation.colocated" in errors[0]


def test_packed_micro_batches_need_only_the_data_parallel_size(
    configs: dict[str, dict[str, Any]],
) -> None:
    """With sequence packing the workers cut micro-batches by tokens, not by
    train_micro_batch_size (dtensor_policy_worker.py train())."""
    config = _with(
        configs["rlvr"],
        cluster__gpus_per_node=8,
        policy__train_global_batch_size=16,
        policy__train_micro_batch_size=4,
        grpo__num_prompts_per_step=8,
        grpo__num_generations_per_prompt=2,
    )
    config["policy"]["sequence_packing"]["enabled"] = False
    assert "4 x 8 = 32" in _checked(config, Trainer.grpo)[0][0]
    config["policy"]["sequence_packing"]["enabled"] = True
    assert _checked(config, Trainer.grpo)[0] == []
    config["policy"]["train_global_batch_size"] = 12
    config["grpo"]["num_prompts_per_step"] = 6
    errors, _ = _checked(config, Trainer.grpo)
    assert "not a multiple of the data-parallel size 8" in errors[0]


def test_gym_runs_may_keep_checkpoints_by_accuracy(configs: dict[str, dict[str, Any]]) -> None:
    """validate() logs accuracy beside the Gym rollout's metrics (grpo.py)."""
    for metric in ("val:accuracy", "val:total_reward/mean", "val:my_agent/reward/mean"):
        config = _with(configs["rlvr"], checkpointing__metric_name=metric)
        assert _checked(config, Trainer.grpo_nemo_gym)[0] == [], metric
    config = _with(configs["rlvr"], checkpointing__metric_name="val:loss")
    assert "checkpointing.metric_name" in _checked(config, Trainer.grpo_nemo_gym)[0][0]


def test_megatron_arch_list_in_a_container_is_a_warning(
    configs: dict[str, dict[str, Any]],
) -> None:
    """lm_policy.py raises without TORCH_CUDA_ARCH_LIST; the NeMo-RL image sets it."""
    config = _with(configs["rlvr"], policy__megatron_cfg__enabled=True)
    config["policy"]["dtensor_cfg"]["enabled"] = False
    errors, _ = _checked(config, Trainer.grpo, job_env={})
    assert "launch.env.TORCH_CUDA_ARCH_LIST: is not set" in errors[0]
    errors, warnings = _checked(
        config, Trainer.grpo, job_env={}, container_image="nvcr.io#nvidia/nemo-rl:v0.7.0"
    )
    assert errors == [] and "nvcr.io#nvidia/nemo-rl:v0.7.0" in warnings[0]
    assert _checked(config, Trainer.grpo, job_env={"TORCH_CUDA_ARCH_LIST": "9.0"}) == ([], [])


def test_a_nested_override_marker_is_a_warning(configs: dict[str, dict[str, Any]]) -> None:
    """NeMo-RL's load_config honours _override_ on top-level sections only (utils/config.py)."""
    config = _with(configs["rlvr"], policy__megatron_cfg___override_=True)
    errors, warnings = key_problems(config, "v0.7.0", "grpo")
    assert errors == []
    assert any(w.startswith("policy.megatron_cfg._override_: NeMo-RL honours") for w in warnings)
