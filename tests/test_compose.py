"""Every algo composes with its default data and with data=tiny, and renders to a YAML that
NeMo-RL can load as it is."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ALGOS, compose_config, gym_data_overrides

from nemotron_align.config.render import dump_yaml, to_nemo_rl_dict
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import check_data_fits

REQUIRED_SECTIONS = {
    "dpo": {"policy", "data", "dpo", "logger", "cluster", "checkpointing"},
    "grpo": {"policy", "loss_fn", "env", "data", "grpo", "logger", "cluster", "checkpointing"},
}


def render(overrides: list[str], run_dir: Path) -> tuple[dict, str]:
    config = to_nemo_rl_dict(compose_config(overrides, run_dir))
    return config, dump_yaml(config)


def assert_loadable_as_it_is(config: dict, text: str, family: str) -> None:
    """Every section NeMo-RL needs, none of ours, nothing left to resolve."""
    assert REQUIRED_SECTIONS[family] <= config.keys()
    for key in ("launch", "hydra", "defaults"):
        assert key not in config
    assert "${" not in text
    assert "???" not in text
    assert yaml.safe_load(text) == config


def assert_keys_nemo_rl_reads_directly(config: dict, family: str) -> None:
    """Keys optional in NeMo-RL's schema that it reads directly anyway."""
    assert {"keep_top_k", "save_optimizer"} <= config["checkpointing"].keys()
    assert "num_workers" in config["data"]
    assert config["policy"]["megatron_cfg"]["enabled"] is False
    assert "enabled" in config["policy"]["sequence_packing"]
    if family == "grpo":
        assert config["policy"]["draft"]["enabled"] is False
        assert "use_multiple_dataloader" in config["data"]
        assert "num_val_samples_to_print" in config["logger"]


def assert_output_dirs_are_the_runs_own(config: dict, run_dir: Path) -> None:
    """Per-run output dirs: no auto-resume from another run's checkpoints."""
    assert config["checkpointing"]["checkpoint_dir"] == str(run_dir / "checkpoints")
    assert config["logger"]["log_dir"] == str(run_dir / "logs")


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("data", ["default", "tiny"])
def test_every_algo_renders_complete(algo: str, data: str, tmp_path: Path) -> None:
    extra = gym_data_overrides(algo) if data == "default" else [f"data={data}"]
    config, text = render([f"algo={algo}", *extra], tmp_path)

    family = "dpo" if algo == "dpo" else "grpo"
    assert_loadable_as_it_is(config, text, family)
    assert_keys_nemo_rl_reads_directly(config, family)
    assert_output_dirs_are_the_runs_own(config, tmp_path)
    check_data_fits(config, algo, data)


def test_dpo_seed_defaults(tmp_path: Path) -> None:
    dpo, _ = render(["algo=dpo"], tmp_path)
    assert dpo["dpo"]["reference_policy_kl_penalty"] == 0.05
    assert dpo["policy"]["dynamic_batching"]["enabled"] is False
    assert dpo["policy"]["sequence_packing"]["enabled"] is False
    assert "model_save_format" not in dpo["checkpointing"]
    assert dpo["data"]["train"] == {"dataset_name": "HelpSteer3", "split": "train"}


def test_rlvr_seed_defaults(tmp_path: Path) -> None:
    rlvr, _ = render(["algo=rlvr"], tmp_path)
    assert rlvr["grpo"]["num_generations_per_prompt"] == 8
    assert rlvr["grpo"]["normalize_rewards"] is True
    assert rlvr["env"]["should_use_nemo_gym"] is False
    assert rlvr["data"]["train"]["dataset_name"] == "OpenMathInstruct-2"
    assert rlvr["checkpointing"]["metric_name"] == "val:accuracy"


@pytest.mark.parametrize("algo", ["grpo_gym", "rlhf"])
def test_gym_seed_defaults(algo: str, tmp_path: Path) -> None:
    gym, _ = render([f"algo={algo}", "data=tiny"], tmp_path)
    assert gym["env"]["should_use_nemo_gym"] is True
    assert gym["grpo"]["max_val_samples"] is None
    assert gym["data"]["default"]["dataset_name"] == "NemoGymDataset"
    assert gym["env"]["nemo_gym"]["config_paths"][0] == (
        "responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"
    )


def test_override_lands_in_yaml(tmp_path: Path) -> None:
    config, _ = render(["algo=dpo", "dpo.reference_policy_kl_penalty=0.1"], tmp_path)
    assert config["dpo"]["reference_policy_kl_penalty"] == 0.1


def test_interpolations_follow_overrides(tmp_path: Path) -> None:
    config, _ = render(["algo=rlvr", "policy.max_total_sequence_length=2048"], tmp_path)
    assert config["data"]["max_input_seq_length"] == 2048
    assert config["policy"]["generation"]["vllm_cfg"]["max_model_len"] == 2048
    # ${mul:...}, NeMo-RL's resolver, is resolved here.
    assert config["policy"]["sequence_packing"]["train_mb_tokens"] == 2048 * 4


def test_rlhf_judge_matches_group_size(tmp_path: Path) -> None:
    config, _ = render(["algo=rlhf", "data=tiny", "grpo.num_generations_per_prompt=4"], tmp_path)
    judge = config["env"]["nemo_gym"]["genrm_compare_resources_server"]
    assert judge["resources_servers"]["genrm_compare"]["num_rollouts_per_prompt"] == 4
    # The block is keyed by the instance Gym defines, not the implementation name.
    assert "genrm_compare" not in config["env"]["nemo_gym"]


def test_user_dirs_win(tmp_path: Path) -> None:
    config, _ = render(
        ["algo=dpo", "checkpointing.checkpoint_dir=/ckpt/x", "logger.log_dir=/logs/x"], tmp_path
    )
    assert config["checkpointing"]["checkpoint_dir"] == "/ckpt/x"
    assert config["logger"]["log_dir"] == "/logs/x"


def test_nemo_rl_resolvers_usable(tmp_path: Path) -> None:
    config, _ = render(
        [
            "algo=dpo",
            "+policy.extra_a=${add:1,2}",
            "+policy.extra_b=${div:6,4}",
            "+policy.extra_c=${max:3,9}",
            "+policy.extra_d=${mul:2,5}",
        ],
        tmp_path,
    )
    assert [config["policy"][f"extra_{k}"] for k in "abcd"] == [3, 1.5, 9, 10]


def test_missing_values_are_named(tmp_path: Path) -> None:
    with pytest.raises(LaunchRejected) as err:
        render(["algo=dpo", "data=preference_jsonl"], tmp_path)
    text = err.value.render()
    assert "data.train.data_path" in text and "data.validation.data_path" in text
    assert "???" in text


@pytest.mark.parametrize(
    ("algo", "data"),
    [
        ("dpo", "response_jsonl"),
        ("rlvr", "preference_jsonl"),
        ("rlvr", "nemo_gym_jsonl"),
        ("grpo_gym", "response_jsonl"),
    ],
)
def test_pairings_that_cannot_work(algo: str, data: str, tmp_path: Path) -> None:
    config, _ = render(
        [
            f"algo={algo}",
            f"data={data}",
            "data.train.data_path=/x.jsonl",
            "data.validation.data_path=/y.jsonl",
        ],
        tmp_path,
    )
    with pytest.raises(LaunchRejected) as err:
        check_data_fits(config, algo, data)
    assert f"data={data} does not fit algo={algo}" in err.value.render()
    assert "data=tiny" in err.value.fix
