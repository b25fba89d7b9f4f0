"""Get or create the MLflow run of a run folder; print its id. Run by launch.python (the
interpreter with mlflow), as a file: it imports nothing of ours (see records/mlflow_identity).

    python mlflow_run.py --run-dir DIR [--tracking-uri URI] [--experiment NAME]
        [--artifact-location PATH] [--run-name NAME]

The run is the oldest in the experiment tagged `nemotron_align.run_dir=DIR`; without one it is
created with that tag. The experiment (without --experiment: $MLFLOW_EXPERIMENT_NAME, as NeMo-RL
reads it, else MLflow's default one) is created when missing, at --artifact-location or MLflow's
default (NeMo-RL would take its exp_NNN/mlflow log folder, which changes per launch). The
tracking URI without --tracking-uri: $MLFLOW_TRACKING_URI, as mlflow reads it. Exit 3: mlflow is
not installed here.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

RUN_DIR_TAG = "nemotron_align.run_dir"
NO_MLFLOW = 3


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--tracking-uri")
    parser.add_argument("--experiment")
    parser.add_argument("--artifact-location")
    parser.add_argument("--run-name")
    args = parser.parse_args(argv)
    try:
        import mlflow
        from mlflow.tracking import MlflowClient
    except ImportError:
        print(f"mlflow is not installed for {sys.executable}", file=sys.stderr)
        return NO_MLFLOW
    if args.tracking_uri:
        mlflow.set_tracking_uri(args.tracking_uri)
    client = MlflowClient()
    experiment = args.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME")
    experiment_id = _experiment_id(client, experiment, args.artifact_location)
    # Single quotes delimit the value in MLflow's filter grammar; a path holding one is escaped.
    value = args.run_dir.replace("\\", "\\\\").replace("'", "\\'")
    found = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{RUN_DIR_TAG}` = '{value}'",
        order_by=["attributes.start_time ASC"],
        max_results=1,
    )
    if found:
        run_id = found[0].info.run_id
    else:
        tags = {RUN_DIR_TAG: args.run_dir}
        run_id = client.create_run(experiment_id, tags=tags, run_name=args.run_name).info.run_id
    print(run_id)
    return 0


def _experiment_id(client: Any, name: str | None, artifact_location: str | None) -> str:
    """`client` is an mlflow MlflowClient (mlflow is imported only once known to be there)."""
    if name is None:
        return "0"  # MLflow's default experiment
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
