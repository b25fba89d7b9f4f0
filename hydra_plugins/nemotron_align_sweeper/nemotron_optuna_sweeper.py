"""nemotron_align's Optuna sweeper: its settings and its class, side by side as in Hydra's own
plugins (Hydra loads sweepers only from hydra_plugins).

`hydra/sweeper=nemotron_optuna` turns a multirun into an Optuna study (ask/tell) whose trials
are the launcher's own jobs, run by whichever Hydra launcher is configured (locally one after
another, under cluster=slurm one job array per batch), scored by the value of
checkpointing.metric_name NeMo-RL logged. The work is in nemotron_align.search.study_run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

from nemotron_align.search.settings import SearchSettings

# Its name in the hydra/sweeper config group.
OPTUNA_SWEEPER = "nemotron_optuna"


class NemotronOptunaSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        # Hydra passes hydra.sweeper here; setup reads it typed, from the config.
        del settings
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.launcher: Any = None

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        from hydra.core.plugins import Plugins

        self.config = config
        self.hydra_context = hydra_context
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> Any:
        from nemotron_align.search.study_run import run_search

        assert self.config is not None and self.hydra_context is not None
        settings = OmegaConf.to_object(self.config.hydra.sweeper)
        assert isinstance(settings, SearchSettings)
        return run_search(
            settings, self.config, self.hydra_context.config_loader, self.launcher, arguments
        )


@dataclass
class NemotronOptunaConf(SearchSettings):
    _target_: str = (
        "hydra_plugins.nemotron_align_sweeper.nemotron_optuna_sweeper.NemotronOptunaSweeper"
    )


def register_sweeper() -> None:
    """Store the config and register the class: Hydra's own plugin scan misses editable installs."""
    from hydra.core.plugins import Plugins

    Plugins.instance().register(NemotronOptunaSweeper)
    ConfigStore.instance().store(
        group="hydra/sweeper",
        name=OPTUNA_SWEEPER,
        node=NemotronOptunaConf,
        provider="nemotron_align",
    )
