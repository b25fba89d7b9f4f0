"""launch.resume: what the checkpoint dir may hold when the run starts.

NeMo-RL resumes silently from the newest `step_N` folder in `checkpointing.checkpoint_dir`
(`CheckpointManager.get_latest_checkpoint_path`: every `step_<digits>` folder, highest N, with or
without a finished save; `tmp_step_N` is a save under way and not one of them), and loads its
`training_info.json`. Nothing checks that the checkpoint is of the same model (NeMo-RL issue
#415). So, before anything is started:

- `never` refuses a checkpoint dir NeMo-RL would resume from; `must` one it would not;
- in any mode, the checkpoint NeMo-RL would resume from must be of our `policy.model_name` (its
  `config.yaml`, written by NeMo-RL with the run's config) and have its `training_info.json`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from nemotron_align.config.launch_schema import ResumeMode
from nemotron_align.config.render import config_value
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.results.checkpoints import STEP_DIR, TRAINING_INFO

KEY = "checkpointing.checkpoint_dir"


def resume_point(checkpoint_dir: Path) -> Path | None:
    """The checkpoint NeMo-RL resumes from, found as NeMo-RL finds it; None = a fresh start."""
    try:
        steps = [p for p in checkpoint_dir.iterdir() if STEP_DIR.fullmatch(p.name)]
    except OSError:
        return None
    return max(steps, key=lambda p: int(p.name.split("_")[1]), default=None)


def resume_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    written = config_value(config, KEY)
    if not isinstance(written, str):
        return []  # no checkpointing section: the schema check names what is missing
    # A relative path is NeMo-RL's, whose working directory is the NeMo-RL root.
    checkpoint_dir = context.install.root / written
    point = resume_point(checkpoint_dir)
    mode = context.settings.resume
    if mode is ResumeMode.never and point is not None:
        return [
            LaunchRejected(
                KEY,
                f"{checkpoint_dir} holds checkpoints (newest {point.name}) and NeMo-RL would "
                "resume from them, but launch.resume=never",
                "launch into a new run folder (drop hydra.run.dir), or set launch.resume=auto "
                f"to continue from {point.name}",
            )
        ]
    if mode is ResumeMode.must and point is None:
        return [
            LaunchRejected(
                KEY,
                f"{checkpoint_dir} holds no checkpoint (no step_N folder) to resume from, but "
                "launch.resume=must",
                "relaunch into the folder of the run to continue (hydra.run.dir=<its folder>), "
                "or set launch.resume=auto to start fresh",
            )
        ]
    return _point_problems(point, config, context) if point is not None else []


def _point_problems(point: Path, config: dict, context: PreflightContext) -> list[LaunchRejected]:
    """The checkpoint must be one NeMo-RL can load and of the model we train."""
    if not (point / TRAINING_INFO).is_file():
        return [
            LaunchRejected(
                KEY,
                f"NeMo-RL would resume from {point}, which has no {TRAINING_INFO} (an unfinished "
                "or damaged save): it would fail loading it",
                f"remove {point} to resume from the checkpoint before it, or launch into a new "
                "run folder",
            )
        ]
    theirs = _model_name(point)
    ours = config["policy"]["model_name"]
    if theirs is None:
        context.warnings.append(
            f"warning: {KEY}: NeMo-RL will resume from {point}, whose config.yaml names no "
            "policy.model_name: that it is of the same model is not checked"
        )
        return []
    if _same_model(theirs, ours):
        return []
    return [
        LaunchRejected(
            KEY,
            f"NeMo-RL would resume from {point}, a checkpoint of policy.model_name={theirs}, "
            f"but this run trains {ours} (NeMo-RL does not check: issue #415)",
            f"set policy.model_name={theirs} to continue that run, or launch into a new run "
            f"folder to train {ours}",
        )
    ]


def _model_name(point: Path) -> str | None:
    try:
        saved = yaml.safe_load((point / "config.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    policy = saved.get("policy") if isinstance(saved, dict) else None
    name = policy.get("model_name") if isinstance(policy, dict) else None
    return str(name) if name is not None else None


def _same_model(theirs: str, ours: str) -> bool:
    """The same name, or two names of the same local folder."""
    if theirs == ours:
        return True
    a, b = Path(theirs), Path(ours)
    return a.exists() and b.exists() and a.resolve() == b.resolve()
