"""Login-node checks of the partition, time limit, nodes and GPUs against sinfo's output
(samples in slurm_checks_support); the tests marked `slurm` run cluster_problems against the
live start.sh cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from slurm_checks_support import (
    GPU_SINFO,
    LOCAL_SINFO,
    SKIPPED,
    SLURM_PARAMS,
    check,
    sinfo,
    where,
)
from slurm_cluster import SlurmCluster

from nemotron_align.slurm.partition_checks import (
    SINFO,
    cluster_problems,
    gpu_gres,
    parse_sinfo,
    slurm_seconds,
)

# stderr of sinfo (exit status 1) with the start.sh cluster's controller not running.
NO_CONTROLLER = "slurm_load_partitions: Unable to contact slurm controller (connect failure)\n"


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
