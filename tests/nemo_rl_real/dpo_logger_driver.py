"""NeMo-RL's own Logger writing DPO-like metrics into a rendered run's log folder.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree (first on PYTHONPATH):
    python dpo_logger_driver.py NEMO_RL_YAML STEPS VAL_PERIOD

As examples/run_dpo.py and dpo_train do it: `logger.log_dir` through get_next_experiment_dir,
`Logger(config["logger"])`, then per step the train metrics with prefix "train" and, every
VAL_PERIOD steps, the validation metrics with prefix "validation-default" (one dataset named
"default"). The GPU monitor is off: it needs a Ray cluster and logs only `ray/*` metrics. Values:
train loss 1/step; validation loss 0.5 + 1/step, accuracy 1 - 1/step.
"""

from __future__ import annotations

import sys

import yaml
from nemo_rl.utils.logger import Logger, get_next_experiment_dir


def main(config_path: str, steps: int, val_period: int) -> None:
    with open(config_path) as f:
        logger_config = yaml.safe_load(f)["logger"]
    logger_config["log_dir"] = get_next_experiment_dir(logger_config["log_dir"])
    logger_config["monitor_gpus"] = False
    logger = Logger(logger_config)
    for step in range(1, steps + 1):
        logger.log_metrics({"loss": 1 / step, "accuracy": 1 - 1 / (step + 1)}, step, prefix="train")
        if step % val_period == 0:
            validation = {"loss": 0.5 + 1 / step, "accuracy": 1 - 1 / step}
            logger.log_metrics(validation, step, prefix="validation-default")
    print(logger_config["log_dir"])


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
