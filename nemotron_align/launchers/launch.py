"""One run, start to finish: check, render, record, hand over to NeMo-RL."""

from __future__ import annotations

import copy
import logging
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from nemotron_align.config.launch_schema import LaunchMode, LaunchSettings, PreflightMode
from nemotron_align.config.release import NemoRLInstall, inspect_install, require_script
from nemotron_align.config.render import NEMO_RL_YAML, dump_yaml, to_nemo_rl_dict
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected, LaunchRejectedMany
from nemotron_align.gym.rows import split_paths
from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.io.secret_env import env_secret_refused, is_secret_name
from nemotron_align.preflight import gym as gym_preflight
from nemotron_align.preflight import nemo_rl_keys
from nemotron_align.preflight.data import check_data
from nemotron_align.preflight.nemo_rl_schema import nemo_rl_importable, schema_problems
from nemotron_align.preflight.pairing import Trainer, check_data_fits
from nemotron_align.preflight.semantics import check_semantics
from nemotron_align.records.launch_record import LaunchRecord
from nemotron_align.records.run_lock import RunLock

log = logging.getLogger("nemotron_align")


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


def _check_env(settings: LaunchSettings) -> None:
    secrets = sorted(k for k in settings.env if is_secret_name(k))
    if secrets:
        raise LaunchRejectedMany([env_secret_refused(name) for name in secrets])


def _choose_mode(settings: LaunchSettings, multirun: bool) -> LaunchMode:
    if settings.mode is LaunchMode.auto:
        return LaunchMode.subprocess if multirun else LaunchMode.exec
    if settings.mode is LaunchMode.exec and multirun:
        raise LaunchRejected(
            "launch.mode",
            "exec cannot be used in a multirun or under a launcher: it silently drops sweep "
            "jobs and breaks submitit",
            "use launch.mode=auto (the default) or launch.mode=subprocess",
        )
    return settings.mode


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


def launch(cfg: DictConfig, ctx: LaunchContext) -> int:
    settings = launch_settings(cfg)
    _check_env(settings)
    mode = _choose_mode(settings, ctx.multirun)
    config = to_nemo_rl_dict(cfg)
    trainer = check_data_fits(config, ctx.algo, ctx.data)
    install = inspect_install(settings.nemo_rl_root)
    in_process = trainer is Trainer.grpo_nemo_gym and mode is LaunchMode.exec
    warnings: list[str] = []
    if settings.preflight is not PreflightMode.off:
        # A Slurm sweep shows each warning once for all its jobs, from their records.
        warnings += _preflight(config, trainer, settings, install, show=ctx.slurm is None)
        if ctx.slurm:
            from nemotron_align.slurm import prepare as slurm_prepare

            warnings += slurm_prepare.job_checks(config, ctx.run_dir, settings, ctx.slurm.params)
    if settings.reward_probe:
        _probe_rewards(config, trainer, settings)
    _write_config(ctx, dump_yaml(config))
    if trainer is Trainer.grpo_nemo_gym:
        gym_preflight.write_gym_config(config, install.root, ctx.run_dir)

    python = list(settings.python) if settings.python else [sys.executable]
    argv = _command(trainer, python, ctx.config_path)
    record = LaunchRecord(
        argv=argv,
        cwd=str(install.root),
        mode="slurm" if ctx.slurm else "in-process" if in_process else mode.value,
        dry_run=settings.dry_run,
        nemo_rl_root=str(install.root),
        nemo_rl_version=install.version,
        nemo_rl_release=settings.nemo_rl_release,
        nemo_rl_commit=install.commit,
        python=python,
        overrides=ctx.overrides,
        env=dict(settings.env),
        relaunch=relaunch_command(ctx.run_dir, ctx.composed_config_dir),
        warnings=warnings,
        relaunched_from=str(ctx.relaunched_from) if ctx.relaunched_from else None,
    )
    record.keep_history(ctx.run_dir)
    if ctx.slurm:
        from nemotron_align.slurm import prepare as slurm_prepare

        slurm_prepare.prepare(
            config=config,
            trainer=trainer,
            settings=settings,
            install=install,
            params=ctx.slurm.params,
            record=record,
            args=argv[len(python) :],
            job=(ctx.slurm.num, ctx.overrides, ctx.slurm.sweep_dir, ctx.run_dir),
        )
        return 0
    log.info("run folder: %s", ctx.run_dir.resolve())
    log.info("NeMo-RL config: %s", ctx.config_path)
    if in_process:
        log.info("in-process NeMo-Gym GRPO (cwd %s), as: %s", install.root, shlex.join(argv))
    else:
        log.info("command (cwd %s): %s", install.root, shlex.join(argv))
    if record.relaunch:
        log.info("relaunch: %s", shlex.join(record.relaunch))

    try:
        require_script(install, trainer.script or "")
    except LaunchRejected as err:
        if not settings.dry_run:
            return _refuse_start(record, ctx, err)
        record.warnings.append(f"warning: the real launch will fail: {err.render()}")
        log.warning("the real launch will fail: %s", err.render())
    if settings.dry_run:
        record.write(ctx.run_dir)
        log.info("dry run: nothing started")
        return 0

    from nemotron_align.launchers.process import child_environment, exec_replace, run_child

    env = child_environment(settings.env)
    if in_process:
        from nemotron_align.gym.runner import run_in_process

        record.write(ctx.run_dir)
        ctx.handed_over = True
        try:
            code = run_in_process(ctx.config_path, install.root, env)
        except LaunchRejected as err:
            return _refuse_start(record, ctx, err)
        record.finish(ctx.run_dir, code)
        return code
    if mode is LaunchMode.exec:
        record.write(ctx.run_dir)
        if ctx.lock:
            ctx.lock.keep_across_exec()
        exec_replace(argv, install.root, env)
    record.write(ctx.run_dir)
    ctx.handed_over = True
    # The child holds the lock too: if we die, the folder stays busy until it has exited.
    code = run_child(argv, install.root, env, pass_fds=(ctx.lock.fd,) if ctx.lock else ())
    record.finish(ctx.run_dir, code)
    log.info("NeMo-RL exited with code %d", code)
    return code


