"""NeMo-RL's checkpoints in a run folder, ranked as NeMo-RL ranks them.

`checkpoint_dir/step_N/` holds `training_info.json` (the step's save state, with the
`checkpointing.metric_name` value when it was measured), `config.yaml` and `policy/weights`
(Megatron: `policy/weights/iter_XXXXXXX`), `policy/tokenizer`. While NeMo-RL writes one it is
`tmp_step_N/`, which is never a checkpoint. The best is NeMo-RL's `get_best_checkpoint_path`:
among the checkpoints that have the metric, the highest (`higher_is_better`) or lowest value,
the newest step on ties (NeMo-RL main; v0.6/v0.7 leave ties to file-system order); without any,
the newest checkpoint.

Standard library only: it also runs on Slurm nodes, to pick the checkpoint to export.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STEP_DIR = re.compile(r"step_(\d+)")
TRAINING_INFO = "training_info.json"


@dataclass(frozen=True)
class Checkpoint:
    step: int
    path: Path
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    def metric(self, metric_name: str | None) -> float | None:
        value = self.info.get(metric_name) if metric_name else None
        return float(value) if isinstance(value, int | float) else None

    @property
    def weights(self) -> Path:
        return self.path / "policy" / "weights"

    @property
    def config(self) -> Path:
        return self.path / "config.yaml"


def list_checkpoints(checkpoint_dir: Path) -> list[Checkpoint]:
    """The finished checkpoints (those with a training_info.json), oldest first."""
    found = []
    with contextlib.suppress(OSError):
        for path in checkpoint_dir.iterdir():
            match = STEP_DIR.fullmatch(path.name)
            if not match:
                continue
            try:
                info = json.loads((path / TRAINING_INFO).read_text())
            except (OSError, ValueError):
                continue
            if isinstance(info, dict):
                found.append(Checkpoint(int(match.group(1)), path, info))
    return sorted(found, key=lambda c: c.step)


def latest(checkpoints: list[Checkpoint]) -> Checkpoint | None:
    return checkpoints[-1] if checkpoints else None


def best(
    checkpoints: list[Checkpoint], metric_name: str | None, higher_is_better: bool
) -> Checkpoint | None:
    measured = [c for c in checkpoints if c.metric(metric_name) is not None]
    if not measured:
        return latest(checkpoints)
    sign = 1 if higher_is_better else -1
    return max(measured, key=lambda c: (sign * (c.metric(metric_name) or 0.0), c.step))
