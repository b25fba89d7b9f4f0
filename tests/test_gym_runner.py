"""NeMo-Gym GRPO runs: the runner's call sequence against the stand-in NeMo-RL package for
each API generation, and the CLI that runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import STAND_IN_ROOT, run_cli, start_cli
from gym_runner_support import STAND_IN_GYM, rendered


def _runner_env(tmp_path: Path, api: str) -> dict[str, str]:
    calls = tmp_path / "calls"
    calls.mkdir(exist_ok=True)
    return {
        **os.environ,
        "STAND_IN_NEMO_RL_API": api,
        "STAND_IN_CALLS": str(calls),
        "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM),
        "PYTHONPATH": str(STAND_IN_ROOT),
    }


def _calls(tmp_path: Path) -> list[list[dict]]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "calls").glob("*.json"))]


def _write_run(tmp_path: Path, algo: str, *overrides: str) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path = run_dir / "nemo_rl.yaml"
    path.write_text(yaml.safe_dump(rendered(algo, run_dir, *overrides)))
    return path


def _run_runner(config: Path, tmp_path: Path, api: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nemotron_align.gym.runner", "--config", str(config)],
        cwd=STAND_IN_ROOT,
        env=_runner_env(tmp_path, api),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


COMMON_START = [
    "register_omegaconf_resolvers",
    "get_next_experiment_dir",
    "get_tokenizer",
    "configure_generation_config",
    "setup_nemo_gym_config",
    "gate",
    "setup_response_data",
    "init_ray",
    "setup",
]


@pytest.mark.parametrize(
    ("api", "after_setup", "gate"),
    [
        ("v0.6", ["create_env", "health_check", "grpo_train"], "grpo._should_use_nemo_gym"),
        ("v0.7", ["grpo_train"], "grpo._should_use_nemo_gym"),
        (
            "main",
            ["grpo_train", "shutdown_environments", "shutdown_generation"],
            "environments.nemo_gym.should_use_nemo_gym",
        ),
    ],
)
def test_runner_follows_each_api_generation(
    api: str, after_setup: list[str], gate: str, tmp_path: Path
) -> None:
    config = _write_run(tmp_path, "rlhf")
    result = _run_runner(config, tmp_path, api)
    assert result.returncode == 0, result.stderr
    (calls,) = _calls(tmp_path)
    assert [c["call"] for c in calls] == COMMON_START + after_setup
    assert next(c for c in calls if c["call"] == "gate")["where"] == gate
    setup = next(c for c in calls if c["call"] == "setup")
    assert (setup["train_len"], setup["val_len"], setup["max_val_samples"]) == (8, 2, 2)
    train = next(c for c in calls if c["call"] == "grpo_train")
    assert train["task_to_env"] == ["nemo_gym"]


def test_runner_hands_nemo_rl_normalized_rows(tmp_path: Path) -> None:
    rows = tmp_path / "plain.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"question": f"{i}+1?", "expected_answer": str(i + 1)}) + "\n"
            for i in range(3)
        )
    )
    config = _write_run(tmp_path, "grpo_gym", f"data.train.data_path={rows}")
    result = _run_runner(config, tmp_path, "v0.7")
    assert result.returncode == 0, result.stderr
    (calls,) = _calls(tmp_path)
    train = Path(next(c for c in calls if c["call"] == "setup_response_data")["train"])
    assert train.parent == config.parent / "gym_data" and train.name.endswith(".nemo_gym.jsonl")
    first = json.loads(train.read_text().splitlines()[0])
    assert first["agent_ref"]["name"] == "math_with_judge_simple_agent"
    assert first["responses_create_params"]["input"][0]["content"] == "0+1?"


@pytest.mark.parametrize("api", ["v0.6", "v0.7", "main"])
def test_runner_async_and_trajectory_collection(api: str, tmp_path: Path) -> None:
    shutdown = ["shutdown_environments", "shutdown_generation"] if api == "main" else []
    config = _write_run(tmp_path, "grpo_gym", "grpo.async_grpo.enabled=true")
    assert _run_runner(config, tmp_path, api).returncode == 0
    (calls,) = _calls(tmp_path)
    train = calls[-1 - len(shutdown)]
    assert [c["call"] for c in calls[-1 - len(shutdown) :]] == ["async_grpo_train", *shutdown]
    assert ("teacher_worker_groups" in train["kwargs"]) == (api != "v0.6")

    collect_dir = tmp_path / "collect"
    collect_dir.mkdir()
    config = _write_run(collect_dir, "grpo_gym", "+env.nemo_gym.is_trajectory_collection=true")
    result = _run_runner(config, collect_dir, api)
    assert result.returncode == 0, result.stderr
    (calls,) = _calls(collect_dir)
    names = [c["call"] for c in calls]
    assert names[-4 - len(shutdown) :] == [
        "refit_policy_generation",
        "run_async_nemo_gym_rollout",
        "log_jsonl",
        "finish_generation",
        *shutdown,
    ]
    assert "grpo_train" not in names and "async_grpo_train" not in names


def test_config_the_master_config_rejects_is_a_clear_error(tmp_path: Path) -> None:
    config = _write_run(tmp_path, "grpo_gym")
    raw = yaml.safe_load(config.read_text())
    del raw["loss_fn"]
    config.write_text(yaml.safe_dump(raw))
    result = _run_runner(config, tmp_path, "main")
    assert result.returncode == 2, result.stderr
    assert "error: nemo_rl: NeMo-RL 0.6.0's MasterConfig rejects the config" in result.stderr
    assert "loss_fn" in result.stderr and "fix: " in result.stderr
    assert "Traceback" not in result.stderr


def test_runner_without_nemo_rl_says_where_to_run(tmp_path: Path) -> None:
    config = _write_run(tmp_path, "grpo_gym")
    env = {k: v for k, v in _runner_env(tmp_path, "v0.7").items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-m", "nemotron_align.gym.runner", "--config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "NeMo-RL is not importable" in result.stderr and "NeMo-RL container" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_plain_run_is_in_process_and_sweep_uses_children(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in _runner_env(tmp_path, "v0.7").items()
        if k not in os.environ or os.environ[k] != v
    }
    env["NEMO_RL_ROOT"] = str(STAND_IN_ROOT)
    plain = start_cli(
        ["algo=grpo_gym", "data=tiny", f"hydra.run.dir={tmp_path / 'single'}"],
        cwd=tmp_path,
        env=env,
    )
    _, stderr = plain.communicate(timeout=120)
    assert plain.returncode == 0, stderr
    (calls,) = _calls(tmp_path)
    assert {c["pid"] for c in calls} == {plain.pid}  # in the launcher's own process
    assert json.loads((tmp_path / "single" / "launch.json").read_text())["mode"] == "in-process"

    for stale in (tmp_path / "calls").iterdir():
        stale.unlink()
    sweep = run_cli(
        [
            "-m",
            "algo=grpo_gym",
            "data=tiny",
            "grpo.num_generations_per_prompt=2,4",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert sweep.returncode == 0, sweep.stderr
    jobs = _calls(tmp_path)
    assert len(jobs) == 2 and all(job[-1]["call"] == "grpo_train" for job in jobs)
    assert len({job[0]["pid"] for job in jobs}) == 2


def test_cli_dry_run_writes_redacted_gym_config(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "algo=rlhf",
            "data=tiny",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
            "+env.nemo_gym.policy_model.responses_api_models.vllm_model.api_key=sk-live-abcdef123",
        ],
        cwd=tmp_path,
        env={"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
    )
    assert result.returncode == 0, result.stderr
    gym = yaml.safe_load((run_dir / "nemo_gym.yaml").read_text())
    assert gym["policy_model"]["responses_api_models"]["vllm_model"]["api_key"] == "<redacted>"
    assert "genrm_compare_resources_server" in gym and "config_paths" not in gym


def test_cli_rejects_gym_problems_before_writing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "algo=rlhf",
            "data=tiny",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
            "env.nemo_gym.genrm_compare_resources_server.resources_servers.genrm_compare"
            ".num_rollouts_per_prompt=16",
        ],
        cwd=tmp_path,
        env={"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
    )
    assert result.returncode == 2
    assert "num_rollouts_per_prompt" in result.stderr
    assert not run_dir.exists()
