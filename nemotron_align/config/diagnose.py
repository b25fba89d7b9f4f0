"""Turn a configuration Hydra refused into every problem, each with a fix (exit status 2).

Hydra stops at the first bad override. When that happens, the overrides are composed again here
one problem at a time, so that all of them are named, each with what to write instead: the
quoting the override grammar needs, the values a typed key takes, the options of a config group,
a did-you-mean for a misspelled key.
"""

from __future__ import annotations

import difflib
import errno
import re
import shlex
from typing import Any

from hydra import compose
from hydra._internal.utils import get_args_parser
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import (
    BooleanNode,
    DictConfig,
    EnumNode,
    FloatNode,
    IntegerNode,
    ListConfig,
    OmegaConf,
    StringNode,
)
from omegaconf.errors import OmegaConfBaseException

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.render import unresolvable
from nemotron_align.errors import LaunchRejected
from nemotron_align.io.secret_env import env_secret_refused, is_secret_name

_FULL_KEY = re.compile(r"full_key: (\S+)")
_MISSING_OPTION = re.compile(r"Could not find '([^']+)/([^']*)'")
_OPTIONS = re.compile(r"^\t(\S+)$", re.MULTILINE)
# Hydra's messages that name the key of the override they refuse.
_NAMED_KEY = re.compile(
    r"(?:Could not override|An item is already at|Could not delete from config\.) '([^']+)'"
)
_MAX_ROUNDS = 50
# Names users reach for, and the NeMo-RL key that holds the setting.
_ALIASES = {
    "dpo.beta": "dpo.reference_policy_kl_penalty",
    "grpo.group_size": "grpo.num_generations_per_prompt",
}


def _compose(overrides: list[str]) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_app_config():
        return compose(config_name="config", overrides=overrides)


def _group_options(group: str) -> list[str]:
    """The options of a config group; empty when `group` is a key, not a group."""
    GlobalHydra.instance().clear()
    with initialize_app_config():
        return GlobalHydra.instance().config_loader().get_group_options(group)


def _keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return []
    found = []
    for key in node:
        path = f"{prefix}.{key}" if prefix else str(key)
        found.append(path)
        found.extend(_keys(node._get_node(key), path))
    return found


def suggest_key(key: str, cfg: DictConfig) -> str | None:
    """The closest existing key: a name users reach for, a sibling, then anywhere."""
    alias = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.8)
    if alias and OmegaConf.select(cfg, _ALIASES[alias[0]]) is not None:
        return _ALIASES[alias[0]]
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if isinstance(node, DictConfig):
        close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
        if close:
            return f"{parent}.{close[0]}" if parent else close[0]
    others = [k for k in _keys(cfg) if not key.startswith(f"{k}.")]
    close = difflib.get_close_matches(key, others, n=1, cutoff=0.75)
    return close[0] if close else None


def _text(err: BaseException) -> str:
    """The message with its causes: Hydra wraps OmegaConf's error, which names the full key."""
    parts = []
    while err is not None and not isinstance(err, SystemExit) and len(parts) < 5:
        parts.append(str(err))
        err = err.__cause__ or err.__context__
    return "\n".join(parts)


def _what_is_wrong(text: str) -> str:
    """OmegaConf's line when there is one: Hydra's own says only which override it was."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = [
        line
        for line in lines
        if not line.startswith(("Error merging override", "full_key:", "object_type="))
        and "$VALUE" not in line  # OmegaConf's unformatted copy of the message
    ]
    return (said or lines)[0]


def _literal(value: Any) -> str | None:
    """A value as an override writes it; None for one that would not make a good example."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        return "[" + ",".join(str(v) for v in value) + "]"
    return None


