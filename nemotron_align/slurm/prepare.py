"""One Slurm job made ready on the login node: checked, rendered and described for its node.

The launcher composes every job in its own process and runs the launch up to the point of
starting NeMo-RL; this module then writes what the node needs (`slurm_job.json`, read by
nemotron_align.slurm.node_job) and the job's launch.json, started but not yet begun.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nemotron_align.config.launch_schema import LaunchSettings
from nemotron_align.config.release import NemoRLInstall, require_script
from nemotron_align.errors import LaunchRejectedMany
from nemotron_align.gym.rows import split_paths
from nemotron_align.preflight.data import batch_rows_needed
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.records.launch_record import LaunchRecord
from nemotron_align.records.mlflow_identity import mlflow_target
from nemotron_align.results.export_hf import ExportSettings
from nemotron_align.slurm.container_checks import container_path_problems, job_paths
from nemotron_align.slurm.model_checks import model_problems
from nemotron_align.slurm.node_job import InputFile, NodeJob

# The NeMo-RL container's own interpreter (its venv has NeMo-RL and what it needs).
CONTAINER_PYTHON = "/opt/nemo_rl_venv/bin/python"


def job_python(params: dict[str, Any]) -> str:
    """The interpreter that runs each task: hydra.launcher.python, else the container's, else
    the submitter's (a cluster whose nodes see the login node's environment)."""
    if params.get("python"):
        return str(params["python"])
    return CONTAINER_PYTHON if params.get("container_image") else sys.executable


def job_environment(params: dict[str, Any], env: dict[str, str]) -> dict[str, str]:
    """The environment as the job will see it: this one, launch.env, and the `export K=V` lines
    of hydra.launcher.setup."""
    seen = {**os.environ, **env}
    for line in params.get("setup") or []:
        words = shlex.split(line, comments=True)
        if words[:1] == ["export"]:
            for word in words[1:]:
                key, assigns, value = word.partition("=")
                if assigns:
                    seen[key] = os.path.expandvars(value)
    return seen


def job_checks(
    config: dict[str, Any], run_dir: Path, settings: LaunchSettings, params: dict[str, Any]
) -> list[str]:
    """What fails after the allocation unless checked before it: paths the container cannot see,
    models the node would have to download. Errors raise; warnings are returned."""
    problems = container_path_problems(job_paths(config, run_dir, settings.nemo_rl_root), params)
    # Relative model paths are read from the NeMo-RL root, as NeMo-RL will.
    located = {**config, "launch": {"nemo_rl_root": settings.nemo_rl_root}}
    errors, warnings = model_problems(located, job_environment(params, settings.env))
    if problems or errors:
        raise LaunchRejectedMany([*problems, *errors])
    return [w if w.startswith("warning: ") else f"warning: {w}" for w in warnings]


def _inputs(config: dict[str, Any], trainer: Trainer, nemo_rl_root: Path) -> list[InputFile]:
    """The local data files the job reads, and the rows the train file must keep. A relative path
    (a recipe's, data_paths) is read from the NeMo-RL root; under a root not on this machine (a
    container's) it is not seen here, and NeMo-RL finds out."""
    files = []
    for split, path in split_paths(config["data"], nemo_rl_root).items():
        if path.is_file():
            rows = batch_rows_needed(config, trainer) if split == "train" else 0
            files.append(InputFile(f"data.{split}.data_path", str(path.resolve()), rows))
    return files


def prepare(
    *,
    config: dict[str, Any],
    trainer: Trainer,
    settings: LaunchSettings,
    install: NemoRLInstall,
    params: dict[str, Any],
    record: LaunchRecord,
    args: list[str],
    job: tuple[int, list[str], Path, Path],
) -> None:
    """Write slurm_job.json and launch.json (not started) into the job's run folder."""
    num, overrides, sweep_dir, run_dir = job
    if install.root.is_dir() and not params.get("container_image"):
        require_script(install, trainer.script or "")
    elif not install.root.is_dir():
        record.warnings.append(
            f"warning: launch.nemo_rl_root: {install.root} is not on this machine; "
            "the node checks it"
        )
    node = NodeJob(
        num=num,
        overrides=overrides,
        sweep_dir=str(sweep_dir.resolve()),
        job_dir=str(run_dir.resolve()),
        python=list(settings.python) if settings.python else None,
        args=args,
        nemo_rl_root=str(install.root),
        script=trainer.script or "",
        nemo_rl_release=settings.nemo_rl_release,
        env=dict(settings.env),
        inputs=_inputs(config, trainer, install.root),
        num_nodes=int(config["cluster"]["num_nodes"]),
        gpus_per_node=int(config["cluster"]["gpus_per_node"]),
        timeout_min=int(params["timeout_min"]),
        signal_delay_s=int(params["signal_delay_s"]),
        max_num_timeout=int(params.get("max_num_timeout") or 0),
        ray=list(settings.ray),
        ray_port=settings.ray_port,
        ray_start_args=list(settings.ray_start_args),
        ray_ready_timeout_s=settings.ray_ready_timeout_s,
        export=asdict(ExportSettings.from_config(config, settings.export_hf.value)),
        mlflow=mlflow_target(config),
    )
    node.write(run_dir)
    record.python = node.python or [job_python(params)]
    record.argv = [*record.python, *args]
    record.start_time = None
    record.write(run_dir)
