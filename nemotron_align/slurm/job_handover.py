"""The Slurm job whose task runs now, handed from the sweep to the task.

The sweep resolves each job's hydra.launcher once (it groups jobs by them); the task (cli.app,
called by slurm.compose.run_task) takes them from here instead of resolving them again. Outside a
Slurm sweep there is none, and the task launches locally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nemotron_align.launchers.context import SlurmJob

_job_being_made_ready: ContextVar[SlurmJob | None] = ContextVar(
    "job_being_made_ready", default=None
)


@contextlib.contextmanager
def handing_over(job: SlurmJob) -> Iterator[None]:
    """While the task of `job` runs."""
    token = _job_being_made_ready.set(job)
    try:
        yield
    finally:
        _job_being_made_ready.reset(token)


def job_being_made_ready() -> SlurmJob | None:
    """The Slurm job whose task runs now; None outside a Slurm sweep."""
    return _job_being_made_ready.get()