def _release_problems(settings: LaunchSettings, install: NemoRLInstall) -> list[LaunchRejected]:
    """The config is composed for one release; the checkout that will run must be that one."""
    if install.release in (None, settings.nemo_rl_release):
        return []
    return [
        LaunchRejected(
            "nemo_rl",
            f"the config is composed for NeMo-RL {settings.nemo_rl_release}, but "
            f"{install.root} holds NeMo-RL {install.release}",
            f"add nemo_rl={install.release} (or leave nemo_rl out: the release under "
            "launch.nemo_rl_root is then used)",
        )
    ]


def _as_handed_to_nemo_rl(config: dict, trainer: Trainer) -> dict:
    """The config as NeMo-RL's schema will see it: the Gym runner fills grpo.max_val_samples and
    val_batch_size from the validation set first (any count will do for the check)."""
    if trainer is not Trainer.grpo_nemo_gym:
        return config
    from nemotron_align.gym.runner import apply_validation_size

    handed = copy.deepcopy(config)
    apply_validation_size(handed["grpo"], 1)
    return handed


def _key_problems(
    config: dict, trainer: Trainer, release: str, warnings: list[str]
) -> list[LaunchRejected]:
    """Offline, against the key snapshot of `release`: errors refuse, warnings are kept."""
    errors, found = nemo_rl_keys.problems(config, release, trainer.schema)
    warnings += [f"warning: {text}" for text in found]
    return errors


def _data_problems(config: dict, trainer: Trainer, warnings: list[str]) -> list[LaunchRejected]:
    errors, found = check_data(config, trainer)
    warnings += found
    return errors


def _preflight(
    config: dict,
    trainer: Trainer,
    settings: LaunchSettings,
    install: NemoRLInstall,
    show: bool,
) -> list[str]:
    """Every check before launch; all problems are gathered, then refused (strict) or shown.
    Returns the warnings (printed first when `show`)."""
    warnings: list[str] = []
    handed = _as_handed_to_nemo_rl(config, trainer)
    checks = [
        lambda: _release_problems(settings, install),
        lambda: check_semantics(config, trainer, settings.env),
        lambda: (
            schema_problems(handed, trainer)
            if nemo_rl_importable()
            else _key_problems(handed, trainer, settings.nemo_rl_release, warnings)
        ),
    ]
    if trainer is Trainer.grpo_nemo_gym:
        checks.append(lambda: gym_preflight.gym_run_problems(config, install.root))
    checks.append(lambda: _data_problems(config, trainer, warnings))
    problems: list[LaunchRejected] = []
    for check in checks:
        try:
            problems += check() or []
        except LaunchRejectedMany as err:
            problems += err.problems
        except LaunchRejected as err:
            problems.append(err)
    if show:
        for warning in warnings:
            print(warning, file=sys.stderr)
    if not problems:
        return warnings
    if settings.preflight is PreflightMode.strict:
        raise LaunchRejectedMany(problems)
    shown = [p.render().replace("error:", "warning:", 1) for p in problems]
    if show:
        print("\n".join(shown), file=sys.stderr)
    log.warning("launch.preflight=warn: launching despite %d problem(s)", len(problems))
    return warnings + shown


def _probe_rewards(config: dict, trainer: Trainer, settings: LaunchSettings) -> None:
    if trainer is Trainer.dpo:
        raise LaunchRejected(
            "launch.reward_probe",
            "DPO has no reward to probe",
            "drop launch.reward_probe, or use it with algo=rlvr, grpo_gym or rlhf",
        )
    paths = list(split_paths(config["data"]).values())
    if not paths:
        raise LaunchRejected(
            "launch.reward_probe",
            "needs local JSONL data (data.train.data_path), not a Hugging Face dataset",
            "point data.train.data_path at a local file, or drop launch.reward_probe",
        )
    from nemotron_align.probe import reward as reward_probe

    result = reward_probe.run_probe(
        paths,
        n=settings.reward_probe_rows,
        mode=settings.reward_probe_mode,
        gym_python=settings.reward_probe_python,
        out=sys.stderr,
    )
    reward_probe.reject_if_failed(result)


def _refuse_start(record: LaunchRecord, ctx: LaunchContext, err: LaunchRejected) -> int:
    """The config is fine but NeMo-RL cannot start: keep the run folder for inspection."""
    record.error = err.render()
    record.write(ctx.run_dir)
    print(err.render(), file=sys.stderr)
    log.info("the rendered config stays at %s for inspection", ctx.config_path)
    return EXIT_REJECTED
