"""NeMo-Gym GRPO before the run: config materialization and checks, row normalization, and
the checks a dry run without Gym can make."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from gym_runner_support import STAND_IN_GYM, rendered

from nemotron_align.errors import LaunchRejected
from nemotron_align.gym import api as gym_api
from nemotron_align.gym import config as gym_config
from nemotron_align.gym import rows as gym_data
from nemotron_align.gym import run_config
from nemotron_align.preflight import gym as gym_preflight

ROOTS = [STAND_IN_GYM]


def problems_of(config: dict) -> list[str]:
    _, found = gym_preflight.gym_problems(config, ROOTS, STAND_IN_GYM)
    return [p.render() for p in found]


@pytest.mark.parametrize("algo", ["grpo_gym", "rlhf"])
def test_bundled_gym_algos_pass(algo: str, tmp_path: Path) -> None:
    assert problems_of(rendered(algo, tmp_path)) == []


def test_rlhf_materializes_one_implementation_and_the_alias(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path, "grpo.num_generations_per_prompt=4")
    gym = gym_config.materialize(config["env"]["nemo_gym"], ROOTS)
    block = gym.as_env_block()
    assert "config_paths" not in block
    judge = block["genrm_compare_resources_server"]["resources_servers"]["genrm_compare"]
    assert judge["num_rollouts_per_prompt"] == 4  # the inline override won over the file's 16
    assert judge["entrypoint"] == "app.py"  # the file's keys are kept
    assert list(block["genrm_model"]["responses_api_models"]) == ["genrm_model"]
    alias = block["policy_model_reasoning_off"]["responses_api_models"]["vllm_model"]
    assert alias["chat_template_kwargs"] == {"enable_thinking": False}
    assert alias["return_token_id_information"] is True  # copied from policy_model


def test_implementation_collapse_prefers_instance_name() -> None:
    gym = gym_config.materialize(
        {
            "config_paths": ["resources_servers/genrm_compare/configs/genrm_compare.yaml"],
            "genrm_model": {"responses_api_models": {"vllm_model": {"entrypoint": "app.py"}}},
            "genrm_model_name": "judge",
        },
        ROOTS,
    )
    assert list(gym.instances["genrm_model"]["responses_api_models"]) == ["genrm_model"]


def test_alias_synthesized_only_when_referenced() -> None:
    gym = gym_config.materialize(
        {"config_paths": ["responses_api_models/vllm_model/configs/vllm_model_for_training.yaml"]},
        ROOTS,
    )
    assert gym_config.REASONING_OFF_ALIAS not in gym.instances


def test_override_under_wrong_name_is_caught(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path)
    config["env"]["nemo_gym"]["genrm_compare"] = {
        "resources_servers": {"genrm_compare": {"num_rollouts_per_prompt": 8}}
    }
    found = problems_of(config)
    assert any(
        "env.nemo_gym.genrm_compare:" in p and "genrm_compare_resources_server" in p for p in found
    )


def test_genrm_rollouts_must_match_group_size(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path)
    judge = config["env"]["nemo_gym"]["genrm_compare_resources_server"]["resources_servers"]
    judge["genrm_compare"]["num_rollouts_per_prompt"] = 16
    found = problems_of(config)
    assert any("num_rollouts_per_prompt" in p and "hangs" in p for p in found)


def test_unresolvable_path_dangling_ref_and_unset_values(tmp_path: Path) -> None:
    config = rendered("grpo_gym", tmp_path)
    nemo_gym = config["env"]["nemo_gym"]
    nemo_gym["config_paths"].append("resources_servers/nope/configs/nope.yaml")
    nemo_gym["math_with_judge"]["resources_servers"]["math_with_judge"]["judge_model_server"] = {
        "type": "responses_api_models",
        "name": "missing_judge",
    }
    nemo_gym["math_with_judge"]["resources_servers"]["math_with_judge"]["secret_sauce"] = "???"
    found = "\n".join(problems_of(config))
    assert "resources_servers/nope/configs/nope.yaml: not found" in found
    assert str(STAND_IN_GYM) in found
    assert "'missing_judge', which no config defines" in found
    assert "secret_sauce: has no value (???)" in found


def test_missing_interpolation_named(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path)
    del config["env"]["nemo_gym"]["genrm_model_name"]
    del config["env"]["nemo_gym"]["genrm_model"]
    found = "\n".join(problems_of(config))
    assert "${genrm_model_name}, which is not set" in found


def test_validation_and_async_rules(tmp_path: Path) -> None:
    config = rendered(
        "grpo_gym",
        tmp_path,
        "grpo.max_val_samples=16",
        "grpo.async_grpo.enabled=true",
        "grpo.use_dynamic_sampling=true",
        "grpo.reward_shaping.enabled=true",
        "data.use_multiple_dataloader=true",
    )
    found = "\n".join(problems_of(config))
    for key in (
        "grpo.max_val_samples",
        "grpo.use_dynamic_sampling",
        "grpo.reward_shaping.enabled",
        "data.use_multiple_dataloader",
    ):
        assert f"error: {key}:" in found


def test_validation_repeat_must_fill_cohorts(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path, "+data.validation.repeat=3")
    assert any("data.validation.repeat" in p for p in problems_of(config))


def test_apply_validation_size() -> None:
    grpo = {"max_val_samples": None, "val_batch_size": 256}
    run_config.apply_validation_size(grpo, 4)
    assert grpo == {"max_val_samples": 4, "val_batch_size": 4}
    grpo = {"max_val_samples": None, "val_batch_size": 2}
    run_config.apply_validation_size(grpo, 4)
    assert grpo == {"max_val_samples": 4, "val_batch_size": 2}


@pytest.mark.parametrize(
    ("row", "expected_input"),
    [
        ({"question": "2+2?"}, [{"role": "user", "content": "2+2?"}]),
        ({"problem": "x?", "input": "ignored"}, [{"role": "user", "content": "x?"}]),
        ({"messages": [{"role": "user", "content": "hi"}]}, [{"role": "user", "content": "hi"}]),
        ({"prompt": [{"from": "human", "value": "hey"}]}, [{"role": "user", "content": "hey"}]),
    ],
)
def test_row_normalization(row: dict, expected_input: list) -> None:
    out = gym_data.normalize_row(row, "agent_a")
    assert out["responses_create_params"]["input"] == expected_input
    assert out["agent_ref"] == {"type": "responses_api_agents", "name": "agent_a"}


def test_normalized_file_is_content_addressed(tmp_path: Path) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_text(json.dumps({"question": "1+1?", "expected_answer": "2"}) + "\n")
    first = gym_data.write_normalized(source, "agent_a", tmp_path / "out")
    second = gym_data.write_normalized(source, "agent_a", tmp_path / "out")
    assert (
        first == second
        and first.name.startswith("rows.")
        and first.name.endswith(".nemo_gym.jsonl")
    )
    other = gym_data.write_normalized(source, "agent_b", tmp_path / "out")
    assert other != first
    already = tmp_path / "gym.jsonl"
    already.write_text(first.read_text())
    assert gym_data.write_normalized(already, "agent_a", tmp_path / "out") == already


def test_rows_name_defined_agents(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"question": "q", "agent_ref": {"type": "responses_api_agents", "name": "x"}})
        + "\n\n"
        + json.dumps({"responses_create_params": {"input": []}})
        + "\n{oops\n"
    )
    data = {"train": {"data_path": str(bad)}}
    found = "\n".join(p.render() for p in gym_data.check_rows(data, {"a1", "a2"}))
    assert f"{bad}:1: `agent_ref.name` is 'x'; expected an agent instance of the config" in found
    assert f"{bad}:3: `responses_create_params.input` is a message list but it is empty" in found
    assert f"{bad}:3: no `agent_ref`" in found and "data.default_agent_ref" in found
    assert f"{bad}:4: not valid JSON" in found


def test_dry_run_without_gym_checks_what_it_can(tmp_path: Path) -> None:
    config = rendered("rlhf", tmp_path)
    nemo_gym = copy.deepcopy(config)
    _, found = gym_preflight.gym_problems(nemo_gym, [tmp_path / "no-gym"], tmp_path)
    assert found == []
    nemo_gym["grpo"]["max_val_samples"] = 3
    _, found = gym_preflight.gym_problems(nemo_gym, [tmp_path / "no-gym"], tmp_path)
    assert [p.where for p in found] == ["grpo.max_val_samples"]


def test_the_run_itself_needs_gyms_files(tmp_path: Path) -> None:
    """A laptop dry run may lack Gym's files; the run itself must not start without them."""
    config = rendered("grpo_gym", tmp_path)
    _, found = gym_preflight.gym_problems(config, [tmp_path / "no-gym"], tmp_path, at_start=True)
    assert [p.where for p in found] == ["env.nemo_gym.config_paths"]
    assert "NEMO_GYM_EXTRA_ROOTS" in found[0].fix


def test_rejection_type() -> None:
    assert issubclass(gym_api.NemoRLMissing, LaunchRejected)


@pytest.mark.gym_server
def test_gyms_own_parser_runs_offline_where_nemo_gym_is_importable(tmp_path: Path) -> None:
    pytest.importorskip("nemo_gym", reason="nemo-gym needs Python >= 3.12: scripts/gym_test_env.sh")
    config = rendered("grpo_gym", tmp_path)
    real_roots = gym_config.gym_roots(tmp_path)  # the installed nemo_gym package's configs
    assert gym_config.has_gym_install(real_roots)
    _, found = gym_preflight.gym_problems(config, real_roots, tmp_path)
    assert found == []
    agent = {
        "responses_api_agents": {
            "simple_agent": {"model_server": {"type": "responses_api_models", "name": "nope"}}
        }
    }
    config["env"]["nemo_gym"]["math_with_judge_simple_agent"] = agent
    parser = gym_preflight.gym_parser_problems(config["env"]["nemo_gym"], tmp_path)
    assert len(parser) == 1 and "ServerRefNotFoundError" in parser[0].problem
