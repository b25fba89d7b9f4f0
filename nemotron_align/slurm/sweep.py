"""A sweep (or a single run) on Slurm, from the submitting machine.

1. Every job is composed and launched up to the start of NeMo-RL, in this one process: the same
   checks as a local launch, then its run folder (nemo_rl.yaml, launch.json, slurm_job.json).
2. The cluster is checked once per resource shape (partition, time limit, GPUs, image).
3. Rejected jobs are reported (`error: job <n> (<overrides>): ...`) and never submitted; the
   rest go out as one job array per shape. A dry run prints the sbatch script instead.
4. The wait: a status line, then each job's end as its node recorded it, or as Slurm reports a
   job that died without reporting (time limit, cancellation, node failure).
"""

from __future__ import annotations

import contextlib
import json
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from nemotron_align.errors import EXIT_REJECTED, LaunchRejected, LaunchRejectedMany
from nemotron_align.launchers.context import SlurmJob
from nemotron_align.records.job_record import read_job_record, update_job_record, write_job_record
from nemotron_align.records.launch_record import LAUNCH_JSON
from nemotron_align.slurm import submit as slurm_submit
from nemotron_align.slurm.compose import JobComposer, job_log, run_task
from nemotron_align.slurm.partition_checks import cluster_problems
from nemotron_align.slurm.prepare import job_python


def _say(text: str) -> None:
    print(f"[nemotron_align] {text}", file=sys.stderr)


@dataclass
class Job:
    num: int
    overrides: list[str]
    job_dir: Path
    params: dict[str, Any]
    # The overrides that set this job apart from the others of the sweep.
    own: list[str] = field(default_factory=list)
    problems: list[LaunchRejected] = field(default_factory=list)
    crash: str | None = None
    # Its problems were printed already (a cluster check, shown once for all its jobs).
    reported: bool = False
    code: int | None = None

    @property
    def label(self) -> str:
        return f"job {self.num} ({' '.join(self.own)})" if self.own else f"job {self.num}"

    @property
    def ok(self) -> bool:
        return not self.problems and self.crash is None

    def record(self) -> dict[str, Any]:
        return json.loads((self.job_dir / LAUNCH_JSON).read_text())


