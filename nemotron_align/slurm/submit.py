"""The sbatch side of a Slurm sweep: the script, what ships with it, submission and the wait.

One job array per group of jobs that ask for the same resources; the array index of a job is
its Hydra job number, so `scancel <array>_<n>` and job #n are the same job. Each task runs
`<python> -u -m nemotron_align.slurm.node_job <jobs.json>` with a copy of this package on
PYTHONPATH: nothing of ours has to be installed on the node, and its Python need not be the
submitter's.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nemotron_align
from nemotron_align.errors import LaunchRejected
from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.records.job_record import FINAL, read_job_record
from nemotron_align.slurm.node_job import JOBS_JSON

SBATCH_TIMEOUT_S = 120
SACCT_TIMEOUT_S = 60
# Launcher settings that are ours, or that become something other than an #SBATCH line.
_NOT_SBATCH = frozenset(
    {
        "_target_",
        "submitit_folder",
        "container_image",
        "container_mounts",
        "container_workdir",
        "srun_args",
        "python",
        "status_interval_s",
        "max_num_timeout",
        "signal_delay_s",
        "setup",
        "additional_parameters",
        "array_parallelism",
        "stderr_to_stdout",
        "timeout_min",
        "mem_gb",
        "tasks_per_node",
        "name",
    }
)
# Slurm states after which a job runs no more (sacct prints e.g. "CANCELLED by 0").
ENDED = frozenset(
    {
        "COMPLETED",
        "FAILED",
        "CANCELLED",
        "TIMEOUT",
        "OUT_OF_MEMORY",
        "NODE_FAIL",
        "PREEMPTED",
        "BOOT_FAIL",
        "DEADLINE",
    }
)


@dataclass(frozen=True)
class Submitted:
    num: int
    job_dir: Path
    slurm_id: str

    def log(self, folder: Path, suffix: str = "out") -> Path:
        array, task = self.slurm_id.split("_")
        return folder / f"{array}_{task}_0_log.{suffix}"


def _flag(key: str, value: Any) -> str:
    name = key.replace("_", "-")
    return f"#SBATCH --{name}" if value is True else f"#SBATCH --{name}={value}"


def sbatch_script(params: dict[str, Any], nums: Iterable[int], folder: Path, python: str) -> str:
    """The array job for these job numbers; logs go to `folder`, jobs.json lies there."""
    task_logs = ["--output", str(folder / "%A_%a_%t_log.out")]
    if not params.get("stderr_to_stdout"):
        task_logs += ["--error", str(folder / "%A_%a_%t_log.err")]
    srun = ["srun", "--unbuffered", *task_logs, *srun_args(params)]
    task = [python, "-u", "-m", "nemotron_align.slurm.node_job", str(folder / JOBS_JSON)]
    lines = [
        "#!/bin/bash",
        "# nemotron_align: one task per node runs nemotron_align.slurm.node_job for its job",
        *(_flag(k, v) for k, v in sorted(_sbatch_options(params, sorted(nums), folder).items())),
        "",
        *(params.get("setup") or []),
        f"export PYTHONPATH={shlex.quote(str(folder / 'lib'))}${{PYTHONPATH:+:$PYTHONPATH}}",
        shlex.join([*srun, *task]),
        "",
    ]
    return "\n".join(lines)


def _sbatch_options(params: dict[str, Any], nums: list[int], folder: Path) -> dict[str, Any]:
    """The #SBATCH options: ours, then the launcher settings that are sbatch's, then
    additional_parameters, each overriding the one before."""
    parallel = int(params.get("array_parallelism") or 256)
    sbatch: dict[str, Any] = {
        "job_name": params.get("name") or "nemotron_align",
        "array": ",".join(map(str, nums)) + f"%{min(len(nums), parallel)}",
        "time": params["timeout_min"],
        "ntasks_per_node": params.get("tasks_per_node") or 1,
        "signal": f"USR2@{params['signal_delay_s']}",
        "output": folder / "%A_%a_log.out",
        "open_mode": "append",
    }
    if not params.get("stderr_to_stdout"):
        sbatch["error"] = folder / "%A_%a_log.err"
    if params.get("mem_gb"):
        sbatch["mem"] = f"{params['mem_gb']}GB"
    for key, value in params.items():
        if key not in _NOT_SBATCH and value is not None:
            sbatch[key] = value
    sbatch.update(params.get("additional_parameters") or {})
    return sbatch


def ship(folder: Path, jobs: dict[int, Path], script: str) -> Path:
    """jobs.json, this package's source under lib/, and the script, into the submit folder."""
    folder.mkdir(parents=True, exist_ok=True)
    package = Path(nemotron_align.__file__).parent
    shutil.copytree(
        package,
        folder / "lib" / "nemotron_align",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        dirs_exist_ok=True,
    )
    index = {str(num): str(path.resolve()) for num, path in jobs.items()}
    write_atomically(folder / JOBS_JSON, json.dumps(index, indent=2) + "\n")
    path = folder / "job.sbatch"
    write_atomically(path, script)
    return path


def submit(script: Path) -> str:
    """sbatch the script; the array's job id."""
    try:
        done = subprocess.run(
            ["sbatch", "--parsable", str(script)],
            capture_output=True,
            text=True,
            timeout=SBATCH_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        done = subprocess.CompletedProcess([], 1, "", str(err))
    if done.returncode != 0:
        raise LaunchRejected(
            "hydra.launcher",
            f"sbatch refused the job: {done.stderr.strip()}",
            "check hydra.launcher.partition / account / qos / timeout_min / mem_gb and "
            "cluster.num_nodes / gpus_per_node against the cluster's limits (sinfo, "
            "scontrol show partition)",
        )
    return done.stdout.strip().split(";")[0]


def slurm_states(array_ids: Iterable[str]) -> dict[str, str]:
    """`<array>_<task>` → its Slurm state (first word), from sacct."""
    argv = ["sacct", "-X", "-n", "-P", "-o", "JobID,State"]
    for array in sorted(set(array_ids)):
        argv += ["-j", array]
    try:
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=SACCT_TIMEOUT_S, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    states = {}
    for line in out.splitlines():
        job_id, _, state = line.partition("|")
        if "_" in job_id and "[" not in job_id:
            states[job_id] = state.split()[0] if state else "UNKNOWN"
    return states


def wait(
    jobs: list[Submitted],
    interval_s: float,
    report: Callable[[str], None],
    states: Callable[[Iterable[str]], dict[str, str]] = slurm_states,
) -> dict[str, str]:
    """Until every job has ended (its own record says so, or Slurm does); the last states."""
    arrays = {job.slurm_id.split("_")[0] for job in jobs}
    while True:
        now = states(arrays)
        running = [
            job
            for job in jobs
            if read_job_record(job.job_dir).get("status") not in FINAL
            and now.get(job.slurm_id) not in ENDED
        ]
        if not running:
            return now
        counts = Counter(now.get(job.slurm_id, "PENDING") for job in running)
        line = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        report(f"{len(jobs)} jobs: {len(jobs) - len(running)} ended, {line}")
        time.sleep(interval_s)


def srun_args(params: dict[str, Any]) -> list[str]:
    args = list(params.get("srun_args") or [])
    if params.get("container_image"):
        args.append(f"--container-image={params['container_image']}")
        if params.get("container_mounts"):
            args.append("--container-mounts=" + ",".join(params["container_mounts"]))
        args.append(f"--container-workdir={params['container_workdir']}")
    return args
