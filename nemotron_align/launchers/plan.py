"""Everything decided before NeMo-RL starts: checked, rendered, recorded in the run folder.

`prepare(cfg, ctx)` runs the preflight checks and the reward probe, writes nemo_rl.yaml (and,
with NeMo-Gym, nemo_gym.yaml) and the launch record's history, and returns the LaunchPlan that
`nemotron_align.launchers.execute` carries out."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from nemotron_align.config.launch_schema import ExportHF, LaunchMode, LaunchSettings, PreflightMode
from nemotron_align.config.release import NemoRLInstall, inspect_install
from nemotron_align.config.render import dump_yaml, to_nemo_rl_dict
from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.gym.config import GymConfig, gym_roots
from nemotron_align.gym.rows import split_paths
from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.io.secret_env import env_secret_refused, is_secret_name
from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.process import child_environment
from nemotron_align.preflight import gym as gym_preflight
from nemotron_align.preflight.checks import run_preflight
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.preflight.pairing import Trainer, check_data_fits
from nemotron_align.records import lineage
from nemotron_align.records.launch_record import LaunchRecord
from nemotron_align.results.export_hf import ExportSettings

log = logging.getLogger("nemotron_align")


class Strategy(str, Enum):
    """How the plan is carried out (see execute.STRATEGIES)."""

    slurm = "slurm"  # a Slurm sweep's job, made ready on the submitting machine
    dry_run = "dry_run"
    in_process = "in-process"  # NeMo-Gym GRPO driven from this process
    exec = "exec"
    subprocess = "subprocess"


@dataclass
class LaunchPlan:
    ctx: LaunchContext
    settings: LaunchSettings
    install: NemoRLInstall
    trainer: Trainer
    strategy: Strategy
    # The rendered NeMo-RL config, exactly as written to nemo_rl.yaml.
    config: dict
    # The one materialized Gym config, as written to nemo_gym.yaml (NeMo-Gym GRPO only).
    gym: GymConfig | None
    python: list[str]
    argv: list[str]
    record: LaunchRecord
    env: dict[str, str]
    # launch.export_hf with the checkpointing facts it needs (results.export_hf).
    export: ExportSettings

    @property
    def cwd(self) -> Path:
        return self.install.root


def _check_env(settings: LaunchSettings) -> None:
    secrets = sorted(k for k in settings.env if is_secret_name(k))
    if secrets:
        raise LaunchRejectedMany([env_secret_refused(name) for name in secrets])


def _choose_mode(settings: LaunchSettings, multirun: bool, trainer: Trainer) -> LaunchMode:
    # Exec leaves nothing behind to export after NeMo-RL; in-process (the Gym runner) does.
    exports = settings.export_hf is not ExportHF.none and trainer is not Trainer.grpo_nemo_gym
    if settings.mode is LaunchMode.auto:
        return LaunchMode.subprocess if multirun or exports else LaunchMode.exec
    if settings.mode is LaunchMode.exec and exports:
        raise LaunchRejected(
            "launch.mode",
            f"exec cannot export (launch.export_hf={settings.export_hf.value}): NeMo-RL "
            "replaces the launcher, and nothing is left to run the converter after it",
            "use launch.mode=auto (the default) or launch.mode=subprocess, or drop "
            "launch.export_hf",
        )
    if settings.mode is LaunchMode.exec and multirun:
        raise LaunchRejected(
            "launch.mode",
            "exec cannot be used in a multirun or under a launcher: it silently drops sweep "
            "jobs and breaks submitit",
            "use launch.mode=auto (the default) or launch.mode=subprocess",
        )
    return settings.mode


def _strategy(
    ctx: LaunchContext, settings: LaunchSettings, mode: LaunchMode, trainer: Trainer
) -> tuple[Strategy, str]:
    """How to carry the plan out, and the mode the launch record names (a dry run's too)."""
    in_process = trainer is Trainer.grpo_nemo_gym and mode is LaunchMode.exec
    recorded = "slurm" if ctx.slurm else "in-process" if in_process else mode.value
    if ctx.slurm:
        return Strategy.slurm, recorded
    if settings.dry_run:
        return Strategy.dry_run, recorded
    return Strategy(recorded), recorded


def _check_export(settings: LaunchSettings, config: dict) -> None:
    if settings.export_hf is not ExportHF.none and not config["checkpointing"].get("enabled"):
        raise LaunchRejected(
            "launch.export_hf",
            f"{settings.export_hf.value} exports a checkpoint, but checkpointing.enabled is "
            "false: the run would save none",
            "drop checkpointing.enabled=false, or drop launch.export_hf",
        )


def _write_config(ctx: LaunchContext, text: str) -> None:
    """Write nemo_rl.yaml; a relaunch into the same folder must produce the same file."""
    path = ctx.config_path
    if path.exists():
        if path.read_text() == text:
            log.info("run folder %s already holds this exact config: relaunching it", ctx.run_dir)
            return
        raise LaunchRejected(
            str(path),
            "this run folder already holds a different nemo_rl.yaml; launching into it would mix "
            "two configs in one checkpoint dir",
            "launch into a new folder (drop hydra.run.dir), or relaunch with exactly the "
            "original settings",
        )
    write_atomically(path, text)


def _command(trainer: Trainer, python: list[str], config: Path) -> list[str]:
    if trainer.script is None:
        return [*python, "-m", "nemotron_align.gym.runner", "--config", str(config)]
    return [*python, trainer.script, "--config", str(config)]


def relaunch_command(run_dir: Path, composed_config_dir: Path | None) -> list[str] | None:
    """Compose the run again from Hydra's record of it, into the same folder, leaving that record
    as it is (see nemotron_align.config.relaunch). None when Hydra kept no record."""
    if composed_config_dir is None:
        return None
    return [
        sys.executable,
        "-m",
        "nemotron_align",
        "--config-path",
        str(composed_config_dir.resolve()),
        "--config-name",
        "config",
        f"hydra.run.dir={run_dir.resolve()}",
    ]


def launch_settings(cfg: DictConfig) -> LaunchSettings:
    # Merged onto the schema so a config without it (a relaunch's .hydra/config.yaml) is typed too.
    merged = OmegaConf.merge(OmegaConf.structured(LaunchSettings), cfg.launch)
    return OmegaConf.to_object(merged)


def _checks(config: dict, ctx: LaunchContext, context: PreflightContext, show: bool) -> list[str]:
    """The preflight checks (and a Slurm job's own); their warnings."""
    settings = context.settings
    if settings.preflight is PreflightMode.off:
        return []
    # A Slurm sweep shows each warning once for all its jobs, from their records.
    warnings = run_preflight(config, context, show=show and ctx.slurm is None)
    if ctx.slurm:
        from nemotron_align.slurm import prepare as slurm_prepare

        warnings += slurm_prepare.job_checks(config, ctx.run_dir, settings, ctx.slurm.params)
    return warnings


@dataclass
class Checked:
    """A config that passed every check, before anything is written."""

    settings: LaunchSettings
    config: dict
    trainer: Trainer
    mode: LaunchMode
    install: NemoRLInstall
    gym: GymConfig | None
    warnings: list[str]


def check(cfg: DictConfig, ctx: LaunchContext, show: bool = True) -> Checked:
    """Every check of a launch, writing nothing (a search checks each sampled point with it
    before its job exists); raises LaunchRejected. `show` prints the warnings."""
    settings = launch_settings(cfg)
    _check_env(settings)
    config = to_nemo_rl_dict(cfg)
    trainer = check_data_fits(config, ctx.algo, ctx.data)
    mode = _choose_mode(settings, ctx.multirun, trainer)
    _check_export(settings, config)
    install = inspect_install(settings.nemo_rl_root)
    gym, roots = None, []
    if trainer is Trainer.grpo_nemo_gym:
        roots = gym_roots(install.root)
        gym = gym_preflight.materialize_gym(config, roots)
    context = PreflightContext(
        trainer=trainer,
        settings=settings,
        install=install,
        gym=gym,
        gym_roots=roots,
        **_job_environment(ctx, settings),
    )
    warnings = _checks(config, ctx, context, show)
    return Checked(settings, config, trainer, mode, install, gym, warnings)


def _job_environment(ctx: LaunchContext, settings: LaunchSettings) -> dict[str, Any]:
    """PreflightContext's job_env and container_image: a Slurm job's from its launcher
    parameters, else this process's environment with launch.env."""
    if ctx.slurm is None:
        return {"job_env": child_environment(settings.env)}
    from nemotron_align.slurm import prepare as slurm_prepare

    params = ctx.slurm.params
    return {
        "job_env": slurm_prepare.job_environment(params, settings.env),
        "container_image": params.get("container_image") or None,
    }


def prepare(cfg: DictConfig, ctx: LaunchContext) -> LaunchPlan:
    checked = check(cfg, ctx)
    settings, config, trainer, install = (
        checked.settings,
        checked.config,
        checked.trainer,
        checked.install,
    )
    if settings.reward_probe:
        _probe_rewards(config, trainer, settings, install.root)
    _write_config(ctx, dump_yaml(config))
    if checked.gym is not None:
        gym_preflight.write_gym_config(checked.gym, ctx.run_dir)
    strategy, recorded_mode = _strategy(ctx, settings, checked.mode, trainer)
    python = list(settings.python) if settings.python else [sys.executable]
    argv = _command(trainer, python, ctx.config_path)
    record = LaunchRecord(
        argv=argv,
        cwd=str(install.root),
        mode=recorded_mode,
        dry_run=settings.dry_run,
        nemo_rl_root=str(install.root),
        nemo_rl_version=install.version,
        nemo_rl_release=settings.nemo_rl_release,
        nemo_rl_commit=install.commit,
        python=python,
        overrides=ctx.overrides,
        env=dict(settings.env),
        relaunch=relaunch_command(ctx.run_dir, ctx.composed_config_dir),
        warnings=checked.warnings,
        relaunched_from=str(ctx.relaunched_from) if ctx.relaunched_from else None,
        recipe=settings.recipe,
        consumed=lineage.consumed(config, install.root),
    )
    record.keep_history(ctx.run_dir)
    return LaunchPlan(
        ctx=ctx,
        settings=settings,
        install=install,
        trainer=trainer,
        strategy=strategy,
        config=config,
        gym=checked.gym,
        python=python,
        argv=argv,
        record=record,
        env=child_environment(settings.env),
        export=ExportSettings.from_config(config, settings.export_hf.value),
    )


def _probe_rewards(
    config: dict, trainer: Trainer, settings: LaunchSettings, nemo_rl_root: Path
) -> None:
    from nemotron_align.probe import reward as reward_probe

    if trainer is Trainer.dpo:
        raise LaunchRejected(
            "launch.reward_probe",
            "DPO has no reward to probe",
            "drop launch.reward_probe, or use it with algo=rlvr, grpo_gym or rlhf",
        )
    paths = list(split_paths(config["data"], nemo_rl_root).values())
    if not paths:
        raise LaunchRejected(
            "launch.reward_probe",
            "needs local JSONL data (data.train.data_path), not a Hugging Face dataset",
            "point data.train.data_path at a local file, or drop launch.reward_probe",
        )
    result = reward_probe.run_probe(
        paths,
        n=settings.reward_probe_rows,
        mode=settings.reward_probe_mode,
        gym_python=settings.reward_probe_python,
        out=sys.stderr,
    )
    reward_probe.reject_if_failed(result)
