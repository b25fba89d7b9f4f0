"""NeMo-RL's own WandbLogger started from a rendered nemo_rl.yaml, as run_dpo.py starts it.

Run with the NeMo-RL venv's interpreter (WANDB_MODE=offline), cwd = a NeMo-RL tree:
    python wandb_identity_driver.py NEMO_RL_YAML LOG_DIR

The config goes through the release's DPO MasterConfig first (pydantic from v0.7.0; v0.6.0's
run_dpo.py uses the plain dict), then `logger.wandb` to WandbLogger (wandb.init(**cfg, dir=...)).
Prints the W&B run's id and whether wandb resumed it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import wandb
import yaml
from nemo_rl.algorithms.dpo import MasterConfig
from nemo_rl.utils.logger import WandbLogger


def main(config_path: str, log_dir: str) -> None:
    config = yaml.safe_load(Path(config_path).read_text())
    validated = MasterConfig(**config)
    # v0.6.0: a TypedDict, whose call returns the dict as it is.
    logger_cfg = validated["logger"] if isinstance(validated, dict) else validated.logger
    wandb_cfg = logger_cfg["wandb"]
    logger = WandbLogger(wandb_cfg, log_dir=log_dir)
    logger.log_metrics({"loss": 1.0}, step=1)
    print(json.dumps({"id": logger.run.id, "resumed": bool(logger.run.resumed)}))
    wandb.finish()


if __name__ == "__main__":
    main(*sys.argv[1:])
