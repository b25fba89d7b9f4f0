"""Stand-in NeMo-RL (tests only): what a training run leaves in the run folder.

Written as NeMo-RL writes it, so the launcher's report, status and export read real files:
- TensorBoard event files (tensorboard's own EventFileWriter, one scalar per event as torch's
  SummaryWriter.add_scalar writes them) under `<logger.log_dir>/exp_NNN/tensorboard/`, the next
  free exp_NNN as NeMo-RL's get_next_experiment_dir picks it; NeMo-RL's metric names: DPO
  `train/loss`, `train/accuracy`, `validation-<dataset>/loss`, `validation-<dataset>/accuracy`;
  GRPO `train/reward`, `train/loss`, `validation/accuracy`;
- checkpoints `<checkpoint_dir>/step_N/` every `save_period` steps and at the last one, with
  `training_info.json` (the save state and the `checkpointing.metric_name` value when validated),
  `config.yaml`, `policy/weights` (Megatron: `policy/weights/iter_NNNNNNN`) and `policy/tokenizer`.
  All are kept (the real keep_top_k removes the worst).

`STAND_IN_TRAIN_STEPS=<n>` (default 0: nothing written) sets how many steps run; validation runs
every `<algo>.val_period` steps and at the last. `STAND_IN_STEP_S=<s>` makes each step take that
long, its events flushed at its end (a run watched while it trains). The validation metric is a
known function of the swept value, so tests know which job wins:
DPO loss = 0.3 + (beta - 0.1)^2 + 1/(step + 1) (beta = dpo.reference_policy_kl_penalty),
GRPO accuracy = 0.9 - (g - 8)^2 / 100 - 1/(step + 1) (g = grpo.num_generations_per_prompt).
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import yaml
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter


def next_experiment_dir(log_dir: Path) -> Path:
    taken = [
        int(m.group(1)) for p in log_dir.glob("exp_*") if (m := re.search(r"exp_(\d+)", p.name))
    ]
    return log_dir / f"exp_{max(taken, default=0) + 1:03d}"


def validation_metrics(algo: str, cfg: dict, step: int) -> tuple[str, dict[str, float]]:
    """(TensorBoard prefix, metrics) of one validation."""
    if algo == "dpo":
        beta = float(cfg["dpo"]["reference_policy_kl_penalty"])
        loss = 0.3 + (beta - 0.1) ** 2 + 1 / (step + 1)
        return "validation-default", {"loss": loss, "accuracy": 1 - loss / 2}
    g = float(cfg["grpo"]["num_generations_per_prompt"])
    return "validation", {"accuracy": 0.9 - (g - 8) ** 2 / 100 - 1 / (step + 1)}


def train_metrics(algo: str, step: int) -> dict[str, float]:
    if algo == "dpo":
        return {"loss": 1 / step, "accuracy": 1 - 1 / (step + 1)}
    return {"reward": 1 - 1 / (step + 1), "loss": 1 / step}


class Writer:
    def __init__(self, log_dir: Path) -> None:
        self.events = EventFileWriter(str(log_dir))

    def log(self, metrics: dict[str, float], step: int, prefix: str) -> None:
        for name, value in metrics.items():
            summary = Summary(value=[Summary.Value(tag=f"{prefix}/{name}", simple_value=value)])
            self.events.add_event(Event(wall_time=time.time(), step=step, summary=summary))

    def close(self) -> None:
        self.events.close()


def save_checkpoint(cfg: dict, step: int, val: dict[str, float] | None, prefix: str) -> Path:
    checkpointing = cfg["checkpointing"]
    info: dict[str, object] = {"step": step, "total_steps": step, "epoch": 0}
    if val is not None:
        # NeMo-RL's val metric keys: DPO "<prefix>_<name>", GRPO "<name>".
        keys = {f"{prefix}_{k}" if prefix != "validation" else k: v for k, v in val.items()}
        info.update(keys)
        name = checkpointing.get("metric_name") or ""
        source, _, key = name.partition(":")
        if source == "val" and key in keys:
            info[name] = keys[key]
    path = Path(checkpointing["checkpoint_dir"]) / f"step_{step}"
    weights = path / "policy" / "weights"
    if cfg["policy"].get("megatron_cfg", {}).get("enabled"):
        weights = weights / f"iter_{step:07d}"
    weights.mkdir(parents=True, exist_ok=True)
    (weights / "weights.stand_in").write_text(f"stand-in weights of step {step}\n")
    (path / "policy" / "tokenizer").mkdir(parents=True, exist_ok=True)
    (path / "training_info.json").write_text(json.dumps(info))
    (path / "config.yaml").write_text(yaml.safe_dump(cfg))
    return path


def train(algo: str, cfg: dict) -> None:
    steps = int(os.environ.get("STAND_IN_TRAIN_STEPS", "0"))
    if steps <= 0:
        return
    section = cfg["dpo" if algo == "dpo" else "grpo"]
    val_period = int(section.get("val_period") or steps)
    save_period = int(cfg["checkpointing"].get("save_period") or steps)
    step_s = float(os.environ.get("STAND_IN_STEP_S", "0"))
    writer = Writer(next_experiment_dir(Path(cfg["logger"]["log_dir"])) / "tensorboard")
    try:
        for step in range(1, steps + 1):
            writer.log(train_metrics(algo, step), step, "train")
            val = None
            prefix = ""
            if step % val_period == 0 or step == steps:
                prefix, val = validation_metrics(algo, cfg, step)
                writer.log(val, step, prefix)
            if cfg["checkpointing"]["enabled"] and (step % save_period == 0 or step == steps):
                save_checkpoint(cfg, step, val, prefix)
            if step_s:
                writer.events.flush()
                time.sleep(step_s)
    finally:
        writer.close()
