"""<run folder>/launch.json: what was launched, from where, with which NeMo-RL."""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nemotron_align import __version__
from nemotron_align.io.secret_env import redact, write_record

LAUNCH_JSON = "launch.json"


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class LaunchRecord:
    argv: list[str]
    cwd: str
    mode: str
    dry_run: bool
    nemo_rl_root: str
    nemo_rl_version: str | None
    # The release the config was composed for (the `nemo_rl` config group).
    nemo_rl_release: str
    nemo_rl_commit: str | None
    python: list[str]
    overrides: list[str]
    env: dict[str, str]
    relaunch: list[str] | None
    # A relaunch: the run folder whose Hydra record it was composed from (null otherwise).
    relaunched_from: str | None = None
    # The NeMo-RL recipe the config started from (recipe=<path>), absolute; null for our algos.
    recipe: str | None = None
    nemotron_align_version: str = __version__
    launcher_python: str = field(default_factory=lambda: sys.executable)
    # Where the launcher (exec: NeMo-RL itself) runs.
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    # None until the run starts (a Slurm job's record is written at submission).
    start_time: str | None = field(default_factory=now_iso)
    end_time: str | None = None
    exit_code: int | None = None
    error: str | None = None
    # What the checks found that does not stop the launch, rendered ("warning: ..."); in a dry
    # run also what would stop the real one (e.g. no NeMo-RL at the root).
    warnings: list[str] = field(default_factory=list)
    # The run folder's one MLflow run, handed to NeMo-RL as MLFLOW_RUN_ID (records/mlflow_identity).
    mlflow_run_id: str | None = None
    # Records of earlier launches of the same run folder (relaunches), oldest first; see
    # unrecorded_status for the "status" one may get.
    previous_launches: list[dict[str, Any]] = field(default_factory=list)
    # Lineage (nemotron_align.records.lineage): the data files and models the run starts from,
    # and, after it, what it left (nemotron_align.results.export_hf).
    consumed: dict[str, Any] | None = None
    produced: dict[str, Any] | None = None
    # launch.export_hf=best|last: which checkpoint, the converter's argv and exit code, times.
    export_hf: dict[str, Any] | None = None

    @classmethod
    def read(cls, run_dir: Path) -> LaunchRecord:
        return cls(**json.loads((run_dir / LAUNCH_JSON).read_text()))

    def begin(self, run_dir: Path, argv: list[str], python: list[str]) -> None:
        """A submitted job starts on its node: a record that started before (a requeued job)
        moves into previous_launches."""
        if self.start_time is not None:
            earlier = asdict(self)
            self.previous_launches = [*earlier.pop("previous_launches"), _with_status(earlier)]
            self.end_time = self.exit_code = self.error = None
            self.produced = self.export_hf = None
        self.argv, self.python = argv, python
        self.launcher_python = sys.executable
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.start_time = now_iso()
        self.write(run_dir)

    def keep_history(self, run_dir: Path) -> None:
        """Carry the folder's earlier launch records into this one."""
        try:
            earlier = json.loads((run_dir / LAUNCH_JSON).read_text())
        except (OSError, ValueError):
            return
        self.previous_launches = [*earlier.pop("previous_launches", []), _with_status(earlier)]

    def ended_unrecorded(self) -> bool:
        """The run started but its end was never recorded (read while holding the folder's lock:
        its launcher is gone)."""
        return unrecorded_status(asdict(self)) is not None

    def write(self, run_dir: Path) -> None:
        data: dict[str, Any] = asdict(self)
        data["env"] = redact(self.env)
        write_record(run_dir / LAUNCH_JSON, data)

    def finish(self, run_dir: Path, exit_code: int) -> None:
        self.end_time = now_iso()
        self.exit_code = exit_code
        self.write(run_dir)


def unrecorded_status(record: dict[str, Any]) -> str | None:
    """A run that started and recorded no end: "crashed" where the launcher supervised it (it
    records every end it sees), "unrecorded" in exec mode (nothing is left to record the end of
    the process NeMo-RL replaced)."""
    started = record.get("start_time") and not record.get("dry_run")
    if not started or any(record.get(k) is not None for k in ("end_time", "exit_code", "error")):
        return None
    return "unrecorded" if record.get("mode") == "exec" else "crashed"


def _with_status(record: dict[str, Any]) -> dict[str, Any]:
    status = unrecorded_status(record)
    return {**record, "status": status} if status else record
