"""Settings of nemotron_align's Slurm launcher, and the srun arguments they make.

The launcher class itself lives in hydra_plugins.nemotron_align_launcher (Hydra only loads
launchers from that namespace). Its settings are hydra-submitit-launcher 1.2.0's (partition,
account, timeout_min, setup, ...) plus what a NeMo-RL job needs: `srun` arguments and the
pyxis/enroot container flags, the interpreter that runs each task, and the status interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf

# Its name in the hydra/launcher config group (cluster=slurm picks it).
SLURM_LAUNCHER = "nemotron_slurm"


@dataclass
class NemotronSlurmConf(SlurmQueueConf):
    _target_: str = (
        "hydra_plugins.nemotron_align_launcher.nemotron_slurm_launcher.NemotronSlurmLauncher"
    )
    # pyxis/enroot: run every task inside this image (e.g. nvcr.io#nvidia/nemo-rl:v0.7.0).
    container_image: str | None = None
    container_mounts: list[str] = field(default_factory=list)
    container_workdir: str = "/opt/nemo-rl"
    # Extra `srun` arguments for the job step.
    srun_args: list[str] = field(default_factory=list)
    # Interpreter that runs each task on the node (any Python >= 3.10; nothing of ours need be
    # installed). Default: the container's /opt/nemo_rl_venv/bin/python with container_image,
    # else the submitter's. NeMo-RL runs with it too unless launch.python says otherwise.
    python: str | None = None
    status_interval_s: float = 30.0


def register_launcher() -> None:
    """Store the config and register the class: Hydra's own plugin scan misses editable installs."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.nemotron_align_launcher.nemotron_slurm_launcher import (
        NemotronSlurmLauncher,
    )

    Plugins.instance().register(NemotronSlurmLauncher)
    ConfigStore.instance().store(
        group="hydra/launcher",
        name=SLURM_LAUNCHER,
        node=NemotronSlurmConf,
        provider="nemotron_align",
    )


def srun_args(params: dict[str, Any]) -> list[str]:
    args = list(params.get("srun_args") or [])
    if params.get("container_image"):
        args.append(f"--container-image={params['container_image']}")
        if params.get("container_mounts"):
            args.append("--container-mounts=" + ",".join(params["container_mounts"]))
        args.append(f"--container-workdir={params['container_workdir']}")
    return args
