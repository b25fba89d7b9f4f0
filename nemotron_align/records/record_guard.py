"""A refused launch leaves its run folder as it found it.

Hydra makes the run folder and writes its record (.hydra/) and log there before the task runs, so
a launch refused into a finished run's folder would have replaced that run's record, which its
relaunch composes from. This callback notes the folder as it is before Hydra writes to it; a
refused launch puts it back (see cli._clean_up_rejected).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from nemotron_align.records import run_state
from nemotron_align.records.folder_before import FolderBefore


class RecordGuard(Callback):
    """Notes a single run's folder before Hydra writes to it (a multirun's jobs each get a new
    folder, made by Hydra or, for Slurm, on the node), in the launch's RunState."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        run_dir = Path(str(OmegaConf.select(config, "hydra.run.dir"))).absolute()
        state = run_state.current()
        try:
            state.before = FolderBefore.take(run_dir, config.hydra.output_subdir)
        except OSError:  # a folder that cannot be read: Hydra's own attempt reports it
            state.before = None
