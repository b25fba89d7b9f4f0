"""The `nemotron-align` / `python -m nemotron_align` entry point: one Hydra app."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from functools import partial
from pathlib import Path
from typing import NoReturn

import hydra
from hydra._internal.utils import run_and_report
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nemotron_align.config.diagnose import diagnose, fault
from nemotron_align.config.location import CONFIG_PATH
from nemotron_align.config.recipe_args import with_recipe
from nemotron_align.config.relaunch import composed_from, relaunch_args
from nemotron_align.config.release import default_root, detect_release
from nemotron_align.config.resolvers import register_resolvers
from nemotron_align.config.store import register_schemas
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected
from nemotron_align.io.secret_env import RedactingStream, scrub_files
from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.launch import launch
from nemotron_align.records import run_state
from nemotron_align.records.run_lock import LOCK_FILE, RunFolderBusy, hold
from nemotron_align.slurm.job_handover import job_being_made_ready

log = logging.getLogger("nemotron_align")

_FULL_ERROR = "HYDRA_FULL_ERROR"
# Set with it when main() sets it, not the user; a job Slurm starts inherits both.
_FULL_ERROR_OURS = "NEMOTRON_ALIGN_SET_HYDRA_FULL_ERROR"

register_resolvers()
register_schemas()


def _hydra_files(run_dir: Path, hydra_cfg: DictConfig) -> list[Path]:
    """What Hydra writes itself, with overrides as typed: scrubbed of secrets after the fact."""
    files = [*(run_dir / ".hydra").glob("*.yaml"), run_dir / f"{hydra_cfg.job.name}.log"]
    if hydra_cfg.mode == RunMode.MULTIRUN:
        files.append(Path(hydra_cfg.sweep.dir) / "multirun.yaml")
    return files


def _composed_config_dir(run_dir: Path, hydra_cfg: DictConfig) -> Path | None:
    if hydra_cfg.output_subdir is not None:
        return run_dir / hydra_cfg.output_subdir
    # A relaunch into its record's folder writes no new record: it points at that one.
    return composed_from(hydra_cfg)


def _remove_what_hydra_wrote(run_dir: Path, hydra_cfg: DictConfig) -> None:
    """Undo this launch's files only: a folder the user pointed us at keeps anything else."""
    logging.shutdown()
    if hydra_cfg.output_subdir is not None:
        shutil.rmtree(run_dir / hydra_cfg.output_subdir, ignore_errors=True)
    (run_dir / f"{hydra_cfg.job.name}.log").unlink(missing_ok=True)
    # Removed while still held: see run_lock.hold.
    (run_dir / LOCK_FILE).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        run_dir.rmdir()  # only if now empty


def _clean_up_rejected(
    run_dir: Path, fresh: bool, hydra_cfg: DictConfig, holding_the_folder: bool = True
) -> None:
    """Keep no secret on disk, leave no half-made run folder behind, and leave an existing run's
    record as it was."""
    scrub_files(_hydra_files(run_dir, hydra_cfg))
    before = run_state.current().before_of(run_dir)
    if before is not None:
        before.restore(holding_the_folder)
    elif fresh:
        _remove_what_hydra_wrote(run_dir, hydra_cfg)


@hydra.main(version_base="1.3", config_path=CONFIG_PATH, config_name="config")
def app(cfg: DictConfig) -> int:
    run_state.current().task_started = True
    if os.environ.pop(_FULL_ERROR_OURS, None):
        os.environ.pop(_FULL_ERROR, None)
    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    scrub_files(_hydra_files(run_dir, hydra_cfg))
    record = composed_from(hydra_cfg)
    ctx = LaunchContext(
        run_dir=run_dir,
        multirun=hydra_cfg.mode == RunMode.MULTIRUN,
        algo=hydra_cfg.runtime.choices.get("algo"),
        data=hydra_cfg.runtime.choices.get("data"),
        # As typed: read item by item, `${...}` in an override would be resolved (an unset
        # variable raising here, a secret value landing in the records).
        overrides=OmegaConf.to_container(hydra_cfg.overrides.task),
        composed_config_dir=_composed_config_dir(run_dir, hydra_cfg),
        slurm=job_being_made_ready(),
        relaunched_from=record.parent if record else None,
    )
    try:
        code = _launch_holding_the_folder(cfg, ctx, hydra_cfg)
    except LaunchRejected as err:
        if ctx.slurm:
            raise  # the Slurm launcher reports it, naming the job
        print(err.render(), file=sys.stderr)
        code = EXIT_REJECTED
    scrub_files(_hydra_files(run_dir, hydra_cfg))
    if ctx.multirun:
        return code
    if code:
        sys.exit(code)
    return code