def _takes(key: str, cfg: DictConfig | None) -> str | None:
    """What a typed key takes, as the fix says it; None where the config does not type it."""
    parent, _, leaf = key.rpartition(".")
    container = OmegaConf.select(cfg, parent) if cfg is not None and parent else cfg
    if not isinstance(container, DictConfig) or leaf not in container:
        return None
    node = container._get_node(leaf)
    null = " (or null)" if node._is_optional() else ""
    if isinstance(node, EnumNode):
        return f"set {key} to one of: {', '.join(m.name for m in node.enum_type)}{null}"
    if isinstance(node, BooleanNode):
        return f"set {key} to true or false"
    if isinstance(node, ListConfig):
        example = _literal(OmegaConf.to_container(node)) if not node._is_none() else None
        return f"set {key} to a list{null}, e.g. {key}={example or '[a,b]'}"
    if isinstance(node, DictConfig):
        return (
            f"set {key} to a mapping, e.g. {key}={{NAME:value}}, or one entry of it: "
            f"+{key}.NAME=value"
        )
    kinds = {IntegerNode: "a whole number", FloatNode: "a number", StringNode: "a string"}
    kind = next((name for cls, name in kinds.items() if isinstance(node, cls)), None)
    if kind is None:
        return None
    example = _literal(node._value())
    return f"set {key} to {kind}{null}" + (f", e.g. {key}={example}" if example else "")


def _group_problem(override: str, group: str, options: list[str], text: str) -> LaunchRejected:
    listed = f"options: {', '.join(options)}"
    value = override.partition("=")[2]
    if override.startswith("~"):
        return LaunchRejected(
            group,
            f"the config needs a choice of {group}; it cannot be deleted",
            f"pick one instead, {group}=<option>; {listed}",
        )
    if override.startswith("+") and not override.startswith("++"):
        return LaunchRejected(
            group,
            "is chosen in the defaults already; + adds a group that is not",
            f"drop the +: {override[1:]}",
        )
    if value.startswith("["):
        return LaunchRejected(
            group,
            f"a config group takes one option per run, not a list ({override})",
            f"pick one, {group}=<option> ({listed}), or run one job per option: "
            f"-m {group}={value.strip('[]')}",
        )
    if "No match in the defaults list" in text:
        return LaunchRejected(
            group,
            "is not a group this config picks from",
            f"pick from the groups `--help` lists; to add a {group} config on purpose, "
            f"write +{override}",
        )
    return LaunchRejected(
        group, text.strip().splitlines()[0], f"pick one option, {group}=<option>; {listed}"
    )


def _problem(override: str, err: Exception, cfg: DictConfig | None) -> LaunchRejected:
    text = _text(err)
    option = _MISSING_OPTION.search(text)
    if option:
        group, name = option.groups()
        options = _OPTIONS.findall(text)
        close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
        hint = f"did you mean {group}={close[0]}? " if close else ""
        return LaunchRejected(
            f"{group}={name}",
            f"no such option in config group '{group}'" if name else "names no option",
            f"{hint}options: {', '.join(options)}",
        )
    if not override:
        return LaunchRejected(
            "config",
            text.strip().splitlines()[0],
            "no override causes this: the config files themselves fail to compose "
            "(--info defaults lists them)",
        )
    name = override.split("=", 1)[0].lstrip("+~")
    options = _group_options(name)
    if options:
        return _group_problem(override, name, options, text)
    full_key = _FULL_KEY.search(text)
    key = full_key.group(1) if full_key else name
    env_name = key.removeprefix("launch.env.")
    if env_name != key and is_secret_name(env_name):
        # Adding it with + would only be refused in turn.
        return env_secret_refused(env_name)
    if "not in struct" in text or "not in '" in text or "does not exist" in text:
        close = suggest_key(key, cfg) if cfg is not None else None
        fix = f"did you mean {close}?" if close else "check the spelling (--cfg job prints keys)"
        if override.startswith("~"):
            return LaunchRejected(key, "is not a key of this config", f"{fix}; or drop {override}")
        return LaunchRejected(
            key,
            "is not a key of this config",
            fix + ("" if close else f"; to add a new key on purpose, write +{override}"),
        )
    if "An item is already at" in text:
        return LaunchRejected(
            key,
            "is in the config already; + adds a key that is not",
            f"drop the +: {override.lstrip('+')} (++{override.lstrip('+')} sets it either way)",
        )
    takes = _takes(key, cfg)
    if "does not support deletion" in text:
        return LaunchRejected(
            key,
            "is a key of a typed section and cannot be deleted",
            f"{takes or f'set {key}'} instead of deleting it",
        )
    return LaunchRejected(
        key, _what_is_wrong(text), takes or f"give {key} a value like the one --cfg job shows"
    )


def _quoted(value: str) -> str:
    """`value` as one quoted string of the override grammar, where a backslash escapes a quote
    (and a backslash before one)."""
    escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\" + m[2] if m[2] else ""), value)
    return f"'{escaped}'"


