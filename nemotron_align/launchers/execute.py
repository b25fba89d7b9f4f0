"""Carry out a LaunchPlan: one strategy per way a run starts, picked from STRATEGIES."""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Callable

from nemotron_align.config.release import require_script
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected
from nemotron_align.launchers.plan import LaunchPlan, Strategy
from nemotron_align.launchers.process import exec_replace, run_child
from nemotron_align.records.mlflow_identity import ensure_mlflow_run, mlflow_target
from nemotron_align.results.export_hf import StartedAs, after_training

log = logging.getLogger("nemotron_align")

Start = Callable[[LaunchPlan], int]


def _prepare_slurm_job(plan: LaunchPlan) -> int:
    from nemotron_align.slurm import prepare as slurm_prepare

    ctx = plan.ctx
    assert ctx.slurm is not None
    slurm_prepare.prepare(
        config=plan.config,
        trainer=plan.trainer,
        settings=plan.settings,
        install=plan.install,
        params=ctx.slurm.params,
        record=plan.record,
        args=plan.argv[len(plan.python) :],
        job=(ctx.slurm.num, ctx.overrides, ctx.slurm.sweep_dir, ctx.run_dir),
    )
    return 0


def _dry_run(plan: LaunchPlan) -> int:
    plan.record.write(plan.ctx.run_dir)
    log.info("dry run: nothing started")
    return 0


def _in_process(plan: LaunchPlan) -> int:
    from nemotron_align.gym.runner import run_in_process

    ctx = plan.ctx
    plan.record.write(ctx.run_dir)
    ctx.handed_over = True
    try:
        code = run_in_process(plan.config, plan.gym, ctx.run_dir.resolve(), plan.cwd, plan.env)
    except LaunchRejected as err:
        return _refuse_start(plan, err)
    return _finish(plan, code)


def _exec(plan: LaunchPlan) -> int:
    plan.record.write(plan.ctx.run_dir)
    if plan.ctx.lock:
        plan.ctx.lock.keep_across_exec()
    exec_replace(plan.argv, plan.cwd, plan.env)


def _subprocess(plan: LaunchPlan) -> int:
    ctx = plan.ctx
    plan.record.write(ctx.run_dir)
    ctx.handed_over = True
    # The child holds the lock too: if we die, the folder stays busy until it has exited.
    pass_fds = (ctx.lock.fd,) if ctx.lock else ()
    code = run_child(plan.argv, plan.cwd, plan.env, pass_fds=pass_fds)
    log.info("NeMo-RL exited with code %d", code)
    return _finish(plan, code, pass_fds)


def _finish(plan: LaunchPlan, code: int, pass_fds: tuple[int, ...] = ()) -> int:
    """After NeMo-RL: what it produced, the HF export when asked; the run's recorded end."""
    if plan.export.which != "none" and code == 0:
        log.info("exporting the %s checkpoint to Hugging Face format", plan.export.which)
    started_as = StartedAs(plan.python, plan.cwd, plan.env, pass_fds)
    code = after_training(plan.record, plan.ctx.run_dir, plan.export, code, started_as)
    plan.record.finish(plan.ctx.run_dir, code)
    return code


def _in_mlflow_run(start: Start) -> Start:
    """NeMo-RL logs into the run folder's one MLflow run (see records/mlflow_identity)."""

    def started(plan: LaunchPlan) -> int:
        found = ensure_mlflow_run(
            mlflow_target(plan.config), plan.python, plan.ctx.run_dir, plan.cwd, plan.env
        )
        if found.warning:
            log.warning("%s", found.warning)
            plan.record.warnings.append(found.warning)
        if found.run_id:
            plan.env["MLFLOW_RUN_ID"] = plan.record.mlflow_run_id = found.run_id
        return start(plan)

    return started


def _from_here(start: Start) -> Start:
    """A run started from this machine: shown first, and refused (a dry run: warned) when
    NeMo-RL's script is missing from the checkout."""

    def announced(plan: LaunchPlan) -> int:
        _announce(plan)
        try:
            require_script(plan.install, plan.trainer.script or "")
        except LaunchRejected as err:
            if not plan.settings.dry_run:
                return _refuse_start(plan, err)
            plan.record.warnings.append(f"warning: the real launch will fail: {err.render()}")
            log.warning("the real launch will fail: %s", err.render())
        return start(plan)

    return announced


STRATEGIES: dict[Strategy, Start] = {
    Strategy.slurm: _prepare_slurm_job,
    Strategy.dry_run: _from_here(_dry_run),
    Strategy.in_process: _from_here(_in_mlflow_run(_in_process)),
    Strategy.exec: _from_here(_in_mlflow_run(_exec)),
    Strategy.subprocess: _from_here(_in_mlflow_run(_subprocess)),
}


def execute(plan: LaunchPlan) -> int:
    return STRATEGIES[plan.strategy](plan)


def _announce(plan: LaunchPlan) -> None:
    log.info("run folder: %s", plan.ctx.run_dir.resolve())
    log.info("NeMo-RL config: %s", plan.ctx.config_path)
    command = shlex.join(plan.argv)
    if plan.record.mode == "in-process":
        log.info("in-process NeMo-Gym GRPO (cwd %s), as: %s", plan.cwd, command)
    else:
        log.info("command (cwd %s): %s", plan.cwd, command)
    if plan.record.relaunch:
        log.info("relaunch: %s", shlex.join(plan.record.relaunch))


def _refuse_start(plan: LaunchPlan, err: LaunchRejected) -> int:
    """The config is fine but NeMo-RL cannot start: keep the run folder for inspection."""
    plan.record.error = err.render()
    plan.record.write(plan.ctx.run_dir)
    print(err.render(), file=sys.stderr)
    log.info("the rendered config stays at %s for inspection", plan.ctx.config_path)
    return EXIT_REJECTED
