"""What the Hydra task knows about this run before anything is checked or written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nemotron_align.config.render import NEMO_RL_YAML
from nemotron_align.records.run_lock import RunLock


@dataclass(frozen=True)
class SlurmJob:
    # hydra.launcher, resolved for this job.
    params: dict
    sweep_dir: Path
    num: int


@dataclass
class LaunchContext:
    run_dir: Path
    # True in a Hydra multirun or under a launcher (submitit): never exec there.
    multirun: bool
    algo: str | None
    data: str | None
    overrides: list[str]
    # Where Hydra's composed config.yaml of this run lies (.hydra/, or the one relaunched from).
    composed_config_dir: Path | None
    # Set when this run is one job of a Slurm sweep being made ready on the submitting machine.
    slurm: SlurmJob | None = None
    # A relaunch: the folder of the Hydra record it was composed from.
    relaunched_from: Path | None = None
    # The run folder's lock, held by the caller for the whole run (nemotron_align.records.run_lock).
    lock: RunLock | None = None
    # Set once NeMo-RL is started (exec: never returns): a later failure leaves the run folder.
    handed_over: bool = False

    @property
    def config_path(self) -> Path:
        return self.run_dir.resolve() / NEMO_RL_YAML

    def has_rendered_config(self) -> bool:
        return self.config_path.exists()
