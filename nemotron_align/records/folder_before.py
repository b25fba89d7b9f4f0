"""A run folder as it was before this launch wrote to it, and how to put it back."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FolderBefore:
    """A run folder before this launch: absent, or its entries and its Hydra record's bytes."""

    run_dir: Path
    existed: bool
    entries: frozenset[str]
    record_dir: Path | None
    record: dict[str, bytes] | None

    @classmethod
    def take(cls, run_dir: Path, output_subdir: str | None) -> FolderBefore:
        record_dir = run_dir / output_subdir if output_subdir is not None else None
        record = None
        if record_dir is not None and record_dir.is_dir():
            record = {p.name: p.read_bytes() for p in record_dir.iterdir() if p.is_file()}
        existed = run_dir.is_dir()
        entries = frozenset(p.name for p in run_dir.iterdir()) if existed else frozenset()
        return cls(run_dir, existed, entries, record_dir, record)

    def restore(self, holding_the_folder: bool = True) -> None:
        """Put the record's files back as they were and remove what this launch added. Without
        the folder's lock, only the record: what else is new there is the holder's."""
        logging.shutdown()  # Hydra's log handler holds the log file open
        if not holding_the_folder:
            if self.record_dir is not None and self.record is not None:
                self._restore_record(self.record_dir, self.record)
            return
        if not self.existed:
            shutil.rmtree(self.run_dir, ignore_errors=True)
            return
        if self.record_dir is not None:
            if self.record is None:
                shutil.rmtree(self.record_dir, ignore_errors=True)
            else:
                self._restore_record(self.record_dir, self.record)
        for path in self.run_dir.iterdir():
            if path.name not in self.entries:
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    @staticmethod
    def _restore_record(record_dir: Path, record: dict[str, bytes]) -> None:
        record_dir.mkdir(exist_ok=True)
        for path in record_dir.iterdir():
            if path.name not in record and path.is_file():
                path.unlink()
        for name, data in record.items():
            path = record_dir / name
            if not path.is_file() or path.read_bytes() != data:
                path.write_bytes(data)
