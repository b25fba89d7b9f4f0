"""Submit-time checks and node-side runs on the real local Slurm (scripts/slurm/start.sh).

Nothing wrong reaches the queue: every job is checked on the submitting machine before sbatch,
and only jobs that pass are submitted (sacct is asked what really went out). The node checks
again what can change after submission. Container-style jobs run under another Python (3.13)
that has nothing of ours installed.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
from conftest import STAND_IN_ROOT, gym_data_overrides, run_cli, start_cli
from node_python import node_python  # noqa: F401  (session fixture)
from slurm_cluster import LOCAL_SLURM, SlurmCluster, sweep_rows

from nemotron_align.config.resolvers import TINY_DATA_DIR

pytestmark = pytest.mark.slurm

TIMEOUT_S = 240
DPO_TRAIN = TINY_DATA_DIR / "dpo_train.jsonl"
ACCOUNTING_LAG_S = 10


def _named(tmp_path: Path) -> tuple[str, list[str]]:
    """A job name no other test uses, so that sacct can be asked what this test submitted."""
    name = f"na-{uuid.uuid4().hex[:10]}"
    return name, [
        *LOCAL_SLURM,
        f"hydra.launcher.name={name}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]


def _submitted(cluster: SlurmCluster, name: str, expected: list[str]) -> list[str]:
    """The jobs sacct knows by this name, once they are `expected` or accounting has had
    ACCOUNTING_LAG_S to catch up (slurmdbd records a job a few seconds after it ends)."""
    deadline = time.monotonic() + ACCOUNTING_LAG_S
    while True:
        out = cluster.run(
            ["sacct", "-n", "-X", "-P", "-S", "now-1days", f"--name={name}", "-o", "JobID"]
        ).stdout
        if (expected and sorted(out.split()) == expected) or time.monotonic() > deadline:
            return sorted(out.split())
        time.sleep(0.5)


def test_bad_job_of_three_is_never_submitted(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    name, args = _named(tmp_path)
    missing = tmp_path / "missing.jsonl"
    result = run_cli(
        [*args, "algo=dpo", "data=tiny", f"data.train.data_path={DPO_TRAIN},{missing},{DPO_TRAIN}"],
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 1, result.stderr
    assert (
        f"error: job 1 (data.train.data_path={missing}): data.train.data_path: {missing} "
        "does not exist" in result.stderr
    )
    rows = sweep_rows(tmp_path / "sweep")
    assert [r["status"] for r in rows] == ["succeeded", "rejected", "succeeded"]
    assert "slurm_job_id" not in rows[1] and "does not exist" in rows[1]["error"]
    array = rows[0]["slurm_job_id"].split("_")[0]
    expected = [f"{array}_0", f"{array}_2"]
    assert _submitted(slurm_cluster, name, expected) == expected


def test_sweep_of_only_bad_jobs_submits_nothing(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    name, args = _named(tmp_path)
    result = run_cli(
        [*args, "algo=dpo", "data=tiny", f"data.train.data_path={tmp_path / 'a'},{tmp_path / 'b'}"],
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error: job ") == 2 and "submitted as Slurm job" not in result.stderr
    assert [r["status"] for r in sweep_rows(tmp_path / "sweep")] == ["rejected", "rejected"]
    assert _submitted(slurm_cluster, name, []) == []


def test_data_removed_after_submission_is_rejected_on_the_node(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    data = tmp_path / "train.jsonl"
    shutil.copy(DPO_TRAIN, data)
    sweep_dir = tmp_path / "sweep"
    proc = start_cli(
        [
            *_named(tmp_path)[1],
            "algo=dpo",
            "data=tiny",
            f"data.train.data_path={data}",
            # Held in the queue until the file is gone.
            "+hydra.launcher.additional_parameters.hold=true",
        ],
        cwd=tmp_path,
        env={**stand_in_env, "SLURM_CONF": str(slurm_cluster.slurm_conf)},
    )
    try:
        job_id = _wait_for_submission(sweep_dir, proc)
        data.unlink()
        slurm_cluster.run(["scontrol", "release", job_id])
        _, stderr = proc.communicate(timeout=TIMEOUT_S)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr
    (row,) = sweep_rows(sweep_dir)
    assert row["status"] == "rejected" and row["exit_code"] == 2
    assert f"data.train.data_path: {data} does not exist on " in row["error"]
    assert f"error: data.train.data_path: {data} does not exist on " in stderr  # the summary
    record = json.loads((sweep_dir / "0" / "launch.json").read_text())
    assert "does not exist" in record["error"]
    assert not Path(stand_in_env["STAND_IN_RECORD"]).exists()  # NeMo-RL never started


def _wait_for_submission(sweep_dir: Path, proc: object) -> str:
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None  # type: ignore[attr-defined]
        try:
            (row,) = sweep_rows(sweep_dir)
        except (OSError, ValueError):
            row = {}
        if row.get("slurm_job_id"):
            return row["slurm_job_id"]
        time.sleep(0.2)
    pytest.fail("the job was never submitted")


def test_dry_run_submits_nothing(
    slurm_cluster: SlurmCluster, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    name, args = _named(tmp_path)
    result = run_cli(
        [
            *args,
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            "dpo.reference_policy_kl_penalty=0.05,0.1",
        ],
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --array=0,1%2" in result.stderr and "#SBATCH --partition" not in result.stderr
    assert "sinfo" not in result.stderr  # the cluster checks ran, and passed
    assert [r["status"] for r in sweep_rows(tmp_path / "sweep")] == ["dry_run", "dry_run"]
    assert _submitted(slurm_cluster, name, []) == []


@pytest.mark.parametrize(
    ("override", "where", "fix"),
    [
        ("hydra.launcher.partition=nosuch", "hydra.launcher.partition", "debug"),
        ("hydra.launcher.timeout_min=61", "hydra.launcher.timeout_min", "60"),
        ("hydra.launcher.gpus_per_node=8", "hydra.launcher.gpus_per_node", "=null"),
    ],
)
def test_cluster_limits_are_refused_before_sbatch(
    slurm_cluster: SlurmCluster,
    tmp_path: Path,
    stand_in_env: dict[str, str],
    override: str,
    where: str,
    fix: str,
) -> None:
    name, args = _named(tmp_path)
    result = run_cli(
        [*args, "algo=dpo", "data=tiny", override],
        cwd=tmp_path,
        timeout=TIMEOUT_S,
        env=stand_in_env,
    )
    assert result.returncode == 2, result.stderr
    assert f"error: {where}:" in result.stderr and fix in result.stderr.split("fix:", 1)[1]
    assert "Traceback" not in result.stderr
    assert _submitted(slurm_cluster, name, []) == []


@pytest.mark.parametrize("algo", ["dpo", "grpo_gym"])
def test_jobs_run_under_another_python_with_nothing_of_ours_installed(
    slurm_cluster: SlurmCluster,
    tmp_path: Path,
    stand_in_env: dict[str, str],
    node_python: str,  # noqa: F811
    algo: str,
) -> None:
    """Submitted from this interpreter (3.11 in CI); each job runs under a 3.13 that has no
    nemotron_align, submitit or Hydra: what it needs of ours ships in the sweep folder."""
    calls = tmp_path / "calls"
    calls.mkdir()
    env = {
        **stand_in_env,
        "STAND_IN_NEMO_RL_API": "v0.7",
        "STAND_IN_CALLS": str(calls),
        "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_ROOT.parent / "stand_in_gym"),
        "PYTHONPATH": str(STAND_IN_ROOT) if algo == "grpo_gym" else "",
    }
    sweep = (
        "policy.generation.temperature=0.9,1.0"
        if algo == "grpo_gym"
        else "dpo.sft_loss_weight=0,0.1"
    )
    for what, extra in (("single", []), ("sweep", [sweep])):
        sweep_dir = tmp_path / what
        result = run_cli(
            [
                *LOCAL_SLURM,
                f"hydra.launcher.python={node_python}",
                f"algo={algo}",
                "data=tiny",
                *gym_data_overrides(algo),
                *extra,
                f"hydra.sweep.dir={sweep_dir}",
            ],
            cwd=tmp_path,
            timeout=TIMEOUT_S,
            env=env,
        )
        assert result.returncode == 0, result.stderr
        rows = sweep_rows(sweep_dir)
        assert [r["status"] for r in rows] == ["succeeded"] * (2 if extra else 1)
        for row in rows:
            record = json.loads((Path(row["job_folder"]) / "launch.json").read_text())
            assert record["python"] == [node_python] and record["exit_code"] == 0
    if algo == "dpo":
        ran = json.loads(Path(stand_in_env["STAND_IN_RECORD"]).read_text())
        assert ran["python"].startswith("3.13") and "failure" not in ran
    else:
        runs = [json.loads(p.read_text()) for p in calls.glob("*.json")]
        assert len(runs) == 3 and all(run[-1]["call"] == "grpo_train" for run in runs)
