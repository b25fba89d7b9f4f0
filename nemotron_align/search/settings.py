"""The sweeper's settings (hydra.sweeper.* under hydra/sweeper=nemotron_optuna): their one copy.

The plugin's config dataclass (hydra_plugins.nemotron_align_sweeper) adds only its `_target_`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from nemotron_align.errors import LaunchRejected
from nemotron_align.records.study_record import StorageKind


class Sampler(str, Enum):
    tpe = "tpe"
    random = "random"
    grid = "grid"
    cmaes = "cmaes"


class Pruner(str, Enum):
    none = "none"
    median = "median"
    hyperband = "hyperband"


class Objective(str, Enum):
    # The trial's best logged value of checkpointing.metric_name, or its value at the last step.
    best = "best"
    last = "last"


@dataclass
class SearchSettings:
    # The search space: config key -> Hydra sweep expression (see nemotron_align.search.space).
    params: dict[str, str] | None = None
    n_trials: int = 12
    # Trials per batch: sampled together, run together (on Slurm: one job array).
    n_jobs: int = 4
    sampler: Sampler = Sampler.tpe
    seed: int | None = None
    # TPE and CMA-ES sample this many trials at random before they model the results.
    n_startup_trials: int = 4
    objective: Objective = Objective.best
    pruner: Pruner = Pruner.median
    # The median pruner stops nothing before this many trials completed, nor before this step.
    pruner_startup_trials: int = 4
    pruner_warmup_steps: int = 0
    # How often a running batch's TensorBoard events are read for pruning.
    watch_interval_s: float = 30.0
    storage: StorageKind = StorageKind.auto
    study_name: str = "study"

    def validate(self) -> None:
        for key in ("n_trials", "n_jobs"):
            if getattr(self, key) < 1:
                raise LaunchRejected(
                    f"hydra.sweeper.{key}", f"is {getattr(self, key)}", "set it to 1 or more"
                )
        if self.watch_interval_s <= 0:
            raise LaunchRejected(
                "hydra.sweeper.watch_interval_s",
                f"is {self.watch_interval_s}",
                "give the seconds between two reads of a running batch's metrics, e.g. 30",
            )
