"""One MLflow run per run folder: every launch into the folder (a relaunch, a Slurm requeue)
logs into the same run.

NeMo-RL's MLflowLogger continues `logger.mlflow.run_id`, else env MLFLOW_RUN_ID, with
`mlflow.start_run(run_id=...)`, which needs an existing run; without either it starts a new run
at every launch. So before NeMo-RL starts, when `logger.mlflow_enabled` and neither is set, the
run tagged `nemotron_align.run_dir=<run folder>` in the configured experiment is found or
created by mlflow_run.py (a file of ours, run by launch.python: the interpreter with mlflow; ours
may have none), and its id handed to NeMo-RL as MLFLOW_RUN_ID. Where that fails (no mlflow
there, no tracking server) a warning says so and NeMo-RL starts as it would have.

Standard library only: it also runs on Slurm nodes.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("mlflow_run.py")
TIMEOUT_S = 120
# logger.mlflow keys that say where the run is, and the script's option for each.
OPTIONS = {
    "tracking_uri": "--tracking-uri",
    "experiment_name": "--experiment",
    "artifact_location": "--artifact-location",
    "run_name": "--run-name",
}


@dataclass
class MlflowRun:
    run_id: str | None = None
    warning: str | None = None


def mlflow_target(config: dict) -> dict[str, str] | None:
    """The logger.mlflow settings the run is found by; None where no run is to be found (MLflow
    off, or its run id configured)."""
    logger = config.get("logger") or {}
    settings = logger.get("mlflow") or {}
    if not logger.get("mlflow_enabled") or settings.get("run_id"):
        return None
    return {key: str(settings[key]) for key in OPTIONS if settings.get(key) is not None}


def ensure_mlflow_run(
    target: dict[str, str] | None, python: list[str], run_dir: Path, cwd: Path, env: dict[str, str]
) -> MlflowRun:
    """The folder's MLflow run, got or created with `python` (env MLFLOW_RUN_ID set: that one)."""
    if target is None or env.get("MLFLOW_RUN_ID"):
        return MlflowRun()
    argv = [*python, str(SCRIPT), "--run-dir", str(run_dir.resolve())]
    for key, value in target.items():
        argv += [OPTIONS[key], value]
    try:
        done = subprocess.run(
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return MlflowRun(warning=_warning(str(err)))
    lines = done.stdout.split()
    if done.returncode != 0 or not lines:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return MlflowRun(warning=_warning(why))
    return MlflowRun(run_id=lines[-1])


def _warning(why: str) -> str:
    return (
        f"warning: logger.mlflow: the run folder's MLflow run could not be found or created "
        f"({why}); NeMo-RL starts a new MLflow run, and a relaunch will start another"
    )
