"""A NeMo-RL recipe on the real local Slurm (scripts/slurm/start.sh) with the stand-in NeMo-RL: a
sweep over a recipe key is one job array, each job running the recipe's config with its value."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import read_json, run_cli
from recipe_support import write_recipe
from slurm_cluster import LOCAL_SLURM, SlurmCluster, sweep_rows

pytestmark = pytest.mark.slurm

SWEEP_TIMEOUT_S = 240


def test_a_sweep_over_a_recipe_key_is_one_job_array(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    recipe = write_recipe(tmp_path / "recipes", "dpo")
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            *LOCAL_SLURM,
            f"recipe={recipe}",
            "dpo.reference_policy_kl_penalty=0.05,0.1",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        timeout=SWEEP_TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 0, result.stderr
    job_ids = re.findall(r"submitted as Slurm job (\d+)_(\d+)", result.stderr)
    assert len(job_ids) == 2 and len({array for array, _ in job_ids}) == 1  # one job array
    assert [(r["status"], r["exit_code"]) for r in sweep_rows(sweep_dir)] == [("succeeded", 0)] * 2
    for task, beta in enumerate((0.05, 0.1)):
        job_dir = sweep_dir / str(task)
        job = read_json(job_dir / "job.json")
        assert job["status"] == "succeeded" and job["slurm_job_id"].endswith(f"_{task}")
        assert slurm_cluster.wait_for_end(job["slurm_job_id"], 60).state == "COMPLETED"
        config = yaml.safe_load((job_dir / "nemo_rl.yaml").read_text())
        assert config["dpo"]["reference_policy_kl_penalty"] == beta  # the swept value
        assert config["dpo"]["seed"] == 1234  # only the recipe sets it (its base: 42)
        assert config["checkpointing"]["checkpoint_dir"] == str(job_dir / "checkpoints")
        launch = read_json(job_dir / "launch.json")
        assert launch["mode"] == "slurm" and launch["exit_code"] == 0
        assert launch["recipe"] == str(recipe)
    status = subprocess.run(
        [sys.executable, "-m", "nemotron_align.status", str(sweep_dir), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert status.returncode == 0, status.stderr
    jobs = json.loads(status.stdout)["jobs"]
    assert [(j["status"], j["slurm_job_id"]) for j in jobs] == [
        ("succeeded", f"{array}_{task}") for array, task in job_ids
    ]
