"""The launcher's own `launch` section, registered in Hydra's ConfigStore: its only copy of the
defaults, types and allowed values (conf/config.yaml mounts it and repeats none of them).

Hydra validates `launch.*` overrides against it at composition time: unknown keys and wrong
types fail before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class ProbeMode(str, Enum):
    auto = "auto"
    gym = "gym"
    math_verify = "math-verify"


class LaunchMode(str, Enum):
    # exec in a plain single run, subprocess in multirun or under a launcher.
    auto = "auto"
    exec = "exec"
    subprocess = "subprocess"


class PreflightMode(str, Enum):
    # Refuse the launch on any problem / show problems and launch anyway / skip the checks.
    strict = "strict"
    warn = "warn"
    off = "off"


class ExportHF(str, Enum):
    """Which checkpoint NeMo-RL's converter turns into <run>/hf/ after a successful run."""

    none = "none"
    best = "best"  # best by checkpointing.metric_name / higher_is_better, as NeMo-RL ranks them
    last = "last"


class ResumeMode(str, Enum):
    """What a run folder's checkpoints may be: NeMo-RL resumes from the newest step_N it finds."""

    auto = "auto"  # resume if there are checkpoints, start fresh if not
    never = "never"  # refuse a checkpoint dir that holds checkpoints
    must = "must"  # refuse one that holds none


@dataclass
class LaunchSettings:
    # Compose, check and write the run folder, print the command, start nothing.
    dry_run: bool = False
    # Root of the NeMo-RL checkout: $NEMO_RL_ROOT, else the NeMo-RL container's /opt/nemo-rl.
    nemo_rl_root: str = "${nemo_rl_root:}"
    # Command prefix that runs NeMo-RL scripts; null = this interpreter. In the NeMo-RL
    # container: [uv, run, python].
    python: list[str] | None = None
    mode: LaunchMode = LaunchMode.auto
    # Checks before launch (semantics, data, NeMo-Gym): strict refuses on any problem.
    preflight: PreflightMode = PreflightMode.strict
    # The NeMo-RL release the config is composed for: set by the `nemo_rl` config group (pick it
    # with nemo_rl=v0.6.0|v0.7.0|main; detected under nemo_rl_root when not named).
    nemo_rl_release: str = "v0.7.0"
    # Extra environment variables for NeMo-RL (never secrets: export those instead).
    env: dict[str, str] = field(default_factory=dict)
    # Before launching a GRPO run, score each sampled row's own answer (must be 1.0) and a wrong
    # one (must be 0.0) with NeMo-Gym's math_with_judge server, or math-verify in-process.
    reward_probe: bool = False
    reward_probe_rows: int = 8
    reward_probe_mode: ProbeMode = ProbeMode.auto
    # Interpreter with nemo-gym installed for the server (Python >= 3.12); null = this one.
    reward_probe_python: str | None = None
    # Multi-node Slurm jobs (cluster.num_nodes > 1): the Ray cluster NeMo-RL runs on. `ray` is the
    # command prefix of NeMo-RL's Ray CLI (in the container: [/opt/nemo_rl_venv/bin/ray]).
    ray: list[str] = field(default_factory=lambda: ["ray"])
    ray_port: int = 1200
    ray_ready_timeout_s: float = 1800.0
    ray_start_args: list[str] = field(default_factory=list)
    # After NeMo-RL exits 0: convert this checkpoint to Hugging Face format into <run>/hf/.
    export_hf: ExportHF = ExportHF.none
    resume: ResumeMode = ResumeMode.auto
    # The NeMo-RL recipe the run started from (recipe=<path>), as an absolute path.
    recipe: str | None = None
