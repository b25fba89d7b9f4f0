"""Everything the app stores in Hydra's ConfigStore before composing: the `launch` schema, the
knob schemas, the Slurm launcher and the Optuna sweeper."""

from __future__ import annotations

from hydra.core.config_store import ConfigStore

from hydra_plugins.nemotron_align_launcher.nemotron_slurm_launcher import register_launcher
from hydra_plugins.nemotron_align_sweeper.nemotron_optuna_sweeper import register_sweeper
from nemotron_align.config.knob_schema import register_knob_schemas
from nemotron_align.config.launch_schema import LaunchSettings


def register_schemas() -> None:

    ConfigStore.instance().store(name="launch_schema", node=LaunchSettings)
    register_knob_schemas()
    register_launcher()
    register_sweeper()
