"""Shared by the tests of the login-node checks: captured sinfo output, the launcher's Slurm
parameters and helpers that run cluster_problems on them.

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
"""

from __future__ import annotations

from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.slurm.partition_checks import cluster_problems

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
