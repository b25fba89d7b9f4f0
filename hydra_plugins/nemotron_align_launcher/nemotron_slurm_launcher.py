"""nemotron_align's Slurm launcher: its settings and its class, side by side as in Hydra's own
submitit plugin (Hydra loads launchers only from hydra_plugins).

The settings are hydra-submitit-launcher 1.2.0's (partition, account, timeout_min, setup, ...)
plus what a NeMo-RL job needs: `srun` arguments and the pyxis/enroot container flags, the
interpreter that runs each task, and the status interval.

Every job of the sweep is composed, checked and rendered here, on the submitting machine, in this
one process; only jobs that pass are submitted, as one job array per resource shape. See
nemotron_align.slurm.sweep for the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from hydra_plugins.hydra_submitit_launcher.config import SlurmQueueConf
from omegaconf import DictConfig


class NemotronSlurmLauncher(Launcher):
    def __init__(self, **settings: Any) -> None:
        # Hydra passes hydra.launcher here; the sweep reads each job's own, resolved, instead.
        del settings
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.composer: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from nemotron_align.slurm.compose import JobComposer

        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.composer = JobComposer(hydra_context.config_loader)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        return self.launch_numbered(
            [(initial_job_idx + i, list(o)) for i, o in enumerate(job_overrides)]
        )

    def launch_numbered(self, jobs: Sequence[tuple[int, list[str]]]) -> Sequence[JobReturn]:
        """Jobs with the numbers given, not necessarily consecutive (a search's batch whose
        refused points never run): one job array all the same."""
        from nemotron_align.slurm.sweep import SlurmSweep

        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None
        sweep = SlurmSweep(self.config, self.hydra_context, self.task_function, self.composer)
        return sweep.run(list(jobs))


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

    Plugins.instance().register(NemotronSlurmLauncher)
    ConfigStore.instance().store(
        group="hydra/launcher",
        name=SLURM_LAUNCHER,
        node=NemotronSlurmConf,
        provider="nemotron_align",
    )
