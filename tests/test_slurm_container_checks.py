"""Login-node checks of the container image, its mounts and the paths a job opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_config
from slurm_checks_support import GPU_SINFO, SKIPPED, SLURM_PARAMS, check, where

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.slurm.container_checks import container_path_problems, job_paths
from nemotron_align.slurm.partition_checks import cluster_problems


def test_local_container_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "nemo-rl.sqsh"
    errors, _ = check(GPU_SINFO, container_image=str(missing))
    assert where(errors) == ["hydra.launcher.container_image"]
    assert errors[0].problem == f"container image {missing} does not exist"
    missing.write_bytes(b"hsqs")
    assert check(GPU_SINFO, container_image=str(missing)) == ([], [])
    assert check(GPU_SINFO, container_image="./nemo-rl.sqsh") == ([], [])
    assert where(check(GPU_SINFO, container_image="./other.sqsh")[0]) == [
        "hydra.launcher.container_image"
    ]
    # A registry reference is the registry's business.
    assert check(GPU_SINFO, container_image="nvcr.io#nvidia/nemo-rl:v0.7.0") == ([], [])


def test_missing_image_is_reported_without_sinfo() -> None:
    def run(argv: list[str]) -> str:
        raise FileNotFoundError(2, "No such file or directory", "sinfo")

    errors, notes = cluster_problems({**SLURM_PARAMS, "container_image": "/no/nemo.sqsh"}, run)
    assert where(errors) == ["hydra.launcher.container_image"]
    assert notes == [f"sinfo not found: {SKIPPED}"]


# --- container mounts and the paths a job opens ---------------------------------------------------


def test_paths_under_same_path_mounts_are_covered() -> None:
    params = {
        "container_image": "nvcr.io#nvidia/nemo-rl:v0.7.0",
        "container_mounts": ["/lustre:/lustre:ro", "/scratch", "/a:/a,/b:/b"],
    }
    paths = {
        "data.train.data_path": "/lustre/data/train.jsonl",
        "run folder": "/scratch/runs/dpo",
        "logger.log_dir": "/b/logs",
    }
    assert container_path_problems(paths, params) == []


def test_paths_not_mounted_or_mounted_elsewhere() -> None:
    params = {
        "container_image": "nvcr.io#nvidia/nemo-rl:v0.7.0",
        "container_mounts": ["/data:/mnt/data"],
    }
    paths = {"data.train.data_path": "/data/train.jsonl", "run folder": "/home/me/runs/x"}
    moved, unmounted = container_path_problems(paths, params)
    assert moved.where == "data.train.data_path"
    assert moved.problem == (
        "/data/train.jsonl is mounted into the container at /mnt/data/train.jsonl, but NeMo-RL "
        "opens /data/train.jsonl"
    )
    assert unmounted.render() == (
        "error: run folder: /home/me/runs/x is not mounted into the container "
        "(nvcr.io#nvidia/nemo-rl:v0.7.0): NeMo-RL cannot open it\n"
        "  fix: mount it at the same path: add '/home/me/runs/x:/home/me/runs/x' (or a folder "
        "above it) to hydra.launcher.container_mounts"
    )


def test_no_container_no_mount_problems() -> None:
    assert container_path_problems({"run folder": "/anywhere"}, {"container_image": None}) == []


def test_job_paths_of_a_composed_rlhf_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A relative data path is the launcher's: made absolute against its cwd when rendered.
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    run_dir = tmp_path / "run"
    outside = tmp_path / "gym" / "extra.yaml"
    config = to_nemo_rl_dict(
        compose_config(
            [
                "algo=rlhf",
                "data=tiny",
                f"env.nemo_gym.config_paths=[resources_servers/x.yaml,{outside}]",
                "data.validation.data_path=../shared/val.jsonl",
            ],
            run_dir,
        )
    )
    root = tmp_path / "nemo-rl"
    paths = job_paths(config, run_dir, str(root))
    # Checkpoints and logs are in the run folder; Gym's relative config and the judge's and
    # policy's Hugging Face ids are the image's or the hub's business.
    assert paths == {
        "run folder": str(run_dir),
        "data.train.data_path": config["data"]["train"]["data_path"],
        "data.validation.data_path": str(tmp_path / "shared" / "val.jsonl"),
        "env.nemo_gym.config_paths[1]": str(outside),
    }


def test_job_paths_local_models_and_folders_outside_the_run(tmp_path: Path) -> None:
    config = {
        "policy": {"model_name": "/models/llama", "tokenizer": {"name": "./tokenizers/llama"}},
        "data": {"train": {"data_path": "data/train.jsonl", "prompt_file": "/prompts/p.txt"}},
        "checkpointing": {"checkpoint_dir": "/ckpt/run1"},
        "logger": {"log_dir": "logs"},
    }
    paths = job_paths(config, tmp_path / "run", str(tmp_path / "nemo-rl"))
    assert paths == {
        "run folder": str(tmp_path / "run"),
        "data.train.prompt_file": "/prompts/p.txt",
        "checkpointing.checkpoint_dir": "/ckpt/run1",
        "policy.model_name": "/models/llama",
    }
