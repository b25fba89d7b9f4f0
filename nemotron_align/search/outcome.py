"""What a trial's job came to, as Optuna is told it, and as its job folder records it
(`<job>/trial.json`, merged into sweep.json under "trial").

Only a job that succeeded and logged the metric is a score; a failed, crashed, refused or
metric-less job is a failed trial, a job stopped by the pruner a pruned one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from nemotron_align.io.atomic_file import write_atomically
from nemotron_align.records import study_record
from nemotron_align.records.job_record import TRIAL_JSON
from nemotron_align.results.report_rows import Row
from nemotron_align.search.settings import Objective


@dataclass(frozen=True)
class Outcome:
    state: TrialState
    value: float | None
    reason: str | None


def outcome(
    record: dict[str, Any], row: Row | None, pruned: str | None, facts: study_record.StudyFacts
) -> Outcome:
    """`record` is the job's job.json, `row` its report row, `pruned` why the watch stopped it."""
    status = record.get("status")
    if status == "succeeded":
        value = objective(row, facts) if row is not None else None
        if value is None:
            return Outcome(TrialState.FAIL, None, f"its job logged no value of {facts.metric}")
        return Outcome(TrialState.COMPLETE, value, None)
    if pruned or status == "pruned":
        return Outcome(TrialState.PRUNED, None, pruned or record.get("error"))
    code = record.get("exit_code")
    return Outcome(
        TrialState.FAIL, None, record.get("error") or f"its job {status} (exit code {code})"
    )


def objective(row: Row, facts: study_record.StudyFacts) -> float | None:
    if facts.objective == Objective.last.value:
        return row.last
    best = row.best_point(facts.direction == "maximize")
    return best[1] if best else None


def write_trial(job_dir: Path, trial: optuna.trial.FrozenTrial) -> None:
    fields = {
        "number": trial.number,
        "params": trial.params,
        "state": trial.state.name,
        "value": trial.value,
        "reason": trial.user_attrs.get(study_record.REASON),
    }
    write_atomically(job_dir / TRIAL_JSON, json.dumps(fields, indent=2) + "\n")