def _for_shell(arg: str) -> str:
    """In double quotes, which keep single quotes and lone backslashes as they are."""
    if re.search(r'["$`!]|\\[$`"\\\n]|\\$', arg):
        return shlex.quote(arg)
    return f'"{arg}"'


def _unbalanced(value: str) -> bool:
    return any(value.count(a) != value.count(b) for a, b in ("[]", "{}", "()"))


def _grammar_problem(override: str, err: Exception) -> LaunchRejected:
    prefix = override[: len(override) - len(override.lstrip("+~"))]
    key, assigns, value = override[len(prefix) :].partition("=")
    reason = str(err).strip().splitlines()[0]
    problem = f"'{override}' is not valid override grammar ({reason})"
    if not assigns:
        return LaunchRejected(key, problem, f"give it a value, {key}=<value>, or delete it: ~{key}")
    as_string = _for_shell(f"{prefix}{key}={_quoted(value)}")
    if _unbalanced(value):
        fix = (
            f"close the list or dict ({key}=[a,b], {key}={{k:v}}), or, if the value is one "
            f"string, quote it: {as_string}"
        )
    else:
        fix = (
            "quote the value (the grammar reads = , [ ] { } ( ) and quotes in an unquoted one), "
            f"and the whole override for the shell: {as_string}"
        )
    return LaunchRejected(key, problem, fix)


def diagnose(argv: list[str]) -> list[LaunchRejected]:
    """Every problem in the command line's overrides (empty when they compose)."""
    args = get_args_parser().parse_args(argv)
    if args.config_path or args.config_dir or args.config_name:
        return []  # composed from another primary config (a relaunch): Hydra's message stands
    parser = OverridesParser.create()
    remaining = [o for o in args.overrides if not o.lstrip("+~").startswith("hydra")]
    problems: list[LaunchRejected] = []
    sweeps = set()
    for override in remaining:
        try:
            if parser.parse_override(override).is_sweep_override():
                sweeps.add(override)
        except Exception as err:
            problems.append(_grammar_problem(override, err))
    if problems:
        return problems
    if not args.multirun and sweeps and not _multirun_by_config(args.overrides, sweeps):
        problems += [_sweep_problem(o) for o in remaining if o in sweeps]
    # A sweep is checked value by value: one override per value.
    remaining = [v for o in remaining for v in (_values(o, parser) if o in sweeps else [o])]
    for _ in range(_MAX_ROUNDS):
        try:
            _compose(remaining)
            return problems
        except Exception as err:
            culprit = _culprit(remaining, err)
            if culprit is None:
                problems.append(_problem("", err, None))
                return problems
            rest = [o for o in remaining if o != culprit]
            try:  # the config tree the culprit was meant for: its group choices only
                cfg = _compose([o for o in rest if "." not in o.split("=", 1)[0]])
            except Exception:
                cfg = None
            problems.append(_problem(culprit, err, cfg))
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
    key, _, value = override.partition("=")
    name = key.lstrip("+~")
    options = _group_options(name)
    one_run = (
        f"for one run, pick one option ({', '.join(options)})"
        if options
        else f"for one run, give one value, a list ({key}=[{value}]) or a string "
        f"({_for_shell(f'{key}={_quoted(value)}')})"
    )
    return LaunchRejected(
        name,
        f"several values ({value}) make a sweep, one job per value, which runs with -m",
        f"add -m to run one job per value; {one_run}",
    )


def _values(override: str, parser: OverridesParser) -> list[str]:
    parsed = parser.parse_override(override)
    return [f"{parsed.get_key_element()}={v}" for v in parsed.sweep_string_iterator()]


def _culprit(overrides: list[str], err: Exception) -> str | None:
    text = _text(err)
    full_key = _FULL_KEY.search(text)
    option = _MISSING_OPTION.search(text)
    named = _NAMED_KEY.search(text)
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if (
            full_key
            and key == full_key.group(1)
            and (f"override {override}" in text or "Error merging" not in text)
        ):
            return override
        if option and key == option.group(1) and override.endswith(f"={option.group(2)}"):
            return override
        if f"'{override}'" in text or f"override {override}" in text:
            return override
        if named and key == named.group(1):
            return override
    # Named nowhere (an interpolation the override breaks): the one without which it composes.
    for override in overrides:
        try:
            _compose([o for o in overrides if o != override])
            return override
        except Exception:
            continue
    return None


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
