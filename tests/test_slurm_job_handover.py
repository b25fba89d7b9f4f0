"""The sweep hands each job, its launcher params resolved once, to the task that makes it ready."""

from __future__ import annotations

from pathlib import Path

import pytest

from nemotron_align.launchers.context import SlurmJob
from nemotron_align.slurm.job_handover import handing_over, job_being_made_ready


def test_the_job_is_there_while_its_task_runs_only(tmp_path: Path) -> None:
    job = SlurmJob(params={"partition": "debug"}, sweep_dir=tmp_path, num=3)
    assert job_being_made_ready() is None
    with handing_over(job):
        assert job_being_made_ready() is job
    assert job_being_made_ready() is None


def test_a_task_that_raises_leaves_no_job_behind(tmp_path: Path) -> None:
    job = SlurmJob(params={}, sweep_dir=tmp_path, num=0)
    with pytest.raises(RuntimeError), handing_over(job):
        raise RuntimeError("task failed")
    assert job_being_made_ready() is None
