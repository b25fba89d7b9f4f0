"""A NeMo-RL recipe YAML, loaded as NeMo-RL's own `load_config` loads it
(nemo_rl/utils/config.py), without NeMo-RL installed.

The rules, the same in v0.6.0, v0.7.0 and main unless said:
- A top-level `defaults:` names the file's parents: one path or a list of paths. Each parent is
  loaded by these rules (its own `defaults` relative to its own folder), the parents are merged
  in order (a later one wins), then the file itself on top. A relative path is relative to the
  including file's folder, one starting with `/` is absolute. `defaults` is removed at every
  level.
- A top-level section with `_override_: true` replaces the section it inherits instead of being
  merged into it; the marker is removed. Only top-level sections: a nested `_override_` stays
  as an ordinary key, and so does every `_override_` of a recipe without `defaults`.
- Interpolations stay unresolved (resolving comes later, with the resolvers). Top-level values
  are the exception NeMo-RL makes: it reads each while merging, so one that cannot be resolved
  there fails the load.
- A top-level `???`: main's merge skips it (an inherited value stands); v0.6.0's and v0.7.0's
  fail on it (MissingMandatoryValue), so for them it is refused.

What NeMo-RL fails on with a traceback (a missing parent, a cycle, which recurses until Python's
limit, bad YAML, a file that is not a mapping) is refused here, naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nemotron_align.config.release import RELEASES
from nemotron_align.errors import LaunchRejected, not_a_file

# Releases whose merge skips a top-level `???` (the others fail on it).
SKIPS_TOP_LEVEL_MISSING = frozenset({"main"})
# Marks a top-level section that replaces the inherited one instead of merging into it.
OVERRIDE_MARKER = "_override_"


def load_recipe(path: str | Path, release: str) -> DictConfig:
    """The recipe at `path` with its `defaults` chain merged, as NeMo-RL `release` loads it."""
    if release not in RELEASES:
        raise ValueError(f"unknown NeMo-RL release {release!r}; known: {', '.join(RELEASES)}")
    path = Path(path)
    if not path.is_file():
        raise LaunchRejected(
            str(path), f"no such recipe: {not_a_file(path)}", "give the path of a recipe YAML"
        )
    return _load(path, release, chain=())


def _load(path: Path, release: str, chain: tuple[Path, ...]) -> DictConfig:
    config = _read(path)
    if "defaults" not in config:
        return config
    try:
        defaults = config.pop("defaults")
        if not isinstance(defaults, (str, ListConfig)):
            raise _bad_defaults(path, None, "is neither a path nor a list of paths")
        entries = [defaults] if isinstance(defaults, str) else list(defaults)
    except OmegaConfBaseException as err:
        raise _bad_defaults(path, None, f"cannot be read: {err}") from None
    chain = (*chain, path.resolve())
    base = OmegaConf.create({})
    for index, entry in enumerate(entries):
        if not isinstance(entry, str):
            raise _bad_defaults(path, index, f"entry {entry!r} is not a path")
        parent = Path(entry) if entry.startswith("/") else path.parent / entry
        _check_parent(parent, path, index, chain)
        base = _merge(base, _load(parent, release, chain), parent, release)
    return _merge(base, config, path, release)


def _read(path: Path) -> DictConfig:
    try:
        config = OmegaConf.load(path)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise LaunchRejected(
            where, f"not valid YAML: {problem}", "correct the YAML there"
        ) from None
    except (OSError, UnicodeDecodeError, OmegaConfBaseException) as err:
        raise LaunchRejected(
            str(path), f"cannot be read as a recipe: {err}", "give a readable recipe YAML"
        ) from None
    if not isinstance(config, DictConfig):
        raise LaunchRejected(
            str(path),
            "holds a list at its top level; a recipe is a mapping of sections",
            "give a recipe YAML: `defaults:` and sections such as `policy:`, `grpo:`",
        )
    return config


def _check_parent(parent: Path, child: Path, index: int, chain: tuple[Path, ...]) -> None:
    where = _where(child, "defaults", index)
    if not parent.is_file():
        raise LaunchRejected(
            where,
            f"the parent recipe {parent} cannot be loaded: {not_a_file(parent)}",
            f"correct the path; a relative one is relative to {child.parent}",
        )
    if parent.resolve() in chain:
        cycle = " -> ".join(str(p) for p in (*chain[chain.index(parent.resolve()) :], parent))
        raise LaunchRejected(
            where,
            f"recipe inheritance cycle: {cycle}",
            "remove the `defaults` entry that leads back to a file that includes it",
        )


def _merge(base: DictConfig, override: DictConfig, source: Path, release: str) -> DictConfig:
    """NeMo-RL's merge_with_override: `override` (the content of `source`) merged onto `base`."""
    for key in list(override.keys()):
        if OmegaConf.is_missing(override, key):
            if release in SKIPS_TOP_LEVEL_MISSING:
                continue
            raise LaunchRejected(
                _where(source, str(key)),
                f"`{key}: ???` at the top level of a recipe that is merged: NeMo-RL {release}'s "
                "loader fails on it (MissingMandatoryValue); main's leaves the value inherited",
                f"give {key} a value or remove it, or use NeMo-RL main (nemo_rl=main)",
            )
        try:
            value = override[key]
        except OmegaConfBaseException as err:
            raise LaunchRejected(
                _where(source, str(key)),
                f"NeMo-RL's loader reads top-level `{key}` while merging, and it cannot be "
                f"resolved there: {err}",
                f"give {key} a value, or an interpolation of keys in the same file",
            ) from None
        if isinstance(value, DictConfig) and value.get(OVERRIDE_MARKER, False):
            value.pop(OVERRIDE_MARKER)
            if key in base:
                base.pop(key)
    try:
        merged = OmegaConf.merge(base, override)
    except OmegaConfBaseException as err:
        raise LaunchRejected(
            str(source),
            f"cannot be merged onto what it inherits: {err}",
            "give each key the same kind of value (mapping, list or scalar) as its parent, "
            "or mark the section `_override_: true`",
        ) from None
    assert isinstance(merged, DictConfig)
    return merged


def _bad_defaults(path: Path, index: int | None, problem: str) -> LaunchRejected:
    return LaunchRejected(
        _where(path, "defaults", index),
        f"`defaults` {problem}",
        "write `defaults: <parent.yaml>` or a list of such paths",
    )


def _where(path: Path, key: str, index: int | None = None) -> str:
    """`path:line` of top-level `key` (of its item `index` where it is a list), else `path`."""
    try:
        root = yaml.compose(path.read_text(), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return str(path)
    if not isinstance(root, yaml.MappingNode):
        return str(path)
    for key_node, value_node in root.value:
        if key_node.value == key:
            node = value_node
            if index is not None and isinstance(value_node, yaml.SequenceNode):
                node = value_node.value[index]
            return f"{path}:{node.start_mark.line + 1}"
    return str(path)
