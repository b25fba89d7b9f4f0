"""What runs on a Slurm node: one job of a sweep, from its rendered run folder.

The sbatch script runs `<python> -m nemotron_align.slurm.node_job <jobs.json>` in every task, with a
copy of this package (shipped in the sweep folder) on PYTHONPATH. Standard library only, so any
Python >= 3.10 runs it, the NeMo-RL container's included, with nothing of ours installed. The
job's Slurm array index is its Hydra job number; jobs.json maps it to its run folder, where
`slurm_job.json` (written on the login node with nemo_rl.yaml) says what to run.

On the node it checks again what can change after submission (data files, the NeMo-RL checkout),
keeps job.json and launch.json current, starts NeMo-RL (through the Ray bootstrap on more than one
node) and passes Slurm's signals on; on SIGUSR2 it requeues the job as submitit did.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from nemotron_align.config.release import detect_release
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected
from nemotron_align.io.jsonl import count_rows
from nemotron_align.io.secret_env import restore_secrets, write_record
from nemotron_align.launchers.process import child_environment, run_child
from nemotron_align.launchers.ray_bootstrap import (
    RayBootstrapError,
    needs_ray_bootstrap,
    run_multinode,
)
from nemotron_align.records.job_record import update_job_record
from nemotron_align.records.launch_record import LaunchRecord, now_iso
from nemotron_align.records.mlflow_identity import ensure_mlflow_run
from nemotron_align.records.run_lock import RunFolderBusy, RunLock, hold
from nemotron_align.results.export_hf import ExportSettings, StartedAs, after_training
from nemotron_align.slurm.placement import SCONTROL_TIMEOUT_S, slurm_placement

SLURM_JOB_JSON = "slurm_job.json"
JOBS_JSON = "jobs.json"
# A SIGUSR2 this close to the time limit (beyond the signal delay) means the limit, not preemption.
TIMEOUT_MARGIN_S = 60


@dataclass
class InputFile:
    key: str
    path: str
    # Rows the file must still have (a train file fills one global batch); 0 = any.
    min_rows: int = 0


@dataclass
class NodeJob:
    num: int
    overrides: list[str]
    sweep_dir: str
    job_dir: str
    # launch.python; None = the interpreter running this module on the node.
    python: list[str] | None
    # NeMo-RL's command after the interpreter: [script, --config, nemo_rl.yaml] (or the Gym runner).
    args: list[str]
    nemo_rl_root: str
    # The NeMo-RL script the job runs ("" for the Gym runner, which needs none).
    script: str
    nemo_rl_release: str
    env: dict[str, str]
    inputs: list[InputFile]
    num_nodes: int
    gpus_per_node: int
    timeout_min: int
    signal_delay_s: int
    max_num_timeout: int
    # launch.ray, ray_port, ray_start_args, ray_ready_timeout_s (their defaults live there).
    ray: list[str]
    ray_port: int
    ray_start_args: list[str]
    ray_ready_timeout_s: float
    # launch.export_hf and its checkpointing facts (results.export_hf.ExportSettings), as a dict.
    export: dict | None = None
    # records/mlflow_identity.mlflow_target: the MLflow run the head task gets or creates.
    mlflow: dict[str, str] | None = None

    def interpreter(self) -> list[str]:
        return list(self.python) if self.python else [sys.executable]

    def argv(self) -> list[str]:
        return [*self.interpreter(), *self.args]

    def write(self, job_dir: Path) -> None:
        write_record(job_dir / SLURM_JOB_JSON, asdict(self))

    @classmethod
    def read(cls, job_dir: Path) -> NodeJob:
        data = json.loads((job_dir / SLURM_JOB_JSON).read_text())
        data["inputs"] = [InputFile(**f) for f in data["inputs"]]
        return cls(**data)


def recheck(job: NodeJob) -> list[LaunchRejected]:
    """What may have changed since the login node checked it: NeMo-RL and the local data."""
    problems: list[LaunchRejected] = []
    root = Path(job.nemo_rl_root)
    if not (root / job.script).exists():
        problems.append(
            LaunchRejected(
                "launch.nemo_rl_root",
                f"{root / job.script} does not exist on {socket.gethostname()}",
                "run the job where NeMo-RL is (hydra.launcher.container_image=<NeMo-RL image>), "
                "or point launch.nemo_rl_root at the checkout the nodes see",
            )
        )
    elif (release := detect_release(root)) not in (None, job.nemo_rl_release):
        problems.append(
            LaunchRejected(
                "nemo_rl",
                f"the config is composed for NeMo-RL {job.nemo_rl_release}, but {root} on "
                f"{socket.gethostname()} holds NeMo-RL {release}",
                f"resubmit with nemo_rl={release}, or run the image of {job.nemo_rl_release}",
            )
        )
    for item in job.inputs:
        path = Path(item.path)
        if not path.is_file():
            problems.append(
                LaunchRejected(
                    item.key,
                    f"{path} does not exist on {socket.gethostname()} (it did when the job "
                    "was submitted)",
                    "restore the file, or resubmit with the data that is there now",
                )
            )
        elif item.min_rows and (rows := count_rows(path)) < item.min_rows:
            problems.append(
                LaunchRejected(
                    item.key,
                    f"{path} now has {rows:,} rows, fewer than one global batch "
                    f"({item.min_rows:,}); it changed after submission",
                    "restore the file, or resubmit (the login-node check names the batch key)",
                )
            )
    return problems


def _slurm_id() -> str | None:
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID")


class _Requeue:
    """On SIGUSR2 (Slurm's warning before the time limit, or preemption), after NeMo-RL got it:
    requeue the job into the same run folder — always on preemption, on the time limit only
    while hydra.launcher.max_num_timeout allows. NeMo-RL gets to exit first (to save what it
    can); if it has not within half the signal delay, the job is requeued anyway."""

    def __init__(self, job: NodeJob) -> None:
        self.job = job
        self.started = time.monotonic()
        # Once asked for, Slurm ends this run and starts the job again: its end is not final.
        self.requested = False
        self._lock = threading.Lock()
        self._sent = False

    def __call__(self, signum: int, frame: object) -> None:
        limit_s = self.job.timeout_min * 60
        timed_out = time.monotonic() - self.started >= (
            limit_s - self.job.signal_delay_s - TIMEOUT_MARGIN_S
        )
        restarts = int(os.environ.get("SLURM_RESTART_COUNT", "0"))
        if self.requested or not _slurm_id():
            return
        if timed_out and restarts >= self.job.max_num_timeout:
            return
        self.requested = True
        _record(self.job, status="requeued", error=None)
        timer = threading.Timer(max(self.job.signal_delay_s / 2, 1.0), self.now)
        timer.daemon = True
        timer.start()

    def now(self) -> None:
        with self._lock:
            if self._sent:
                return
            self._sent = True
        subprocess.run(
            ["scontrol", "requeue", str(_slurm_id())], timeout=SCONTROL_TIMEOUT_S, check=False
        )


def run(job_dir: Path) -> int:
    """The head task holds the run folder's lock for the run (see README, "Slurm")."""
    job = NodeJob.read(job_dir)
    if int(os.environ.get("SLURM_PROCID", "0")) != 0:
        return _run(job, job_dir, lock=None)
    try:
        lock = hold(job_dir)
    except RunFolderBusy as err:
        print(err.render(), file=sys.stderr)
        return EXIT_REJECTED
    with lock:
        _warn_if_left_running_elsewhere(job_dir)
        return _run(job, job_dir, lock)


def _warn_if_left_running_elsewhere(job_dir: Path) -> None:
    """A lock on a shared file system may not reach other hosts: the record is the other
    witness of a run still going there."""
    record = LaunchRecord.read(job_dir)
    if record.ended_unrecorded() and record.host != socket.gethostname():
        print(
            f"warning: {job_dir / 'launch.json'}: the previous run of this job started on "
            f"{record.host} (pid {record.pid}) at {record.start_time} and recorded no end; it is "
            "taken as crashed, but if it still runs there, stop it (this file system's locks "
            "may not reach other hosts)",
            file=sys.stderr,
        )


def _run(job: NodeJob, job_dir: Path, lock: RunLock | None) -> int:
    head = lock is not None
    started = time.monotonic()
    if head:
        _record(
            job,
            status="running",
            slurm_job_id=_slurm_id(),
            node=socket.gethostname(),
            error=None,
        )
    problems = recheck(job)
    if problems:
        return _refuse(job, job_dir, problems, head=head, started=started)
    record = LaunchRecord.read(job_dir)
    argv = job.argv()
    if head:
        record.begin(job_dir, argv=argv, python=job.interpreter())
    env = child_environment(restore_secrets(job.env))
    if head:
        _in_mlflow_run(job, job_dir, record, env)
    requeue = _Requeue(job)
    previous = signal.getsignal(signal.SIGUSR2)
    # One task asks Slurm to requeue the job; the others must only outlive the signal (a Python
    # handler, unlike SIG_IGN, is not inherited by the processes they start).
    signal.signal(signal.SIGUSR2, requeue if head else _outlive)
    try:
        code = _start(job, argv, env, lock)
    finally:
        signal.signal(signal.SIGUSR2, previous)
    if head:
        if not requeue.requested:
            code = _after_training(job, record, code, env, lock)
        record.finish(job_dir, code)
        if not requeue.requested:
            status = "failed" if record.error else _status(code)  # a failed export
            _end(job, status=status, code=code, started=started, error=record.error)
    if requeue.requested:
        requeue.now()
    return code


def _refuse(
    job: NodeJob, job_dir: Path, problems: list[LaunchRejected], *, head: bool, started: float
) -> int:
    """What changed since submission stops the job before NeMo-RL; the head task records why."""
    text = "\n".join(p.render() for p in problems)
    print(text, file=sys.stderr)
    if head:
        record = LaunchRecord.read(job_dir)
        record.error = text
        record.write(job_dir)
        _end(job, status="rejected", code=EXIT_REJECTED, started=started, error=text)
    return EXIT_REJECTED


def _after_training(
    job: NodeJob, record: LaunchRecord, code: int, env: dict[str, str], lock: RunLock | None
) -> int:
    """The head task, in the same Slurm job: what the run produced, the HF export when asked
    (not when the job is requeued: its run goes on)."""
    if job.export is None:
        return code
    started_as = StartedAs(
        job.interpreter(), Path(job.nemo_rl_root), env, (lock.fd,) if lock else ()
    )
    settings = ExportSettings(**job.export)
    return after_training(record, Path(job.job_dir), settings, code, started_as)


def _in_mlflow_run(job: NodeJob, job_dir: Path, record: LaunchRecord, env: dict[str, str]) -> None:
    """The job's one MLflow run, the same after a requeue (see records/mlflow_identity)."""
    found = ensure_mlflow_run(job.mlflow, job.interpreter(), job_dir, Path(job.nemo_rl_root), env)
    if found.warning:
        print(found.warning, file=sys.stderr)
    if found.run_id:
        env["MLFLOW_RUN_ID"] = record.mlflow_run_id = found.run_id
        record.write(job_dir)


def _outlive(signum: int, frame: object) -> None:
    pass


def _start(job: NodeJob, argv: list[str], env: dict[str, str], lock: RunLock | None) -> int:
    root = Path(job.nemo_rl_root)
    if not needs_ray_bootstrap(job.num_nodes):
        return run_child(argv, root, env, pass_fds=(lock.fd,) if lock else ())
    try:
        placement = slurm_placement()
        return run_multinode(
            argv,
            root,
            env,
            num_nodes=job.num_nodes,
            gpus_per_node=job.gpus_per_node,
            job_dir=Path(job.job_dir),
            rank=placement.rank,
            head_host=placement.head,
            python=job.interpreter(),
            port=job.ray_port,
            ray=job.ray,
            ray_start_args=job.ray_start_args,
            ready_timeout_s=job.ray_ready_timeout_s,
        )
    except RayBootstrapError as err:
        print(f"error: Ray cluster (rank {os.environ.get('SLURM_PROCID')}): {err}", file=sys.stderr)
        return 1


def _status(code: int) -> str:
    if code == 0:
        return "succeeded"
    # The Gym runner refuses a config at start with the launcher's own exit status.
    return "rejected" if code == EXIT_REJECTED else "failed"


def _record(job: NodeJob, **fields: object) -> None:
    update_job_record(Path(job.sweep_dir), Path(job.job_dir), job.num, job.overrides, **fields)


def _end(job: NodeJob, *, status: str, code: int, started: float, error: str | None = None) -> None:
    _record(
        job,
        status=status,
        exit_code=code,
        duration_s=round(time.monotonic() - started, 3),
        error=error,
        ended=now_iso(),
    )


def main(argv: list[str]) -> int:
    jobs = json.loads(Path(argv[0]).read_text())
    task = os.environ.get("SLURM_ARRAY_TASK_ID", "0")
    return run(Path(jobs[task]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
