"""cluster=slurm where there is no Slurm: the dry run shows every job and the sbatch script; a
real submit is refused at once. Each test hides Slurm's commands (PATH without them)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml
from conftest import STAND_IN_ROOT, compose_config, run_cli
from omegaconf import OmegaConf

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.config.resolvers import TINY_DATA_DIR

DPO_TRAIN = TINY_DATA_DIR / "dpo_train.jsonl"
REPO = Path(__file__).resolve().parent.parent


def _no_slurm(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "bin"
    empty.mkdir(exist_ok=True)
    return {"PATH": str(empty), "NEMO_RL_ROOT": str(STAND_IN_ROOT)}


def _rows(sweep_dir: Path) -> list[dict]:
    return json.loads((sweep_dir / "sweep.json").read_text())


def _slurm_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with cluster=slurm, into <tmp_path>/sweep, where there is no Slurm."""
    return run_cli(
        ["cluster=slurm", *args, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path,
        env=_no_slurm(tmp_path),
    )


def assert_all_in(lines: tuple[str, ...], stderr: str) -> None:
    for line in lines:
        assert line in stderr, line


def assert_dry_run_job(job: Path, num: int, stderr: str) -> None:
    """Job <num> is printed with its command and recorded, never started."""
    assert f"job {num} (dpo.reference_policy_kl_penalty=" in stderr
    assert f"--config {job / 'nemo_rl.yaml'}" in stderr  # the command per job
    record = json.loads((job / "launch.json").read_text())
    assert (record["mode"], record["dry_run"], record["start_time"]) == ("slurm", True, None)
    node = json.loads((job / "slurm_job.json").read_text())
    assert node["args"] == ["examples/run_dpo.py", "--config", str(job / "nemo_rl.yaml")]


def test_dry_run_writes_every_job_and_prints_the_sbatch_script(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = _slurm_cli(
        tmp_path,
        "algo=dpo",
        "data=tiny",
        "launch.dry_run=true",
        "dpo.reference_policy_kl_penalty=0.05,0.1",
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "sinfo not found" in result.stderr  # said once, and the cluster checks skipped
    assert_all_in(
        ("#SBATCH --array=0,1%2", "#SBATCH --gpus-per-node=8", "#SBATCH --signal=USR2@120"),
        result.stderr,
    )
    assert "-m nemotron_align.slurm.node_job" in result.stderr
    for num in (0, 1):
        assert_dry_run_job(sweep_dir / str(num), num, result.stderr)
    assert [r["status"] for r in _rows(sweep_dir)] == ["dry_run", "dry_run"]
    assert not (sweep_dir / ".slurm").exists()  # nothing shipped, nothing submitted


def test_submit_without_slurm_is_refused_before_any_folder(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = _slurm_cli(tmp_path, "algo=dpo", "data=tiny")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "error: cluster=slurm: no Slurm on this machine (sbatch is not on PATH)" in result.stderr
    assert "launch.dry_run=true" in result.stderr
    assert not sweep_dir.exists()


def test_a_bad_job_is_named_and_the_others_still_checked(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    missing = tmp_path / "missing.jsonl"
    result = _slurm_cli(
        tmp_path,
        "algo=dpo",
        "data=tiny",
        "launch.dry_run=true",
        f"data.train.data_path={DPO_TRAIN},{missing}",
    )
    assert result.returncode == 1, result.stderr
    assert (
        f"error: job 1 (data.train.data_path={missing}): data.train.data_path: {missing} does "
        "not exist" in result.stderr
    )
    assert "#SBATCH --array=0%1" in result.stderr  # only the good job would go out
    rejected = _rows(sweep_dir)[1]
    assert rejected["status"] == "rejected" and "does not exist" in rejected["error"]
    assert not (sweep_dir / "1" / "nemo_rl.yaml").exists()


def test_every_job_bad_exits_2(tmp_path: Path) -> None:
    result = _slurm_cli(
        tmp_path,
        "algo=dpo",
        "data=tiny",
        "launch.dry_run=true",
        f"data.train.data_path={tmp_path / 'a.jsonl'},{tmp_path / 'b.jsonl'}",
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("error: job ") == 2
    assert "#SBATCH" not in result.stderr


CONTAINER_JOB_ARGS = (
    "algo=dpo",
    "data=tiny",
    "launch.dry_run=true",
    "cluster.num_nodes=2",
    "cluster.gpus_per_node=8",
    "policy.dtensor_cfg.tensor_parallel_size=8",
    "hydra.launcher.partition=batch",
    "hydra.launcher.account=alignment",
    "hydra.launcher.qos=high",
    "hydra.launcher.timeout_min=90",
    "hydra.launcher.mem_gb=512",
    "hydra.launcher.constraint=h100",
    "+hydra.launcher.additional_parameters.exclusive=true",
    "hydra.launcher.setup=['export HF_HOME=/shared/hf']",
    "hydra.launcher.container_image='nvcr.io#nvidia/nemo-rl:v0.7.0'",
)
# What CONTAINER_JOB_ARGS put in the sbatch script.
CONTAINER_JOB_SCRIPT_LINES = (
    "#SBATCH --nodes=2",
    "#SBATCH --ntasks-per-node=1",
    "#SBATCH --gpus-per-node=8",
    "#SBATCH --partition=batch",
    "#SBATCH --account=alignment",
    "#SBATCH --qos=high",
    "#SBATCH --time=90",
    "#SBATCH --mem=512GB",
    "#SBATCH --constraint=h100",
    "#SBATCH --exclusive",
    "#SBATCH --signal=USR2@120",
    "export HF_HOME=/shared/hf",
)


def test_container_without_a_mount_for_the_data_is_refused(tmp_path: Path) -> None:
    unmounted = _slurm_cli(
        tmp_path, *CONTAINER_JOB_ARGS, f"hydra.launcher.container_mounts=[{tmp_path}:{tmp_path}]"
    )
    # The tiny data lies outside every mount: NeMo-RL in the container would not see it.
    assert unmounted.returncode == 2, unmounted.stderr
    assert "error: job 0: data.train.data_path:" in unmounted.stderr
    assert "container_mounts" in unmounted.stderr


def test_container_job_script_and_mounts(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    mounts = f"[{tmp_path}:{tmp_path},{TINY_DATA_DIR}:{TINY_DATA_DIR}]"
    result = _slurm_cli(tmp_path, *CONTAINER_JOB_ARGS, f"hydra.launcher.container_mounts={mounts}")
    assert result.returncode == 0, result.stderr
    assert_all_in(CONTAINER_JOB_SCRIPT_LINES, result.stderr)
    srun = next(line for line in result.stderr.splitlines() if line.startswith("srun"))
    assert "--container-image=nvcr.io#nvidia/nemo-rl:v0.7.0" in srun
    assert f"--container-mounts={tmp_path}:{tmp_path},{TINY_DATA_DIR}:{TINY_DATA_DIR}" in srun
    assert "--container-workdir=/opt/nemo-rl" in srun
    # The image's own interpreter runs the job; nothing of ours is installed there.
    assert "/opt/nemo_rl_venv/bin/python -u -m nemotron_align.slurm.node_job" in srun
    record = json.loads((sweep_dir / "0" / "launch.json").read_text())
    assert record["python"] == ["/opt/nemo_rl_venv/bin/python"]


def test_each_job_of_a_one_process_sweep_renders_what_composing_it_alone_does(
    tmp_path: Path,
) -> None:
    """The sweep composes all jobs in one process, reusing Hydra's file reads across jobs."""
    sweep_dir = tmp_path / "sweep"
    result = _slurm_cli(
        tmp_path, "data=tiny", "launch.dry_run=true", "algo=dpo,rlvr", "cluster.num_nodes=1,2"
    )
    assert result.returncode in (0, 1), result.stderr
    for row in _rows(sweep_dir):
        job_dir = Path(row["job_folder"])
        if row["status"] != "dry_run":
            continue
        alone = compose_config(
            [*row["overrides"], f"hydra.sweep.dir={sweep_dir}", f"hydra.job.num={row['job']}"],
            job_dir,
        )
        assert yaml.safe_load((job_dir / "nemo_rl.yaml").read_text()) == to_nemo_rl_dict(alone)
        # Hydra's own record of the job, as Hydra writes it.
        record = job_dir / ".hydra"
        assert yaml.safe_load((record / "overrides.yaml").read_text()) == row["overrides"]
        task = OmegaConf.to_container(alone)
        del task["hydra"]
        assert OmegaConf.to_container(OmegaConf.load(record / "config.yaml")) == task
        assert OmegaConf.load(record / "hydra.yaml").hydra.job.num == row["job"]
    assert sum(r["status"] == "dry_run" for r in _rows(sweep_dir)) >= 2


def test_preflight_warn_submits_a_bad_job_anyway(tmp_path: Path) -> None:
    missing = tmp_path / "missing.jsonl"
    result = _slurm_cli(
        tmp_path,
        "algo=dpo",
        "data=tiny",
        "launch.dry_run=true",
        "launch.preflight=warn",
        f"data.train.data_path={missing}",
    )
    assert result.returncode == 0, result.stderr
    assert f"warning: data.train.data_path: {missing} does not exist" in result.stderr
    assert "#SBATCH --array=0%1" in result.stderr
