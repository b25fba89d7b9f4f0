"""Many jobs of a sweep made ready in one process, each as Hydra itself would run it.

Hydra composes and runs a job at a cost that is small once and large sixty-four times: this
module keeps the composition Hydra's sweeper already made, parses each config file once, and runs
a job's task without copying its whole config twice.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import dataclasses
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hydra._internal.core_plugins.file_config_source import FileConfigSource
from hydra._internal.core_plugins.importlib_resources_config_source import (
    ImportlibResourcesConfigSource,
)
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import _save_config, env_override
from hydra.plugins.config_source import ConfigResult
from hydra.types import TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from nemotron_align.slurm.job_handover import handing_over

if TYPE_CHECKING:
    from nemotron_align.launchers.context import SlurmJob


class JobComposer:
    """Compose many jobs in one process cheaply.

    Hydra's sweeper composes every job of a batch to validate it, then the launcher composes it
    again: what the sweeper composed (and only read) is kept for the launch, one per job. And
    every composition parses each config file anew, which is most of its cost: each file is
    parsed once per process, and later loads get a deep copy (several times cheaper than parsing;
    a copy, because Hydra edits what it loads).
    """

    def __init__(self, loader: Any) -> None:
        self._compose = loader.load_sweep_config
        self._validated: dict[tuple[str, ...], collections.deque[DictConfig]] = {}
        loader.load_sweep_config = self._validate
        for source in (ImportlibResourcesConfigSource, FileConfigSource):
            if not hasattr(source.load_config, "parsed"):
                source.load_config = _parsed_once(source.load_config)

    def _validate(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        config = self._compose(master_config, sweep_overrides)
        self._validated.setdefault(tuple(sweep_overrides), collections.deque()).append(config)
        return config

    def __call__(self, master_config: DictConfig, sweep_overrides: list[str]) -> DictConfig:
        kept = self._validated.get(tuple(sweep_overrides))
        return kept.popleft() if kept else self._compose(master_config, sweep_overrides)


def _parsed_once(load: Callable[[Any, str], ConfigResult]) -> Callable[[Any, str], ConfigResult]:
    parsed: dict[tuple[str, str], ConfigResult] = {}

    def load_config(source: Any, config_path: str) -> ConfigResult:
        key = (source.path, config_path)
        if key not in parsed:
            parsed[key] = load(source, config_path)
        first = parsed[key]
        return dataclasses.replace(
            first, config=copy.deepcopy(first.config), header=dict(first.header)
        )

    load_config.parsed = parsed  # type: ignore[attr-defined]
    return load_config


def run_task(
    task_function: TaskFunction, config: DictConfig, job_dir: Path, job: SlurmJob
) -> Exception | None:
    """What Hydra's run_job does for a job (its output dir, HydraConfig, the .hydra record,
    hydra.job.env_set, the task), less its two deep copies of the whole config, which cost
    a sweep of many jobs more than anything else here. The task finds `job` with
    job_being_made_ready(). Returns what the task raised."""
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = str(job_dir.resolve())
    previous = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(config)
    try:
        task_cfg = OmegaConf.masked_copy(config, [k for k in config if k != "hydra"])
        if config.hydra.output_subdir is not None:
            record = job_dir / str(config.hydra.output_subdir)
            _save_config(task_cfg, "config.yaml", record)
            _save_config(HydraConfig.instance().cfg, "hydra.yaml", record)
            _save_config(config.hydra.overrides.task, "overrides.yaml", record)
        with env_override(dict(config.hydra.job.env_set)), handing_over(job):
            task_function(task_cfg)
    except Exception as err:
        return err
    finally:
        HydraConfig.instance().cfg = previous
    return None


@contextlib.contextmanager
def job_log(job_dir: Path, config: DictConfig) -> Iterator[None]:
    """While a job is made ready, what it logs goes to its own log file only, in the format of
    the job logging config; the terminal shows the sweep's own lines."""
    job_dir.mkdir(parents=True, exist_ok=True)
    fmt = OmegaConf.select(config, "hydra.job_logging.formatters.file.format")
    handler = logging.FileHandler(job_dir / f"{config.hydra.job.name}.log", delay=True)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    kept, level = root.handlers[:], root.level
    root.handlers, root.level = [handler], logging.INFO
    try:
        yield
    finally:
        handler.close()
        root.handlers, root.level = kept, level
