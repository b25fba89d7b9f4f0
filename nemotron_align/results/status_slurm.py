"""What Slurm's accounting says of a sweep's jobs: one `sacct` call for all of them.

A job array's task is `<array>_<task>`; sacct prints a task that has not started yet inside its
array's pending line, `<array>_[<ranges>]` (e.g. `123_[2-5,7%2]`), which is expanded here. A
requeued job shows its latest run only (no `--duplicates`). State words after the first ("CANCELLED
by 0") are dropped.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

SACCT_TIMEOUT_S = 30
FIELDS = "JobID,State,ExitCode,Elapsed"
PENDING_TASKS = re.compile(r"(\d+)_\[([0-9,\-]+)(?:%\d+)?\]")


@dataclass(frozen=True)
class SlurmState:
    state: str
    # sacct's "<exit status>:<signal>".
    exit_code: str
    elapsed: str


class SacctFailed(Exception):
    """sacct ran and failed (e.g. no accounting database): the states are unknown."""


def sacct_states(job_ids: list[str]) -> dict[str, SlurmState] | None:
    """Each job id's state; None where sacct is not installed. Ids sacct does not know (yet)
    are missing from the answer."""
    sacct = shutil.which("sacct")
    if sacct is None:
        return None
    if not job_ids:
        return {}  # `-j ""` would list every job
    argv = [sacct, "-n", "-P", "-X", "-o", FIELDS, "-j", ",".join(sorted(set(job_ids)))]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=SACCT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise SacctFailed(f"sacct did not answer within {SACCT_TIMEOUT_S} s") from err
    if done.returncode != 0:
        raise SacctFailed(f"sacct exited {done.returncode}: {done.stderr.strip()[:500]}")
    return parse_sacct(done.stdout, set(job_ids))


def parse_sacct(text: str, wanted: set[str]) -> dict[str, SlurmState]:
    states: dict[str, SlurmState] = {}
    for line in text.splitlines():
        fields = line.split("|")
        if len(fields) != len(FIELDS.split(",")):
            continue
        job_id, state, exit_code, elapsed = fields
        found = SlurmState((state.split() or ["UNKNOWN"])[0], exit_code, elapsed)
        for one in _job_ids(job_id):
            if one in wanted:
                states[one] = found
    return states


def _job_ids(shown: str) -> list[str]:
    match = PENDING_TASKS.fullmatch(shown)
    if not match:
        return [shown]
    array, ranges = match.groups()
    tasks: list[int] = []
    for part in ranges.split(","):
        first, _, last = part.partition("-")
        tasks.extend(range(int(first), int(last or first) + 1))
    return [f"{array}_{task}" for task in tasks]
