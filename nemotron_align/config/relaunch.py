"""A relaunch: the run composed again from its Hydra record (<run folder>/.hydra), as the command
in launch.json ("relaunch") does.

The record's config.yaml has no defaults list, so on its own Hydra would compose it with Hydra's
default settings (job `cli`, `cli.log` in Hydra's format). The command line of a relaunch is
completed here with the launcher's job name and logging; and, into the folder of the record
itself, with no new record, which would replace the one relaunched from. Into any other folder,
Hydra writes that folder's own record, so it can be relaunched in turn.
"""

from __future__ import annotations

from pathlib import Path

from hydra._internal.utils import get_args_parser
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from nemotron_align.config.location import CONFIG_PATH

# As conf/hydra/default.yaml sets them for a launch from the app's own configs.
JOB_NAME = "nemotron_align"
JOB_LOGGING = "launcher"


def is_record(path: Path) -> bool:
    """A folder Hydra wrote for a run (its output_subdir)."""
    return (path / "config.yaml").is_file() and (path / "overrides.yaml").is_file()


def relaunch_args(args: list[str]) -> list[str]:
    """The command line, completed when it composes from a run's record (--config-path)."""
    parsed = get_args_parser().parse_args(args)
    if parsed.config_path is None or not Path(parsed.config_path).is_absolute():
        return args
    record = Path(parsed.config_path)
    if not is_record(record):
        return args
    search_path = CONFIG_PATH if CONFIG_PATH.startswith("pkg://") else f"file://{CONFIG_PATH}"
    added = {
        "hydra.searchpath": f"['{search_path}']",
        "hydra/job_logging": JOB_LOGGING,
        "hydra.job.name": JOB_NAME,
        # A refused relaunch into another run's folder leaves that run's record as it was.
        "+hydra.callbacks.record_guard": (
            "{_target_:nemotron_align.records.record_guard.RecordGuard}"
        ),
    }
    values = _override_values(parsed.overrides)
    run_dir = values.get("hydra.run.dir")
    if run_dir is not None and Path(run_dir).resolve() == record.resolve().parent:
        added["hydra.output_subdir"] = "null"
    # What the command line sets itself stays as it is.
    return [*args, *(f"{key}={value}" for key, value in added.items() if key not in values)]


def _override_values(overrides: list[str]) -> dict[str, str]:
    parser = OverridesParser.create()
    values = {}
    for text in overrides:
        try:
            override = parser.parse_override(text)
        except Exception:  # Hydra reports it when it parses the command line itself
            continue
        values[override.key_or_group] = str(override.value())
    return values


def composed_from(hydra_cfg: DictConfig) -> Path | None:
    """The record this run was composed from, when it is a relaunch."""
    for source in hydra_cfg.runtime.config_sources:
        if source.provider == "main" and source.schema == "file" and is_record(Path(source.path)):
            return Path(source.path)
    return None
