"""This Slurm task's place in its job, for the multi-node Ray bootstrap: its rank, and the job's
hosts with the Ray head's first. Standard library only (it runs in nemotron_align.slurm.node_job).
"""

from __future__ import annotations

import os
import shlex
import subprocess
from dataclasses import dataclass

from nemotron_align.launchers.ray_bootstrap import RayBootstrapError

SCONTROL_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class SlurmPlacement:
    """This task's global rank and the job's hosts in Slurm's order (the head first)."""

    rank: int
    hosts: list[str]

    @property
    def head(self) -> str:
        return self.hosts[0]


def parse_hostnames(text: str) -> list[str]:
    """`scontrol show hostnames` output: one host per line, kept in Slurm's order.

    Not re-sorted: rank 0 runs on the job's first node in Slurm's order, and Python's sort
    would put node10 before node9.
    """
    hosts = [line.strip() for line in text.splitlines() if line.strip()]
    if not hosts:
        raise RayBootstrapError("`scontrol show hostnames` listed no hosts")
    return hosts


def slurm_placement() -> SlurmPlacement:
    """Rank (SLURM_PROCID) and hosts (`scontrol show hostnames`) of this Slurm task."""
    nodelist = os.environ.get("SLURM_JOB_NODELIST")
    if not nodelist:
        raise RayBootstrapError("SLURM_JOB_NODELIST is not set: this is not a Slurm job")
    argv = ["scontrol", "show", "hostnames", nodelist]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=SCONTROL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise RayBootstrapError(f"`{shlex.join(argv)}` timed out after {err.timeout:g}s") from err
    if result.returncode != 0:
        raise RayBootstrapError(
            f"`{shlex.join(argv)}` exited {result.returncode}: {result.stderr.strip()}"
        )
    rank, node = int(os.environ.get("SLURM_PROCID", "0")), int(os.environ.get("SLURM_NODEID", "0"))
    placement = SlurmPlacement(rank, parse_hostnames(result.stdout))
    if placement.rank == 0 and node != 0:
        raise RayBootstrapError(
            f"rank 0 runs on node {node} of the job, not on its first node "
            f"{placement.head}: run one task per node"
        )
    return placement