class SlurmSweep:
    def __init__(
        self,
        config: DictConfig,
        hydra_context: HydraContext,
        task_function: TaskFunction,
        compose: JobComposer,
    ) -> None:
        self.compose = compose
        self.config = config
        self.hydra_context = hydra_context
        self.task_function = task_function
        self.sweep_dir = Path(str(config.hydra.sweep.dir))
        self.dry_run = bool(OmegaConf.select(config, "launch.dry_run", default=False))

    def run(self, numbered: list[tuple[int, list[str]]]) -> list[JobReturn]:
        """Run the jobs (number, overrides); the number is the job's folder and array index."""
        if not self.dry_run and shutil.which("sbatch") is None:
            self._no_slurm_here()
        self.sweep_dir.mkdir(parents=True, exist_ok=True)
        jobs = self._prepare_all(numbered)
        groups = _by_shape(jobs)
        notes: list[str] = []
        for group in groups:
            self._check_cluster(group, notes)
        self._report_problems(jobs)
        self._report_warnings([job for job in jobs if job.ok])
        self._dispatch(groups)
        return [self._result(job) for job in jobs]

    def _prepare_all(self, numbered: list[tuple[int, list[str]]]) -> list[Job]:
        jobs = [self._prepare(num, overrides) for num, overrides in numbered]
        shared = set.intersection(*(set(o) for _, o in numbered))
        for job in jobs:
            job.own = [o for o in filter_overrides(job.overrides) if o not in shared]
        return jobs

    def _dispatch(self, groups: list[list[Job]]) -> None:
        """Show (dry run) or submit the jobs of each group that passed every check, then wait
        for the submitted ones."""
        ready = [[job for job in group if job.ok] for group in groups]
        ready = [group for group in ready if group]
        if self.dry_run:
            for group in ready:
                self._show(group)
        elif ready:
            submitted = [self._submit(group) for group in ready]
            self._wait([s for group in submitted for s in group])

    def _no_slurm_here(self) -> None:
        err = LaunchRejected(
            "cluster=slurm",
            "no Slurm on this machine (sbatch is not on PATH), so nothing can be submitted",
            "submit from a Slurm login node, or add launch.dry_run=true to write and check "
            "every job's run folder and print the sbatch script without Slurm",
        )
        print(err.render(), file=sys.stderr)
        # Hydra wrote the sweep's multirun.yaml already: leave no half-made sweep folder.
        (self.sweep_dir / "multirun.yaml").unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.sweep_dir.rmdir()
        sys.exit(EXIT_REJECTED)

    def _prepare(self, num: int, overrides: list[str]) -> Job:
        try:
            config = self.compose(self.config, overrides)
        except Exception as err:  # a job whose overrides do not compose must not stop the others
            job = Job(num, overrides, self.sweep_dir / str(num), {})
            job.problems = [
                LaunchRejected(
                    "overrides",
                    str(err).strip().splitlines()[0],
                    "fix this job's overrides (try them alone: python -m nemotron_align "
                    "<overrides> --cfg job)",
                )
            ]
            return job
        with open_dict(config):
            config.hydra.job.id = num
            config.hydra.job.num = num
        job_dir = self.sweep_dir / str(OmegaConf.select(config, "hydra.sweep.subdir"))
        params = OmegaConf.to_container(config.hydra.launcher, resolve=True)
        job = Job(num, overrides, job_dir, params)  # type: ignore[arg-type]
        handed_over = SlurmJob(params=job.params, sweep_dir=self.sweep_dir, num=num)
        with job_log(job_dir, config):
            err = run_task(self.task_function, config, job_dir, handed_over)
        if isinstance(err, LaunchRejectedMany):
            job.problems = err.problems
        elif isinstance(err, LaunchRejected):
            job.problems = [err]
        elif err is not None:
            job.crash = f"{type(err).__name__}: {err}"
        return job

    def _check_cluster(self, group: list[Job], notes: list[str]) -> None:
        errors, found = cluster_problems(group[0].params)
        for note in found:
            if note not in notes:
                notes.append(note)
                _say(note)
        if errors:
            for err in errors:
                print(err.render(), file=sys.stderr)
            for job in group:
                job.problems, job.reported = errors, True

    def _report_problems(self, jobs: list[Job]) -> None:
        for job in jobs:
            if job.ok:
                continue
            text = self._say_problems(job)
            write_job_record(
                self.sweep_dir,
                job.job_dir,
                job.num,
                job.overrides,
                status="crashed" if job.crash else "rejected",
                exit_code=None if job.crash else EXIT_REJECTED,
                error=text,
            )
            job.code = 1 if job.crash else EXIT_REJECTED

    @staticmethod
    def _say_problems(job: Job) -> str:
        """Print why the job goes no further, unless said already; the text for its record."""
        if job.crash:
            print(f"error: {job.label}: crashed while made ready: {job.crash}", file=sys.stderr)
            return job.crash
        if not job.reported:
            print("\n".join(_in_job(p, job) for p in job.problems), file=sys.stderr)
        return "\n".join(p.render() for p in job.problems)

    def _report_warnings(self, jobs: list[Job]) -> None:
        by_text: dict[str, list[int]] = {}
        for job in jobs:
            for warning in job.record().get("warnings", []):
                by_text.setdefault(warning, []).append(job.num)
        for text, nums in by_text.items():
            if len(nums) < len(jobs):
                who = "job" + ("s " if len(nums) > 1 else " ") + ", ".join(map(str, nums))
                text = text.replace("warning: ", f"warning: {who}: ", 1)
            print(text, file=sys.stderr)

    def _show(self, group: list[Job]) -> None:
        _, script = _script(group)
        _say(f"dry run: nothing submitted. The sbatch script for {len(group)} job(s):")
        print(script, file=sys.stderr)
        for job in group:
            record = job.record()
            _say(
                f"{job.label}: run folder {job.job_dir}\n    on the node (cwd {record['cwd']}): "
                f"{shlex.join(record['argv'])}"
            )
            write_job_record(self.sweep_dir, job.job_dir, job.num, job.overrides, status="dry_run")
            job.code = 0

    def _submit(self, group: list[Job]) -> list[slurm_submit.Submitted]:
        folder, script = _script(group)
        path = slurm_submit.ship(folder, {j.num: j.job_dir for j in group}, script)
        try:
            array = slurm_submit.submit(path)
        except LaunchRejected as err:
            print(err.render(), file=sys.stderr)
            for job in group:
                write_job_record(
                    self.sweep_dir,
                    job.job_dir,
                    job.num,
                    job.overrides,
                    status="rejected",
                    exit_code=EXIT_REJECTED,
                    error=err.render(),
                )
                job.code = EXIT_REJECTED
            return []
        submitted = []
        for job in group:
            done = slurm_submit.Submitted(job.num, job.job_dir, f"{array}_{job.num}")
            write_job_record(
                self.sweep_dir,
                job.job_dir,
                job.num,
                job.overrides,
                status="queued",
                slurm_job_id=done.slurm_id,
                log=str(done.log(folder)),
            )
            _say(
                f"job #{job.num} submitted as Slurm job {done.slurm_id}: "
                f"{' '.join(filter_overrides(job.overrides))}\n    log: {done.log(folder)}"
            )
            submitted.append(done)
        return submitted

    def _wait(self, submitted: list[slurm_submit.Submitted]) -> None:
        interval = float(self.config.hydra.launcher.get("status_interval_s", 30.0))
        states = slurm_submit.wait(submitted, interval, _say)
        for job in submitted:
            record = read_job_record(job.job_dir)
            if record.get("status") in ("succeeded", "failed", "rejected"):
                continue
            state = states.get(job.slurm_id, "UNKNOWN")
            error = f"Slurm ended the job {state} before it reported back"
            _say(
                f"job #{job.num} (Slurm {job.slurm_id}) ended {state} without a result\n"
                f"    log: {record.get('log')}"
            )
            update_job_record(
                self.sweep_dir,
                job.job_dir,
                job.num,
                record["overrides"],
                status=state.lower(),
                error=error,
            )

    def _result(self, job: Job) -> JobReturn:
        ret = JobReturn(overrides=job.overrides, status=JobStatus.COMPLETED)
        if job.code is None:
            record = read_job_record(job.job_dir)
            job.code = record.get("exit_code")
            if job.code is None:
                job.code = 1
        ret.return_value = job.code
        return ret


def _by_shape(jobs: list[Job]) -> list[list[Job]]:
    """The jobs that passed, grouped by resource shape (their resolved launcher params)."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        if job.ok:
            groups.setdefault(json.dumps(job.params, sort_keys=True), []).append(job)
    return list(groups.values())


def _script(group: list[Job]) -> tuple[Path, str]:
    """The submit folder and the sbatch script of a group of jobs (one resource shape)."""
    params = group[0].params
    folder = _folder(params)
    return folder, slurm_submit.sbatch_script(
        params, [j.num for j in group], folder, job_python(params)
    )


def _folder(params: dict[str, Any]) -> Path:
    """Where the sbatch script, its logs and the shipped package go."""
    return Path(str(params["submitit_folder"])).resolve()


def _in_job(problem: LaunchRejected, job: Job) -> str:
    return problem.render().replace("error: ", f"error: {job.label}: ", 1)
