"""NeMo-RL's own CheckpointManager saves checkpoints of a model, as its training loops do.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree (first on PYTHONPATH):
    python checkpoint_driver.py CHECKPOINT_DIR MODEL_NAME STEP... [--unfinished STEP]

Each STEP is saved (init_tmp_checkpoint with the run config, then finalize_checkpoint); the
--unfinished one is only begun (its tmp_step_N stays, as when a job is killed mid-save). Prints
what NeMo-RL would resume from: get_latest_checkpoint_path() and its load_training_info().
"""

from __future__ import annotations

import argparse
import inspect
import json

from nemo_rl.utils.checkpoint import CheckpointManager
from pydantic import BaseModel, ConfigDict


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="allow")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint_dir")
    parser.add_argument("model_name")
    parser.add_argument("steps", type=int, nargs="+")
    parser.add_argument("--unfinished", type=int)
    args = parser.parse_args()
    manager = CheckpointManager(
        {
            "enabled": True,
            "checkpoint_dir": args.checkpoint_dir,
            "metric_name": None,
            "higher_is_better": False,
            "keep_top_k": None,
            "save_period": 1,
            "save_optimizer": False,
        }
    )
    config = {"policy": {"model_name": args.model_name}}
    # v0.6.0 saves a mapping; v0.7.0+ a pydantic MasterConfig (model_dump()).
    takes_model = "model_dump" in inspect.getsource(CheckpointManager.init_tmp_checkpoint)
    run_config = RunConfig(**config) if takes_model else config
    for step in args.steps:
        path = manager.init_tmp_checkpoint(step, {"step": step}, run_config)
        manager.finalize_checkpoint(path)
    if args.unfinished is not None:
        manager.init_tmp_checkpoint(args.unfinished, {"step": args.unfinished}, run_config)
    latest = manager.get_latest_checkpoint_path()
    info = manager.load_training_info(latest)
    print(json.dumps({"latest": latest, "info": info}))


if __name__ == "__main__":
    main()
