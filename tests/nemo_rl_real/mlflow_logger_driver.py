"""NeMo-RL's own MLflowLogger, as its Logger starts it, given env MLFLOW_RUN_ID.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree:
    python mlflow_logger_driver.py TRACKING_URI EXPERIMENT LOG_DIR

Logs one metric and prints the id of the run it logged into.
"""

from __future__ import annotations

import sys

import mlflow
from nemo_rl.utils.logger import MLflowLogger


def main(tracking_uri: str, experiment: str, log_dir: str) -> None:
    cfg = {"tracking_uri": tracking_uri, "experiment_name": experiment}
    logger = MLflowLogger(cfg, log_dir=log_dir)
    logger.log_metrics({"loss": 0.5}, step=3, prefix="train")
    mlflow.end_run()
    print(logger.run_id)


if __name__ == "__main__":
    main(*sys.argv[1:])
