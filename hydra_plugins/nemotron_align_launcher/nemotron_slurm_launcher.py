"""nemotron_align's Slurm launcher (Hydra loads launchers only from hydra_plugins).

Every job of the sweep is composed, checked and rendered here, on the submitting machine, in this
one process; only jobs that pass are submitted, as one job array per resource shape. See
nemotron_align.slurm_sweep for the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class NemotronSlurmLauncher(Launcher):
    def __init__(self, **params: Any) -> None:
        self.params = params
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.task_function: TaskFunction | None = None
        self.composer: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from nemotron_align.sweep_compose import JobComposer

        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.composer = JobComposer(hydra_context.config_loader)

    def launch(
        self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
    ) -> Sequence[JobReturn]:
        from nemotron_align.slurm_sweep import SlurmSweep

        assert self.config is not None and self.hydra_context is not None
        assert self.task_function is not None
        sweep = SlurmSweep(self.config, self.hydra_context, self.task_function, self.composer)
        return sweep.run([list(o) for o in job_overrides], initial_job_idx)
