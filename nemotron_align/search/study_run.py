"""A search, batch by batch: ask Optuna for points, check each before its job exists, run the
batch with the configured Hydra launcher (locally, or one Slurm job array), watch it for pruning,
and tell Optuna what NeMo-RL measured.

The study lives in the sweep folder (nemotron_align.records.study_record), held by one search
at a time; re-running the same command resumes it: trials left running by a search that
was killed are run again in their own job folders (NeMo-RL resumes from their checkpoints), or
only scored where their job had ended, so the study ends with exactly n_trials trials.
"""

from __future__ import annotations

import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf, read_write
from optuna.trial import TrialState

from nemotron_align.errors import EXIT_REJECTED, LaunchRejected
from nemotron_align.records import study_record
from nemotron_align.records.job_record import (
    FINAL,
    read_job_record,
    update_job_record,
    write_job_record,
)
from nemotron_align.records.run_lock import RunFolderBusy, hold
from nemotron_align.results.metrics import Series
from nemotron_align.results.report_rows import Row, build_report
from nemotron_align.search.outcome import outcome, write_trial
from nemotron_align.search.point_check import refusal
from nemotron_align.search.pruning import PruneWatch
from nemotron_align.search.samplers import grid_points, make_pruner, make_sampler
from nemotron_align.search.settings import SearchSettings
from nemotron_align.search.space import SearchSpace, parse_space

ASKED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C: after a local job's child has been passed the signal (launchers.process.run_child
    calls the handler it found), the search stops; the batch's trials stay open for a resume."""
    raise KeyboardInterrupt


def _say(text: str) -> None:
    print(f"[nemotron_align] {text}", file=sys.stderr)


@dataclass
class Point:
    trial: optuna.Trial
    overrides: list[str]
    job_dir: Path


def run_search(
    settings: SearchSettings, config: DictConfig, loader: Any, launcher: Any, arguments: list[str]
) -> None:
    """The search of a multirun; a refused one prints why and exits 2, no trial run."""
    try:
        Search(settings, config, loader, launcher).run(arguments)
    except LaunchRejected as err:
        print(err.render(), file=sys.stderr)
        sys.exit(EXIT_REJECTED)


