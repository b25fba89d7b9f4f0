"""Turn a configuration Hydra refused into every problem, each with a fix (exit status 2).

Hydra stops at the first bad override. When that happens, the overrides are composed again here
one problem at a time, so that all of them are named, each with what to write instead: the
quoting the override grammar needs (override_grammar), the values a typed key takes, the options
of a config group, a did-you-mean for a misspelled key (override_problems). `fault` turns an error
no check foresaw into what the user can act on.
"""

from __future__ import annotations

import errno
import re

from hydra import compose
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.override_grammar import grammar_problem, sweep_problem
from nemotron_align.config.override_problems import (
    FULL_KEY,
    MISSING_OPTION,
    error_text,
    group_options,
    override_problem,
)
from nemotron_align.config.render import unresolvable
from nemotron_align.errors import LaunchRejected

# Hydra's messages that name the key of the override they refuse.
_NAMED_KEY = re.compile(
    r"(?:Could not override|An item is already at|Could not delete from config\.) '([^']+)'"
)
_MAX_ROUNDS = 50


def _compose(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_app_config():
        return compose(config_name="config", overrides=overrides)


def diagnose(argv: list[str]) -> list[LaunchRejected]:
    """Every problem in the command line's overrides (empty when they compose)."""
    args = get_args_parser().parse_args(argv)
    if args.config_path or args.config_dir or args.config_name:
        return []  # composed from another primary config (a relaunch): Hydra's message stands
    parser = OverridesParser.create()
    remaining = [o for o in args.overrides if not o.lstrip("+~").startswith("hydra")]
    problems, sweeps = _parse(remaining, parser)
    if problems:
        return problems
    if sweeps and not args.multirun and not _multirun_by_config(args.overrides, sweeps):
        problems = [_sweep_problem(o) for o in remaining if o in sweeps]
    return problems + _compose_problems(_one_value_each(remaining, sweeps, parser))


def _parse(overrides: list[str], parser: OverridesParser) -> tuple[list[LaunchRejected], set[str]]:
    """(grammar problems, the overrides that sweep)."""
    problems: list[LaunchRejected] = []
    sweeps = set()
    for override in overrides:
        try:
            if parser.parse_override(override).is_sweep_override():
                sweeps.add(override)
        except Exception as err:
            problems.append(grammar_problem(override, err))
    return problems, sweeps


def _compose_problems(remaining: list[str]) -> list[LaunchRejected]:
    """Compose, name the override that fails, drop it, again until the rest composes."""
    problems: list[LaunchRejected] = []
    for _ in range(_MAX_ROUNDS):
        try:
            _compose(remaining)
            return problems
        except Exception as err:
            culprit = _culprit(remaining, err)
            if culprit is None:
                problems.append(override_problem("", err, None))
                return problems
            rest = [o for o in remaining if o != culprit]
            try:  # the config tree the culprit was meant for: its group choices only
                cfg = _compose([o for o in rest if "." not in o.split("=", 1)[0]])
            except Exception:
                cfg = None
            problems.append(override_problem(culprit, err, cfg))
            remaining = rest
    return problems


def _multirun_by_config(overrides: list[str], sweeps: set[str]) -> bool:
    """Whether the config itself is a multirun (sweep=..., cluster=slurm, hydra.mode=MULTIRUN)."""
    chosen = [o for o in overrides if o not in sweeps and "." not in o.split("=", 1)[0]]
    modes = [o for o in overrides if o.startswith("hydra.mode=")]
    GlobalHydra.instance().clear()
    try:
        with initialize_app_config():
            cfg = compose(config_name="config", overrides=chosen + modes, return_hydra_config=True)
    except Exception:  # what fails is named on its own
        return False
    return cfg.hydra.mode == RunMode.MULTIRUN


def _sweep_problem(override: str) -> LaunchRejected:
    return sweep_problem(override, group_options(override.partition("=")[0].lstrip("+~")))


def _values(override: str, parser: OverridesParser) -> list[str]:
    parsed = parser.parse_override(override)
    return [f"{parsed.get_key_element()}={v}" for v in parsed.sweep_string_iterator()]


def _one_value_each(overrides: list[str], sweeps: set[str], parser: OverridesParser) -> list[str]:
    """A sweep is checked value by value: one override per value."""
    return [v for o in overrides for v in (_values(o, parser) if o in sweeps else [o])]


def _culprit(overrides: list[str], err: Exception) -> str | None:
    """The override Hydra's error is about; None when the config fails without any."""
    text = error_text(err)
    named = next((o for o in overrides if _names(text, o)), None)
    if named is not None:
        return named
    # Named nowhere (an interpolation the override breaks): the one without which it composes.
    for override in overrides:
        try:
            _compose([o for o in overrides if o != override])
            return override
        except Exception:
            continue
    return None


def _names(text: str, override: str) -> bool:
    """Whether Hydra's error text names `override`, by its key or as written."""
    key = override.split("=", 1)[0].lstrip("+~")
    full_key = FULL_KEY.search(text)
    if (
        full_key
        and key == full_key.group(1)
        and (f"override {override}" in text or "Error merging" not in text)
    ):
        return True
    option = MISSING_OPTION.search(text)
    if option and key == option.group(1) and override.endswith(f"={option.group(2)}"):
        return True
    if f"'{override}'" in text or f"override {override}" in text:
        return True
    named = _NAMED_KEY.search(text)
    return bool(named and key == named.group(1))


# errno → (problem, fix) of a file the launcher could not make or write.
_OS_FAULTS = {
    errno.ENOSPC: (
        "no space left on the device",
        "free space there, or launch into a folder on another file system (hydra.run.dir=...)",
    ),
    errno.EDQUOT: (
        "the disk quota is used up",
        "free space there, or launch into a folder on another file system (hydra.run.dir=...)",
    ),
    errno.ENAMETOOLONG: (
        "the path is too long (a file system takes names of at most 255 bytes)",
        "choose a shorter hydra.run.dir",
    ),
    errno.ENOTDIR: (
        "a part of this path is a file, not a folder",
        "choose a hydra.run.dir whose parent folders are folders",
    ),
    errno.EEXIST: (
        "is a file, not a folder",
        "choose another hydra.run.dir, or move the file away",
    ),
    errno.EACCES: (
        "permission denied",
        "launch into a folder you can write (hydra.run.dir=...), or fix its permissions",
    ),
    errno.EPERM: (
        "operation not permitted",
        "launch into a folder you can write (hydra.run.dir=...), or fix its permissions",
    ),
    errno.EROFS: (
        "the file system is read-only",
        "launch into a folder on a writable file system (hydra.run.dir=...)",
    ),
}


def fault(err: BaseException, run_dir: str) -> LaunchRejected:
    """An error no check foresaw, as the user can act on it: a file in `run_dir` that cannot be
    written, an interpolation that cannot be resolved; anything else is the launcher's bug."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, (OSError, OmegaConfBaseException)):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, OSError):
        where = str(cause.filename) if cause.filename is not None else run_dir
        problem, fix = _OS_FAULTS.get(
            cause.errno or 0,
            (
                cause.strerror or str(cause),
                "check the path and its file system, or launch into another folder "
                "(hydra.run.dir=...)",
            ),
        )
        return LaunchRejected(where, problem, fix)
    if isinstance(cause, OmegaConfBaseException):
        return unresolvable(cause)
    return LaunchRejected(
        "nemotron_align",
        f"unexpected {type(err).__name__}: {err}",
        "this is a bug in the launcher: run again with HYDRA_FULL_ERROR=1 for the traceback, "
        "and report it",
    )
