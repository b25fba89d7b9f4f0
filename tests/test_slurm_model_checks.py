"""Login-node checks of the models: local folders and the job's Hugging Face cache."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import compose_config
from slurm_checks_support import where

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.slurm.model_checks import hf_hub_cache, model_problems

MODEL = "meta-llama/Llama-3.2-1B-Instruct"
JUDGE = "nvidia/Qwen3-Nemotron-235B-A22B-GenRM-2603"


def cache_model(hub: Path, repo_id: str, files: dict[str, str], ref: bool = True) -> Path:
    """A repo in huggingface_hub's cache layout: blobs/, snapshots/<commit>/, refs/main."""
    repo = hub / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "blobs").mkdir()
    for i, (name, text) in enumerate(files.items()):
        blob = repo / "blobs" / f"blob{i}"
        blob.write_text(text)
        (snapshot / name).symlink_to(blob)
    if ref:
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)
    return snapshot


FULL_MODEL = {"config.json": "{}", "model.safetensors": "w", "tokenizer_config.json": "{}"}


def policy(model: str, tokenizer: str | None = None) -> dict[str, Any]:
    return {"policy": {"model_name": model, "tokenizer": {"name": tokenizer or model}}}


def test_hf_cache_location_follows_the_job_env() -> None:
    assert hf_hub_cache({"HOME": "/home/me"}) == Path("/home/me/.cache/huggingface/hub")
    assert hf_hub_cache({"HOME": "/h", "XDG_CACHE_HOME": "/xdg"}) == Path("/xdg/huggingface/hub")
    assert hf_hub_cache({"HOME": "/h", "HF_HOME": "~/hf"}) == Path("/h/hf/hub")
    assert hf_hub_cache({"HF_HOME": "/hf", "HUGGINGFACE_HUB_CACHE": "/old"}) == Path("/old")
    assert hf_hub_cache({"HUGGINGFACE_HUB_CACHE": "/old", "HF_HUB_CACHE": "/hub"}) == Path("/hub")


def test_hf_cache_hit(tmp_path: Path) -> None:
    cache_model(tmp_path / "hf" / "hub", MODEL, FULL_MODEL)
    offline = {"HF_HUB_OFFLINE": "1"}
    assert model_problems(policy(MODEL), {**offline, "HF_HOME": str(tmp_path / "hf")}) == ([], [])
    # The same job without HF_HOME looks in $HOME/.cache/huggingface/hub.
    assert model_problems(policy(MODEL), {**offline, "HOME": str(tmp_path)})[0] != []


def test_sharded_model_needs_every_shard(tmp_path: Path) -> None:
    index = {
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    }
    files = {
        "config.json": "{}",
        "tokenizer.json": "{}",
        "model.safetensors.index.json": json.dumps(index),
        "model-00001-of-00002.safetensors": "w",
    }
    snapshot = cache_model(tmp_path, MODEL, files)
    env = {"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    errors, _ = model_problems(policy(MODEL), env)
    assert where(errors) == ["policy.model_name"]
    (snapshot / "model-00002-of-00002.safetensors").write_text("w")
    assert model_problems(policy(MODEL), env) == ([], [])


def test_hf_cache_miss_is_a_warning(tmp_path: Path) -> None:
    errors, warnings = model_problems(policy(MODEL), {"HF_HUB_CACHE": str(tmp_path)})
    assert errors == []
    # The tokenizer is the model: one warning.
    assert warnings == [
        f"policy.model_name: {MODEL} is not in the Hugging Face cache the job uses ({tmp_path}): "
        "the job's nodes download it when the run starts"
    ]


def test_snapshot_without_refs_main_is_a_miss(tmp_path: Path) -> None:
    # Offline huggingface_hub finds a snapshot only through refs/<revision>.
    cache_model(tmp_path, MODEL, FULL_MODEL, ref=False)
    _, warnings = model_problems(policy(MODEL), {"HF_HUB_CACHE": str(tmp_path)})
    assert len(warnings) == 1


@pytest.mark.parametrize("offline", ["1", "true", "YES"])
def test_hf_cache_miss_offline_is_an_error(tmp_path: Path, offline: str) -> None:
    errors, warnings = model_problems(
        policy(MODEL), {"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": offline}
    )
    assert warnings == []
    (error,) = errors
    assert error.where == "policy.model_name"
    assert "HF_HUB_OFFLINE forbids downloading it" in error.problem
    assert f"huggingface-cli download {MODEL}" in error.fix


def test_separate_tokenizer_needs_tokenizer_files(tmp_path: Path) -> None:
    cache_model(tmp_path, MODEL, FULL_MODEL)
    cache_model(tmp_path, "org/tok", {"tokenizer_config.json": "{}"})
    cache_model(tmp_path, "org/no-tok", {"config.json": "{}"})
    env = {"HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    assert model_problems(policy(MODEL, "org/tok"), env) == ([], [])
    errors, _ = model_problems(policy(MODEL, "org/no-tok"), env)
    assert where(errors) == ["policy.tokenizer.name"]


def test_local_model_folder(tmp_path: Path) -> None:
    model = tmp_path / "llama"
    model.mkdir()
    offline = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    assert model_problems(policy(str(model)), offline) == ([], [])
    errors, _ = model_problems(policy(str(tmp_path / "gone")), {})
    assert where(errors) == ["policy.model_name"]
    assert errors[0].problem == f"model folder {tmp_path / 'gone'} does not exist"


def test_relative_model_folder_is_relative_to_the_nemo_rl_root(tmp_path: Path) -> None:
    (tmp_path / "models" / "llama").mkdir(parents=True)
    config = {**policy("./models/llama"), "launch": {"nemo_rl_root": str(tmp_path)}}
    assert model_problems(config, {}) == ([], [])
    config["launch"]["nemo_rl_root"] = "/opt/nemo-rl-only-in-the-image"
    errors, warnings = model_problems(config, {})
    assert errors == [] and "not checked" in warnings[0]


def test_rlhf_judge_is_checked(tmp_path: Path) -> None:
    config = to_nemo_rl_dict(compose_config(["algo=rlhf", "data=tiny"], tmp_path / "run"))
    cache_model(tmp_path / "hub", MODEL, FULL_MODEL)
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    errors, _ = model_problems(config, env)
    assert where(errors) == ["env.nemo_gym.genrm_model_name"]
    assert errors[0].problem.startswith(f"{JUDGE} is not in the Hugging Face cache")