class Search:
    def __init__(
        self, settings: SearchSettings, config: DictConfig, loader: Any, launcher: Any
    ) -> None:
        self.settings = settings
        self.config = config
        self.loader = loader
        self.launcher = launcher
        self.sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        self.dry_run = bool(OmegaConf.select(config, "launch.dry_run", default=False))

    def run(self, arguments: list[str]) -> None:
        self.settings.validate()
        params = [f"{k}={v}" for k, v in (self.settings.params or {}).items()]
        space = parse_space(params + arguments)
        facts = self._facts(space)
        sampler = make_sampler(self.settings, space)
        grid = grid_points(self.settings, space)
        n_trials = min(self.settings.n_trials, len(grid)) if grid else self.settings.n_trials
        if self.dry_run:
            self._dry_run(space, sampler)
            return
        try:
            lock = hold(self.sweep_dir)
        except RunFolderBusy as err:
            raise LaunchRejected(
                "hydra.sweep.dir",
                err.problem.replace("another launch", "another search"),
                "wait for that search to end (or stop it); re-running it later resumes it",
            ) from None
        with lock:
            study = self._open(facts, sampler)
            OmegaConf.save(self.config, self.sweep_dir / "multirun.yaml")
            if grid and not study.trials:
                for params in grid[:n_trials]:
                    study.enqueue_trial(params)
            _say(
                f"study {facts.study_name} in {self.sweep_dir}: {n_trials} trials, "
                f"{self.settings.n_jobs} at a time, {facts.direction} {facts.objective} "
                f"{facts.metric}\n    resume: the same command, with "
                f"hydra.sweep.dir={self.sweep_dir}"
            )
            previous = signal.signal(signal.SIGINT, _interrupt)
            try:
                while batch := self._next_batch(study, space, n_trials):
                    self._run_batch(study, facts, batch)
            except KeyboardInterrupt:
                done = len(study.get_trials(deepcopy=False, states=ASKED[:3]))
                _say(
                    f"interrupted: {done} of {n_trials} trials ended; the running ones stay "
                    "open. Re-run the same command to resume."
                )
                sys.exit(128 + signal.SIGINT)
            finally:
                signal.signal(signal.SIGINT, previous)
            _summarize(study, facts)

    def _facts(self, space: SearchSpace) -> study_record.StudyFacts:
        checkpointing = OmegaConf.select(self.config, "checkpointing") or {}
        metric = checkpointing.get("metric_name")
        if not metric or checkpointing.get("higher_is_better") is None:
            raise LaunchRejected(
                "checkpointing.metric_name",
                "a search optimizes checkpointing.metric_name in the direction of "
                "checkpointing.higher_is_better; the config lacks "
                + ("metric_name" if not metric else "higher_is_better"),
                "set both, e.g. checkpointing.metric_name=val:accuracy "
                "checkpointing.higher_is_better=true",
            )
        return study_record.StudyFacts(
            study_name=self.settings.study_name,
            storage=study_record.storage_kind(self.settings.storage, self.sweep_dir),
            metric=str(metric),
            direction="maximize" if checkpointing["higher_is_better"] else "minimize",
            objective=self.settings.objective.value,
            space=space.expressions,
            fixed=space.fixed,
        )

    def _open(self, facts: study_record.StudyFacts, sampler: Any) -> optuna.Study:
        """The study: created, or resumed when the folder holds the same search."""
        found = study_record.read_facts(self.sweep_dir)
        if found is not None and found != facts:
            raise LaunchRejected(
                "hydra.sweep.dir",
                f"{self.sweep_dir} holds another search ({_differences(found, facts)}); "
                "resuming it with these settings would mix two studies",
                "re-run exactly the command that started it, or search into a new folder "
                "(another hydra.sweep.dir or hydra.sweeper.study_name)",
            )
        study_record.write_facts(self.sweep_dir, facts)
        return optuna.create_study(
            storage=study_record.open_storage(self.sweep_dir, facts.storage),
            study_name=facts.study_name,
            sampler=sampler,
            pruner=make_pruner(self.settings),
            direction=facts.direction,
            load_if_exists=True,
        )

    def _next_batch(self, study: optuna.Study, space: SearchSpace, n_trials: int) -> list[Point]:
        # Enqueued grid points wait until asked for.
        trials = study.get_trials(deepcopy=False, states=ASKED)
        left = [optuna.Trial(study, t._trial_id) for t in trials if t.state is TrialState.RUNNING]
        batch = left[: self.settings.n_jobs]
        fresh = min(self.settings.n_jobs - len(batch), n_trials - len(trials))
        batch += [study.ask(space.distributions) for _ in range(max(fresh, 0))]
        return [self._point(trial, space) for trial in batch]

    def _point(self, trial: optuna.Trial, space: SearchSpace) -> Point:
        overrides = space.overrides(trial.params)
        job_dir = self.sweep_dir / str(trial.number)
        trial.set_user_attr(study_record.JOB_FOLDER, str(job_dir))
        trial.set_user_attr(study_record.OVERRIDES, overrides)
        return Point(trial, overrides, job_dir)

    def _run_batch(
        self, study: optuna.Study, facts: study_record.StudyFacts, batch: list[Point]
    ) -> None:
        to_run, ended = [], []
        for point in batch:
            status = read_job_record(point.job_dir).get("status")
            if status in FINAL:  # its job ended before the search that ran it was killed
                ended.append(point)
                continue
            why = refusal(self.loader, self.config, point.overrides, point.job_dir)
            if why is None:
                to_run.append(point)
                continue
            write_job_record(
                self.sweep_dir,
                point.job_dir,
                point.trial.number,
                point.overrides,
                status="rejected",
                exit_code=EXIT_REJECTED,
                error=why,
            )
            self._tell(study, facts, point, None, None)  # failed at once, with the reason
        pruned: dict[Path, str] = {}
        if to_run:
            watched = {p.job_dir: p.trial for p in to_run}
            with PruneWatch(
                watched, lambda: self._series(facts, watched), self.settings.watch_interval_s
            ) as watch:
                self._launch(to_run)
            pruned = watch.pruned
        rows = {row.folder.resolve(): row for row in self._report(facts).rows}
        for point in ended + to_run:
            self._tell(study, facts, point, rows.get(point.job_dir), pruned.get(point.job_dir))

    def _launch(self, points: list[Point]) -> None:
        """One launch for the batch where the launcher takes job numbers (ours on Slurm: one
        job array); else one per run of consecutive trial numbers."""
        numbered = getattr(self.launcher, "launch_numbered", None)
        if numbered is not None:
            numbered([(p.trial.number, p.overrides) for p in points])
            return
        runs: list[list[Point]] = []
        for point in points:
            if runs and runs[-1][-1].trial.number + 1 == point.trial.number:
                runs[-1].append(point)
            else:
                runs.append([point])
        for run in runs:
            self.launcher.launch([p.overrides for p in run], initial_job_idx=run[0].trial.number)

    def _report(self, facts: study_record.StudyFacts) -> Any:
        return build_report(self.sweep_dir, facts.metric, facts.direction == "maximize")

    def _series(
        self, facts: study_record.StudyFacts, folders: dict[Path, Any]
    ) -> dict[Path, Series]:
        rows = self._report(facts).rows
        return {row.folder.resolve(): row.series for row in rows if row.folder.resolve() in folders}

    def _tell(
        self,
        study: optuna.Study,
        facts: study_record.StudyFacts,
        point: Point,
        row: Row | None,
        pruned: str | None,
    ) -> None:
        ended = outcome(read_job_record(point.job_dir), row, pruned, facts)
        if ended.state is TrialState.PRUNED:
            update_job_record(
                self.sweep_dir,
                point.job_dir,
                point.trial.number,
                point.overrides,
                status="pruned",
                error=ended.reason,
            )
        if ended.reason:
            point.trial.set_user_attr(study_record.REASON, ended.reason)
        frozen = study.tell(point.trial, ended.value, ended.state)
        write_trial(point.job_dir, frozen)
        _say(
            f"trial {frozen.number}: {frozen.state.name.lower()}"
            + (f" {frozen.value:.6g}" if frozen.value is not None else "")
            + f" ({' '.join(f'{k}={v}' for k, v in frozen.params.items())})"
            + (f": {ended.reason.splitlines()[0]}" if ended.reason else "")
        )

    def _dry_run(self, space: SearchSpace, sampler: Any) -> None:
        """One batch of points, each checked and launched as a dry run, into
        `<sweep folder>/dry_run/`: the study's own folder stays fresh for the real search."""
        self.sweep_dir = self.sweep_dir / "dry_run"
        # Each job is composed with it; the launcher and the sweep's record read it here.
        moved = f"hydra.sweep.dir={self.sweep_dir}"
        with read_write(self.config.hydra.sweep):
            self.config.hydra.sweep.dir = str(self.sweep_dir)
        study = optuna.create_study(sampler=sampler)
        asked = [study.ask(space.distributions) for _ in range(self.settings.n_jobs)]
        points = [self._point(trial, space) for trial in asked]
        points = [Point(p.trial, [*p.overrides, moved], p.job_dir) for p in points]
        _say(
            f"dry run: one batch of {len(points)} sampled points, checked and dry-run in "
            f"{self.sweep_dir}; no study written"
        )
        self._launch(points)


def _differences(found: study_record.StudyFacts, wanted: study_record.StudyFacts) -> str:
    old, new = vars(found), vars(wanted)
    return "; ".join(f"{k} was {old[k]!r}, now {new[k]!r}" for k in old if old[k] != new[k])


def _summarize(study: optuna.Study, facts: study_record.StudyFacts) -> None:
    done = [t for t in study.trials if t.state is TrialState.COMPLETE]
    if not done:
        _say(f"study {facts.study_name}: no trial completed")
        return
    best = study.best_trial
    command = shlex.join(study_record.rerun_command(best.user_attrs[study_record.OVERRIDES]))
    _say(
        f"best trial {best.number}: {facts.metric} {best.value:.6g} "
        f"({' '.join(f'{k}={v}' for k, v in best.params.items())})\n"
        f"    run folder: {best.user_attrs[study_record.JOB_FOLDER]}\n    command: {command}"
    )
