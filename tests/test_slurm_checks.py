"""Login-node checks before sbatch: partition, time limit, nodes and GPUs (sinfo), the container
image and mounts, and the models in the job's Hugging Face cache.

The unit tests feed cluster_problems real sinfo output (argv partition_checks.SINFO), captured with
slurm-wlm 22.05.8 from two clusters:
- LOCAL_SINFO: the test cluster of scripts/slurm/start.sh (one GPU-less node, MaxTime=60);
- GPU_SINFO: a private slurmctld on another port with one slurmd per GPU node (gres.conf naming
  stand-in device files), configured as below; gpu03 was set DOWN and gpu04 DRAIN, a one-GPU job
  ran on gpu05 (so it is `mixed`), the CPU nodes never registered (`unknown*`):
    NodeName=gpu[01-04] Gres=gpu:h100:8      NodeName=gpu05 Gres=gpu:a100:4   NodeName=cpu[01-02]
    PartitionName=batch Nodes=gpu[01-05] Default=YES MaxTime=04:00:00 State=UP
    PartitionName=long Nodes=gpu[01-04] MaxTime=2-00:00:00 State=UP
    PartitionName=cpu Nodes=cpu[01-02] MaxTime=UNLIMITED State=UP
    PartitionName=maint Nodes=gpu[01-02] MaxTime=30 State=DOWN
    PartitionName=empty MaxTime=1-12 State=INACTIVE
    PartitionName=secret Nodes=gpu01 Hidden=YES MaxTime=60 State=UP
The tests marked `slurm` run cluster_problems against the live start.sh cluster.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import compose_config
from slurm_cluster import SlurmCluster

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.errors import LaunchRejected
from nemotron_align.slurm.container_checks import container_path_problems, job_paths
from nemotron_align.slurm.model_checks import hf_hub_cache, model_problems
from nemotron_align.slurm.partition_checks import (
    SINFO,
    cluster_problems,
    gpu_gres,
    parse_sinfo,
    slurm_seconds,
)

LOCAL_SINFO = "debug*|up|1:00:00|1|(null)|idle\n"
GPU_SINFO = """\
batch*|up|4:00:00|1|gpu:h100:8|drained*
batch*|up|4:00:00|1|gpu:h100:8|down*
batch*|up|4:00:00|1|gpu:a100:4|mixed
batch*|up|4:00:00|2|gpu:h100:8|idle
long|up|2-00:00:00|1|gpu:h100:8|drained*
long|up|2-00:00:00|1|gpu:h100:8|down*
long|up|2-00:00:00|2|gpu:h100:8|idle
cpu|up|infinite|2|(null)|unknown*
maint|down|30:00|2|gpu:h100:8|idle
empty|inactive|1-12:00:00|0|(null)|n/a
secret|up|1:00:00|1|gpu:h100:8|idle
"""
# stderr of sinfo (exit status 1) with the start.sh cluster's controller not running.
NO_CONTROLLER = "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n"
SKIPPED = "partition, time limit and GPU checks skipped"
# hydra.launcher as conf/cluster/slurm.yaml resolves it (cluster.num_nodes=1, gpus_per_node=8).
SLURM_PARAMS: dict[str, Any] = {
    "partition": None,
    "timeout_min": 240,
    "nodes": 1,
    "tasks_per_node": 1,
    "gpus_per_node": 8,
    "gres": None,
    "gpus_per_task": None,
    "container_image": None,
    "container_mounts": [],
}
MODEL = "meta-llama/Llama-3.2-1B-Instruct"
JUDGE = "nvidia/Qwen3-Nemotron-235B-A22B-GenRM-2603"


def sinfo(out: str, calls: list[list[str]] | None = None) -> Any:
    def run(argv: list[str]) -> str:
        if calls is not None:
            calls.append(argv)
        return out

    return run


def check(out: str, **params: Any) -> tuple[list[LaunchRejected], list[str]]:
    return cluster_problems({**SLURM_PARAMS, **params}, run=sinfo(out))


def where(errors: list[LaunchRejected]) -> list[str]:
    return [e.where for e in errors]


# --- Slurm formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60", 3600),  # MM
        ("30:00", 1800),  # MM:SS, as sinfo prints MaxTime=30
        ("1:00:00", 3600),  # HH:MM:SS
        ("2-00:00:00", 172800),  # D-HH:MM:SS
        ("1-12", 129600),  # D-HH
        ("1-12:30", 131400),  # D-HH:MM
        ("infinite", None),  # sinfo's MaxTime=UNLIMITED
        ("UNLIMITED", None),  # scontrol's
    ],
)
def test_slurm_time_formats(text: str, seconds: int | None) -> None:
    assert slurm_seconds(text) == seconds


@pytest.mark.parametrize(
    ("gres", "gpus"),
    [
        ("(null)", {}),
        ("gpu:h100:8", {"h100": 8}),
        ("gpu:8", {"": 8}),
        # As scontrol and newer sinfo print socket affinity; several GRES (written for this test).
        ("gpu:h100:4(S:0-1),gpu:a100:2(S:0,1),nvme:1", {"h100": 4, "a100": 2}),
    ],
)
def test_gpu_gres(gres: str, gpus: dict[str, int]) -> None:
    assert gpu_gres(gres) == gpus


# --- cluster_problems with captured sinfo output ------------------------------------------------


def test_sinfo_is_asked_once_with_an_argv_list() -> None:
    calls: list[list[str]] = []
    cluster_problems({**SLURM_PARAMS, "gpus_per_node": None}, run=sinfo(LOCAL_SINFO, calls))
    assert calls == [SINFO]


def test_default_partition_fits() -> None:
    # batch* is the default: 4 h100 nodes, and 2 of them idle.
    assert check(GPU_SINFO, nodes=2) == ([], [])
    # debug* is the local default: a GPU-less job within its 60 minutes.
    assert check(LOCAL_SINFO, gpus_per_node=None, timeout_min=60) == ([], [])


def test_no_default_partition() -> None:
    errors, _ = check(GPU_SINFO.replace("batch*", "batch"))
    assert where(errors) == ["hydra.launcher.partition"]
    assert "no default partition" in errors[0].problem
    assert "batch, long, cpu, maint, empty, secret" in errors[0].fix


def test_unknown_partition_lists_the_partitions() -> None:
    errors, notes = check(GPU_SINFO, partition="gpu")
    assert notes == []
    (error,) = errors
    assert error.render() == (
        "error: hydra.launcher.partition: partition 'gpu' does not exist on this cluster\n"
        "  fix: set hydra.launcher.partition to one of: batch (default), long, cpu, maint, empty, "
        "secret"
    )


def test_hidden_partition_is_known() -> None:
    assert check(GPU_SINFO, partition="secret", timeout_min=60) == ([], [])


@pytest.mark.parametrize(("partition", "state"), [("maint", "down"), ("empty", "inactive")])
def test_partition_that_is_not_up(partition: str, state: str) -> None:
    errors, _ = check(GPU_SINFO, partition=partition, gpus_per_node=None, timeout_min=30)
    assert where(errors)[0] == "hydra.launcher.partition"
    assert f"partition {partition} is {state}, not up" in errors[0].problem
    assert errors[0].fix == "choose a partition that is up: batch (default), long, cpu, secret"


def test_timeout_above_max_time() -> None:
    errors, _ = check(GPU_SINFO, partition="long", timeout_min=2881)
    assert where(errors) == ["hydra.launcher.timeout_min"]
    assert "time limit of partition long (2-00:00:00, 2880 min)" in errors[0].problem
    assert errors[0].fix.startswith("set hydra.launcher.timeout_min=2880 or less")
    assert check(GPU_SINFO, partition="long", timeout_min=2880)[0] == []
    # MaxTime=30 in slurm.conf: sinfo prints it as 30:00 (MM:SS).
    errors, _ = check(GPU_SINFO, partition="maint", timeout_min=31)
    assert "hydra.launcher.timeout_min" in where(errors)


def test_unlimited_max_time() -> None:
    errors, _ = check(GPU_SINFO, partition="cpu", gpus_per_node=None, timeout_min=10**6)
    assert errors == []


def test_gpus_on_gpu_less_nodes_name_both_keys() -> None:
    errors, _ = check(LOCAL_SINFO, timeout_min=60)
    (error,) = errors
    assert error.where == "hydra.launcher.gpus_per_node"
    assert error.problem == (
        "asks for 8 GPUs per node, but the nodes of partition debug have no GPUs"
    )
    assert "hydra.launcher.gpus_per_node=null" in error.fix
    assert "cluster.gpus_per_node" in error.fix
    # A GPU partition elsewhere is named too.
    errors, _ = check(GPU_SINFO, partition="cpu")
    assert errors[0].fix.endswith(
        "or choose a partition with GPUs: batch (default), long, maint, secret"
    )


@pytest.mark.parametrize("gpus", [None, 0])
def test_no_gpus_asked_on_gpu_less_nodes(gpus: int | None) -> None:
    assert check(LOCAL_SINFO, gpus_per_node=gpus, timeout_min=60) == ([], [])


def test_more_gpus_per_node_than_any_node_has() -> None:
    errors, _ = check(GPU_SINFO, gpus_per_node=16)
    (error,) = errors
    assert error.where == "hydra.launcher.gpus_per_node"
    assert "have at most 8" in error.problem
    assert error.fix.startswith("set cluster.gpus_per_node=8 or less")


def test_enough_and_too_few_nodes() -> None:
    assert check(GPU_SINFO, partition="long", nodes=2) == ([], [])
    errors, _ = check(GPU_SINFO, partition="long", nodes=5)
    assert where(errors) == ["hydra.launcher.nodes"]
    assert errors[0].problem == (
        "asks for 5 nodes with the GPUs asked for, but partition long has 4"
    )
    assert errors[0].fix == "set cluster.num_nodes=4 or less (hydra.launcher.nodes follows it)"
    # With 4 GPUs per node the a100 node counts too.
    assert check(GPU_SINFO, gpus_per_node=4, nodes=5)[0] == []
    errors, _ = check(LOCAL_SINFO, gpus_per_node=None, timeout_min=60, nodes=2)
    assert errors[0].problem == "asks for 2 nodes, but partition debug has 1"


def test_nodes_down_or_drained_are_a_note() -> None:
    # long has 4 h100 nodes, 2 of them idle: a 3-node job waits.
    errors, notes = check(GPU_SINFO, partition="long", nodes=3)
    assert errors == []
    assert notes == [
        "partition long: 2 of the 4 nodes that fit the job are down, drained or not responding; "
        "the job waits until enough of them are back"
    ]


def test_gres_is_checked_by_gpu_type() -> None:
    no_gpus_per_node = {"gpus_per_node": None}
    assert check(GPU_SINFO, **no_gpus_per_node, gres="gpu:a100:4") == ([], [])
    errors, _ = check(GPU_SINFO, **no_gpus_per_node, gres="gpu:a100:4", nodes=2)
    assert errors[0].problem.endswith("with the GPUs asked for, but partition batch has 1")
    errors, _ = check(GPU_SINFO, **no_gpus_per_node, gres="gpu:h100:16")
    assert where(errors) == ["hydra.launcher.gres"]
    assert "asks for 16 h100 GPUs per node" in errors[0].problem
    errors, _ = check(LOCAL_SINFO, **no_gpus_per_node, timeout_min=60, gres="gpu:1")
    assert where(errors) == ["hydra.launcher.gres"]
    assert errors[0].fix == "set hydra.launcher.gres=null"


def test_gpus_per_task_count_per_node() -> None:
    params = {"gpus_per_node": None, "gpus_per_task": 2, "tasks_per_node": 8}
    errors, _ = check(GPU_SINFO, **params)
    assert where(errors) == ["hydra.launcher.gpus_per_task"]
    assert "asks for 16 GPUs per node" in errors[0].problem


def test_any_of_several_partitions_may_fit() -> None:
    assert check(GPU_SINFO, partition="maint,long") == ([], [])
    errors, _ = check(GPU_SINFO, partition="maint,cpu", timeout_min=30)
    assert where(errors) == [
        "hydra.launcher.partition",  # maint is down
        "hydra.launcher.gpus_per_node",  # cpu has no GPUs
    ]


def test_sinfo_missing_skips_the_cluster_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # the default runner, with no sinfo on PATH
    assert cluster_problems(SLURM_PARAMS) == ([], [f"sinfo not found: {SKIPPED}"])


def test_sinfo_failing_is_a_note() -> None:
    def run(argv: list[str]) -> str:
        raise subprocess.CalledProcessError(1, argv, "", NO_CONTROLLER)

    errors, notes = cluster_problems(SLURM_PARAMS, run=run)
    assert errors == []
    assert notes == [f"sinfo failed ({NO_CONTROLLER.strip()}): {SKIPPED}"]


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


# --- models: local folders and the job's Hugging Face cache ---------------------------------------


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


# --- the live local cluster (scripts/slurm/start.sh) ----------------------------------------------

LIVE = {**SLURM_PARAMS, "gpus_per_node": None, "timeout_min": 60}


@pytest.mark.slurm
def test_live_sinfo_matches_the_captured_sample(slurm_cluster: SlurmCluster) -> None:
    def shape(out: str) -> list[tuple[Any, ...]]:
        # Node states change with the jobs others run; the rest is start.sh's slurm.conf.
        return [
            (p.name, p.default, p.available, p.time_limit, [(g.count, g.gpus) for g in p.groups])
            for p in parse_sinfo(out).values()
        ]

    assert shape(slurm_cluster.run(SINFO).stdout) == shape(LOCAL_SINFO)


@pytest.mark.slurm
def test_live_passing_config(slurm_cluster: SlurmCluster) -> None:
    assert cluster_problems(LIVE) == ([], [])


@pytest.mark.slurm
def test_live_unknown_partition(slurm_cluster: SlurmCluster) -> None:
    errors, _ = cluster_problems({**LIVE, "partition": "no-such-partition"})
    assert where(errors) == ["hydra.launcher.partition"]
    assert errors[0].fix == "set hydra.launcher.partition to one of: debug (default)"


@pytest.mark.slurm
def test_live_timeout_above_max_time(slurm_cluster: SlurmCluster) -> None:
    errors, _ = cluster_problems({**LIVE, "timeout_min": 61})
    assert where(errors) == ["hydra.launcher.timeout_min"]
    assert "(1:00:00, 60 min)" in errors[0].problem


@pytest.mark.slurm
def test_live_gpus_on_the_gpu_less_cluster(slurm_cluster: SlurmCluster) -> None:
    errors, _ = cluster_problems({**LIVE, "gpus_per_node": 8})
    assert where(errors) == ["hydra.launcher.gpus_per_node"]
    assert "hydra.launcher.gpus_per_node=null" in errors[0].fix
    assert "cluster.gpus_per_node" in errors[0].fix