def _launch_holding_the_folder(cfg: DictConfig, ctx: LaunchContext, hydra_cfg: DictConfig) -> int:
    """Launch holding the run folder's lock, taken before anything of ours is written there (in
    exec mode NeMo-RL goes on holding it). A rejected launch cleans up; one turned away from a
    busy folder touches nothing of the run that holds it."""
    try:
        ctx.lock = hold(ctx.run_dir)
    except RunFolderBusy:
        _clean_up_rejected(ctx.run_dir, False, hydra_cfg, holding_the_folder=False)
        raise
    except Exception as err:
        _clean_up_rejected(ctx.run_dir, False, hydra_cfg)
        _raise_as_rejected(err, ctx.run_dir)
    with ctx.lock:
        fresh = not ctx.has_rendered_config()
        try:
            return launch(cfg, ctx)
        except Exception as err:
            if not ctx.handed_over:  # after it, the run folder is NeMo-RL's
                _clean_up_rejected(ctx.run_dir, fresh, hydra_cfg)
            _raise_as_rejected(err, ctx.run_dir)


def _raise_as_rejected(err: Exception, run_dir: Path) -> NoReturn:
    """Any fault as an error with a fix; the traceback where the user set HYDRA_FULL_ERROR."""
    if isinstance(err, LaunchRejected) or _FULL_ERROR in os.environ:
        raise err
    raise fault(err, str(run_dir)) from err


def with_detected_release(args: list[str]) -> list[str]:
    """Compose for the NeMo-RL release found under launch.nemo_rl_root, unless the command line
    names one (nemo_rl=...) or relaunches a composed record (which has it already)."""
    named = ("nemo_rl=", "--config-path", "-cp", "--config-dir", "-cd")
    if any(arg.startswith(named) for arg in args):
        return args
    root = default_root()
    for arg in args:
        key, assigns, value = arg.lstrip("+").partition("=")
        if key == "launch.nemo_rl_root" and assigns:
            root = value.strip("'\"")
    release = detect_release(Path(root).expanduser())
    return [*args, f"nemo_rl={release}"] if release else args


def main() -> None:
    # What Hydra and we print (an echoed override, a sweep's summary) keeps no secret value either.
    sys.stdout, sys.stderr = RedactingStream(sys.stdout), RedactingStream(sys.stderr)
    try:
        sys.argv[1:] = relaunch_args(with_recipe(with_detected_release(sys.argv[1:])))
    except LaunchRejected as err:
        print(err.render(), file=sys.stderr)
        sys.exit(EXIT_REJECTED)
    # With HYDRA_FULL_ERROR set, Hydra raises what it refuses instead of printing its message, so
    # that the explanation below replaces it; the task unsets it. Set by the user: the traceback.
    if _FULL_ERROR not in os.environ:
        os.environ[_FULL_ERROR] = os.environ[_FULL_ERROR_OURS] = "1"
    refused = None
    state = run_state.begin()
    try:
        app()
    except Exception as err:
        if not state.task_started and state.before is not None:
            # Hydra failed writing the run folder: one it made goes; in one that was there
            # (whose lock is not ours), only the record is put back.
            state.before.restore(holding_the_folder=not state.before.existed)
        if state.task_started or _FULL_ERROR_OURS not in os.environ:
            raise
        refused = err
    if refused is not None:  # outside the except: what diagnosis raises is not chained to it
        _explain_refused_config(refused, state)
    if state.sweep_exit_status:
        sys.exit(state.sweep_exit_status)


def _raise(err: Exception) -> NoReturn:
    raise err


def _explain_refused_config(err: Exception, state: run_state.RunState) -> NoReturn:
    """Hydra refused the config before any task ran: name every problem, exit status 2. Where
    none is found, a fault (a run folder Hydra cannot write) is explained, or (a relaunch)
    Hydra's report stands."""
    del os.environ[_FULL_ERROR], os.environ[_FULL_ERROR_OURS]
    before = state.before
    problems = diagnose(sys.argv[1:])
    if problems:
        print("\n".join(p.render() for p in problems), file=sys.stderr)
    elif not isinstance(err, (HydraException, OmegaConfBaseException)):
        print(
            fault(err, str(before.run_dir) if before else "hydra.run.dir").render(), file=sys.stderr
        )
    else:
        with contextlib.suppress(SystemExit):
            run_and_report(partial(_raise, err))
    sys.exit(EXIT_REJECTED)
