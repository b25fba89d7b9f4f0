"""What the report adds for a study folder (hydra/sweeper=nemotron_optuna): the study's counts and
best trial (its run folder and the command line that re-runs it alone), and Optuna's own views
as PNG beside report.png: `study_history.png`, `study_importances.png` and `study_slice.png`
(one panel per parameter: the metric against each).

The study scores a trial by its `objective` (the best or the last value of the metric); the
report's table ranks by the best value over steps. With objective=last the two can name
different winners: both are stated, neither is changed.
"""

from __future__ import annotations

import io
import shlex
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.records import study_record
from nemotron_align.records.study_record import StudyFacts
from nemotron_align.results.report_rows import Report

if TYPE_CHECKING:
    import optuna

DPI = 100
# Trial states as the report counts them (Optuna's TrialState names, lower case).
STATES = ("complete", "pruned", "fail", "running", "waiting")


@dataclass
class BestTrial:
    number: int
    value: float
    params: dict[str, Any]
    job_folder: str | None
    overrides: list[str]

    @property
    def command(self) -> str:
        return shlex.join(study_record.rerun_command(self.overrides))


@dataclass
class StudyReport:
    facts: StudyFacts
    study: optuna.Study
    counts: dict[str, int]
    best: BestTrial | None
    # The PNG files written (names, in the report's output folder).
    views: list[str] = field(default_factory=list)

    @property
    def complete(self) -> int:
        return self.counts["complete"]


def read_study(folder: Path) -> StudyReport | None:
    """The study a sweep folder holds; None for a folder without study.json (a plain sweep)."""
    facts = study_record.read_facts(folder)
    if facts is None:
        return None
    from sqlalchemy.exc import DatabaseError

    try:
        study = study_record.load_study(folder)
    except KeyError as err:
        raise LaunchRejected(
            str(folder / study_record.STUDY_JSON),
            f"names study {facts.study_name!r}, which {facts.file} does not hold",
            "re-run the search command that made this folder, or remove study.json",
        ) from err
    except DatabaseError as err:
        raise LaunchRejected(
            str(folder / facts.file),
            f"is not an Optuna study database ({err.orig})",
            "remove study.json to report the jobs as a plain sweep",
        ) from err
    if study is None:
        return None
    trials = study.get_trials(deepcopy=False)
    counts = {state: 0 for state in STATES}
    for trial in trials:
        counts[trial.state.name.lower()] += 1
    best = None
    if counts["complete"]:
        trial = study.best_trial
        best = BestTrial(
            number=trial.number,
            value=trial.value,
            params=trial.params,
            job_folder=trial.user_attrs.get(study_record.JOB_FOLDER),
            overrides=list(trial.user_attrs.get(study_record.OVERRIDES, [])),
        )
    return StudyReport(facts, study, counts, best)


def study_json(found: StudyReport) -> dict[str, Any]:
    best = found.best
    return {
        "name": found.facts.study_name,
        "direction": found.facts.direction,
        "metric": found.facts.metric,
        "objective": found.facts.objective,
        "states": found.counts,
        "n_trials": sum(found.counts.values()),
        "best_trial": {
            "number": best.number,
            "value": best.value,
            "params": best.params,
            "job_folder": best.job_folder,
            "command": best.command,
        }
        if best
        else None,
        "views": found.views,
    }


def print_study(found: StudyReport, report: Report) -> None:
    counts = found.counts
    parts = [f"{counts['complete']} complete", f"{counts['fail']} failed"]
    parts += [f"{counts['pruned']} pruned"]
    parts += [f"{counts[s]} {s}" for s in ("running", "waiting") if counts[s]]
    facts = found.facts
    print(f"study {facts.study_name}: {sum(counts.values())} trials: " + ", ".join(parts))
    best = found.best
    if best is None:
        print("best trial: none yet (no trial has completed)")
        return
    print(f"best trial {best.number}: {facts.metric} = {best.value:.6g} ({facts.objective} value)")
    print("  params: " + ", ".join(f"{k}={v}" for k, v in best.params.items()))
    print(f"  run folder: {best.job_folder or '(not recorded)'}")
    print(f"  command: {best.command}")
    row = report.best_row
    if row is not None and row.job != str(best.number):
        point = row.best_point(report.ranking.higher_is_better)
        value = f"{point[1]:.6g} at step {point[0]}" if point else "no value"
        print(
            f"note: the study's best trial is {best.number} ({facts.objective} value "
            f"{best.value:.6g}); the table's best job (*) is {row.job} (best over steps: {value})"
        )


def write_views(found: StudyReport, out: Path) -> list[Path]:
    """Optuna's views as PNG in `out`; one it cannot draw yet is skipped with a note."""
    import matplotlib

    matplotlib.use("Agg")
    from optuna.visualization import matplotlib as views

    params = {key for trial in found.study.get_trials(deepcopy=False) for key in trial.params}
    # (file, view, complete trials it needs)
    planned: list[tuple[str, Callable[..., Any], int]] = [
        ("study_history.png", views.plot_optimization_history, 1),
        ("study_importances.png", views.plot_param_importances, 2),
        ("study_slice.png", views.plot_slice, 2),
    ]
    written = []
    for name, view, needed in planned:
        if found.complete < needed:
            print(
                f"note: {name} skipped: needs {needed} complete trials, the study has "
                f"{found.complete}",
                file=sys.stderr,
            )
            continue
        # The slice view draws one panel per parameter: 4 inches each keeps their labels apart.
        width = 4.0 * len(params) if view is views.plot_slice else 0.0
        write_atomically(out / name, _drawn(view, found.study, width))
        found.views.append(name)
        written.append(out / name)
    return written


def _drawn(view: Callable[..., Any], study: optuna.Study, min_width: float) -> bytes:
    import matplotlib
    import numpy as np
    from matplotlib import pyplot
    from optuna.exceptions import ExperimentalWarning

    # Optuna's views set a pyplot style globally: rc_context keeps it off report.png.
    with warnings.catch_warnings(), matplotlib.rc_context():
        warnings.simplefilter("ignore", ExperimentalWarning)
        figure = np.ravel(view(study))[0].figure
        width, height = figure.get_size_inches()
        figure.set_size_inches(max(width, min_width), height)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
        pyplot.close(figure)
    return buffer.getvalue()
