"""Check a run's local JSONL data before launch (dry runs included): every row, streamed.

Only local files of formats we know are checked; Hugging Face datasets and other classes are
named in a note and left to NeMo-RL. A local file NeMo-RL would read with another reader than
JSON, by its extension, is refused when its rows cannot come out right (data_format). Paths are
already absolute against the launcher's cwd (data_paths), except a recipe's root-relative ones,
checked at <NeMo-RL root>/<path> (or named in a warning where that root is not on this machine).
NeMo-Gym rows are checked by gym_preflight, which also knows the agents and the row shapes the
Gym runner rewrites. Every local train file must fill one global batch: NeMo-RL's train
dataloader drops the incomplete last batch, so a smaller file trains no step at all.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

from nemotron_align.config.data_paths import (
    DATASET_KEYS,
    FILE_KEYS,
    is_local_path,
    is_root_relative,
)
from nemotron_align.errors import LaunchRejected, not_a_file
from nemotron_align.gym.rows import split_settings
from nemotron_align.io.jsonl import count_rows
from nemotron_align.preflight.data_check import check_file
from nemotron_align.preflight.data_format import format_problem, reader_of
from nemotron_align.preflight.data_report import DataReport
from nemotron_align.preflight.data_rows import DEFAULT_KEYS
from nemotron_align.preflight.pairing import GYM_DATASET, Trainer

log = logging.getLogger("nemotron_align")

# NeMo-RL dataset class → (our check kind, the key settings it reads).
KINDS = {
    "BinaryPreferenceDataset": ("preference", ("prompt_key", "chosen_key", "rejected_key")),
    "ResponseDataset": ("response", ("input_key", "output_key")),
}


def check_data(
    config: dict[str, Any], trainer: Trainer, root: Path | None = None
) -> tuple[list[LaunchRejected], list[str]]:
    """(errors, warnings rendered). `root`: the NeMo-RL root a recipe run's relative paths are
    read from (data_paths); None for other runs, whose relative prompt files are left to NeMo-RL."""
    problems: list[LaunchRejected] = []
    warnings: list[str] = []
    splits = {
        split: _as_seen_here(f"data.{split}", settings, root, warnings)
        for split, settings in split_settings(config["data"]).items()
    }
    train_rows: int | None = None
    for split, settings in splits.items():
        key = f"data.{split}"
        problems += _prompt_file_problems(key, settings)
        report = _split_report(key, settings, problems)
        if report is None:
            continue
        if split == "train":
            train_rows = report.rows
        log.info("%s", report.render().splitlines()[0])
        warnings += [warning.render() for warning in report.warnings]
        problems += report.rejections()
    train = splits.get("train", {})
    if train.get("dataset_name") == GYM_DATASET and Path(train.get("data_path") or "").is_file():
        train_rows = count_rows(train["data_path"])
    if train_rows is not None:
        problems += _batch_fit_problems(config, trainer, train.get("data_path"), train_rows)
    return problems, warnings


def _as_seen_here(
    key: str, settings: dict[str, Any], root: Path | None, warnings: list[str]
) -> dict[str, Any]:
    """A split's settings with each root-relative local path (data_paths) at <root>/<path>. Where
    the root is not on this machine (a container's, or a dry run without NeMo-RL) the file
    cannot be checked: it is dropped from what is checked, and a warning says so."""
    if root is None:
        return settings
    seen = dict(settings)
    for name in DATASET_KEYS + FILE_KEYS:
        value = settings.get(name)
        if not (isinstance(value, str) and value and is_root_relative(value)):
            continue
        if name in DATASET_KEYS and not is_local_path(value, root):
            continue  # a Hugging Face dataset id
        if root.is_dir():
            seen[name] = str(root / value)
        else:
            seen[name] = None
            warnings.append(
                f"warning: {key}.{name}: {value} is read from the NeMo-RL root {root}, which is "
                "not on this machine; the file is not checked here"
            )
    return seen


def _split_report(
    key: str, settings: dict[str, Any], problems: list[LaunchRejected]
) -> DataReport | None:
    """The data check of one split's file; None where it is not ours to check, or where it
    cannot be read as JSON rows (that problem appended to `problems`)."""
    name, path = settings.get("dataset_name"), settings.get("data_path")
    if name not in KINDS or not path:
        if name not in KINDS and name not in (None, GYM_DATASET):
            log.info("%s: %s is loaded by NeMo-RL itself; its rows are not checked here", key, name)
        return None
    if not is_local_path(path, Path.cwd()):
        log.info("%s.data_path: %s is loaded from the Hugging Face Hub; not checked", key, path)
        return None
    if not Path(path).is_file():
        problems.append(
            LaunchRejected(
                f"{key}.data_path", not_a_file(path), "point it at an existing local JSONL file"
            )
        )
        return None
    kind, key_names = KINDS[name]
    keys = {k: settings[k] for k in key_names if settings.get(k)}
    columns = {**DEFAULT_KEYS[kind], **keys}.values()
    unreadable = format_problem(f"{key}.data_path", Path(path), columns)
    if unreadable:
        problems.append(unreadable)
        return None
    if reader_of(Path(path)) != "json":
        log.info("%s.data_path: %s is read by NeMo-RL's own reader; not checked", key, path)
        return None
    stat = Path(path).stat()
    return _check_file(
        str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, kind, tuple(keys.items())
    )


def _prompt_file_problems(key: str, settings: dict[str, Any]) -> list[LaunchRejected]:
    """NeMo-RL reads these files when it builds the dataset, and fails if one is missing. A
    relative one still here names a file of the NeMo-RL checkout (data_paths), left to NeMo-RL."""
    return [
        LaunchRejected(
            f"{key}.{name}",
            f"{settings[name]} does not exist",
            f"point it at an existing text file, or set {key}.{name}=null",
        )
        for name in FILE_KEYS
        if settings.get(name)
        and Path(settings[name]).is_absolute()
        and not Path(settings[name]).is_file()
    ]


@functools.lru_cache(maxsize=64)
def _check_file(
    path: str, size: int, mtime_ns: int, kind: str, keys: tuple[tuple[str, str], ...]
) -> DataReport:
    """One check per file as it is now: the jobs of a sweep share their data files."""
    return check_file(path, kind, keys=dict(keys))  # type: ignore[arg-type]


def _global_batch(config: dict[str, Any], trainer: Trainer) -> tuple[str, str, Any] | None:
    """(key, what a row is, rows) of one global batch; None where batches come from several
    datasets, each with its own size."""
    if trainer is Trainer.dpo:
        return (
            "policy.train_global_batch_size",
            "preference pairs",
            config["policy"]["train_global_batch_size"],
        )
    grpo = config["grpo"]
    if config["data"].get("use_multiple_dataloader"):
        return None
    key, batch = "grpo.num_prompts_per_step", grpo["num_prompts_per_step"]
    if grpo.get("use_dynamic_sampling"):
        key, batch = f"{key} x grpo.batch_multiplier", batch * grpo["batch_multiplier"]
    return key, "prompts", batch


def batch_rows_needed(config: dict[str, Any], trainer: Trainer) -> int:
    """Rows the train file needs for one step (0 where that is not known here)."""
    batch = _global_batch(config, trainer)
    return batch[2] if batch and isinstance(batch[2], int) else 0


def _batch_fit_problems(
    config: dict[str, Any], trainer: Trainer, path: str, rows: int
) -> list[LaunchRejected]:
    batch_of = _global_batch(config, trainer)
    if batch_of is None:
        return []
    key, what, batch = batch_of
    if not isinstance(batch, int) or rows >= batch:
        return []
    return [
        LaunchRejected(
            "data.train.data_path",
            f"{path} has {rows:,} {what}, fewer than one global batch ({key} = {batch:,}); "
            "NeMo-RL drops the incomplete batch, so this run would train no step",
            f"use at least {batch:,} rows, or lower {key} to {rows:,} or less",
        )
    ]
