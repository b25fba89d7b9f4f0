"""What one launch learns on both sides of Hydra's boundary.

Hydra builds the callbacks (RecordGuard, SweepRecorder) and calls the task itself, so nothing can
be handed to them: main() starts a RunState with `begin()`, the task and the callbacks report into
`current()`, and main() reads the same object once Hydra returns or raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nemotron_align.records.folder_before import FolderBefore


@dataclass
class RunState:
    # Set once Hydra has composed a config and called the task: a later failure is not Hydra's.
    task_started: bool = False
    # The single run's folder before Hydra wrote to it (RecordGuard).
    before: FolderBefore | None = None
    # A multirun's exit status (SweepRecorder): 0 when every job succeeded (or, in a dry run,
    # passed its checks), 2 when every job was rejected before it started, else 1.
    sweep_exit_status: int = 0

    def before_of(self, run_dir: Path) -> FolderBefore | None:
        """The folder as it was before this launch, when the guard saw it."""
        if self.before is None or self.before.run_dir != run_dir.absolute():
            return None
        return self.before


_current = RunState()


def begin() -> RunState:
    """A fresh state for the launch main() is about to run."""
    global _current
    _current = RunState()
    return _current


def current() -> RunState:
    return _current
