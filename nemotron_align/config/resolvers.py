"""OmegaConf resolvers available to every config.

NeMo-RL's own four (`add`, `mul`, `div`, `max`, two arguments each) so that configs written for
NeMo-RL compose here too, `tiny_data`, the absolute path of a bundled tiny dataset file,
`nemo_rl_root`, the NeMo-RL checkout used unless launch.nemo_rl_root names one;
`from_run`, the Hugging Face export of an earlier run
(`policy.model_name=${from_run:<run folder>}`);
`must_save_by`, NeMo-RL's `checkpointing.checkpoint_must_save_by` from a Slurm time limit;
`run_identity`, one id per run folder (the W&B run id of every launch into it).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from omegaconf import OmegaConf

from nemotron_align.config.release import default_root
from nemotron_align.records.lineage import run_hf_export

TINY_DATA_DIR = Path(__file__).resolve().parents[1] / "tiny_data"
# What must fit between NeMo-RL's save deadline and Slurm's kill, besides the signal delay (at
# SIGUSR2 NeMo-RL is stopped): NeMo-RL's start-up (Ray, model and vLLM loading, data), which
# runs before its timer starts, and one checkpoint save of a large model with its optimizer.
START_UP_S = 20 * 60
ONE_SAVE_S = 10 * 60


def tiny_data_path(name: str) -> str:
    path = TINY_DATA_DIR / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in TINY_DATA_DIR.glob("*.jsonl")))
        raise ValueError(f"no bundled tiny data file '{name}' (bundled: {known})")
    return str(path)


def must_save_by(timeout_min: int | None, signal_delay_s: int) -> str | None:
    """NeMo-RL's save deadline (`DD:HH:MM:SS`, counted from when its training loop starts) for a
    job killed after `timeout_min`: the limit less the signal delay, start-up and one save, but
    at least half the limit (a short job still trains). A requeued job gets its whole limit
    again, so the same value holds for it. None without a limit."""
    if timeout_min is None:
        return None
    limit_s = int(timeout_min) * 60
    seconds = max(limit_s - int(signal_delay_s) - START_UP_S - ONE_SAVE_S, limit_s // 2)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"{days:02d}:{hours:02d}:{minutes:02d}:{secs:02d}"


def run_identity(run_dir: str) -> str:
    """The id of the run in `run_dir`, from its absolute path: every launch into the folder
    (a relaunch, a Slurm requeue) gets the same, another folder another. 16 hex digits: valid as
    a W&B run id (which forbids `/`)."""
    return hashlib.sha256(str(Path(run_dir).resolve()).encode()).hexdigest()[:16]


def register_resolvers() -> None:
    resolvers = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "max": lambda a, b: max(a, b),
        "tiny_data": tiny_data_path,
        "nemo_rl_root": default_root,
        "from_run": run_hf_export,
        "must_save_by": must_save_by,
        "run_identity": run_identity,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
