"""What a preflight check is given besides the rendered NeMo-RL config (see preflight.checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nemotron_align.config.launch_schema import LaunchSettings
from nemotron_align.config.release import NemoRLInstall
from nemotron_align.gym.config import GymConfig
from nemotron_align.preflight.pairing import Trainer


@dataclass
class PreflightContext:
    trainer: Trainer
    settings: LaunchSettings
    install: NemoRLInstall
    # The run's one materialized Gym config, and where Gym's files were looked for
    # (GRPO with NeMo-Gym only).
    gym: GymConfig | None = None
    gym_roots: list[Path] = field(default_factory=list)
    # The environment NeMo-RL will start with, as far as it is known here, and the container
    # image (Slurm) whose own environment adds to it.
    job_env: dict[str, str] = field(default_factory=dict)
    container_image: str | None = None
    # Warnings a check found: shown and kept in the run's record, never refused.
    warnings: list[str] = field(default_factory=list)
