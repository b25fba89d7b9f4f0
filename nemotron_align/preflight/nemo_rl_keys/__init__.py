"""The config keys each supported NeMo-RL release knows, for checking a config without NeMo-RL.

NeMo-RL ignores keys it does not know (v0.6: a plain dict; v0.7: pydantic's `extra="allow"`),
so a misspelled key silently keeps its default; and it refuses a config that lacks a key its
schema requires (pydantic in v0.7.0+) or fails later on it (v0.6.0). Where nemo_rl cannot be
imported, the rendered config is compared against the snapshot of the release in this folder
(`<release>.txt`, written by scripts/snapshot_nemo_rl_keys.py from the release's source tree).

A snapshot has one section per trainer (`[dpo]`, `[grpo]`: their MasterConfigs differ), each a
sorted list of lines `<path> <presence> <types>`:

- path: dotted keys; `[]` a list element, `*` any key of a mapping. A `*` line of type `any`
  with nothing under it makes its parent open: any sub-key, at any depth, is allowed.
- presence, relative to the parent being present (a mapping): `required`, `optional`, or
  `required-if:<sibling>=<values>` (required when the sibling has one of the `|`-separated JSON
  values: NeMo-RL's `XConfig | XConfigDisabled` unions, told apart by `enabled`). `[]` and `*`
  lines are always `optional`.
- types: `|`-separated, of `int float bool str None dict list any` and Literal values as JSON
  (`"simple"`, `true`); an int is a valid float, and `any` is not checked (keys only known from
  the example YAMLs, or a type the schema leaves open).

`renames.txt` lists keys NeMo-RL renamed between two releases (see its header).
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from nemotron_align.config.recipe_loader import OVERRIDE_MARKER
from nemotron_align.config.release import RELEASES  # oldest first; each has a snapshot here
from nemotron_align.errors import LaunchRejected

SNAPSHOT_DIR = Path(__file__).resolve().parent
TRAINERS = ("dpo", "grpo")
ANY_KEY = "*"
ITEM = "[]"
REQUIRED_IF = "required-if:"


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    open: bool = False
    kinds: frozenset[str] = frozenset({"any"})
    required: bool = False
    # (sibling, JSON values): required when the sibling has one of the values
    required_if: tuple[str, frozenset[str]] | None = None

    def child(self, key: str) -> _Node | None:
        return self.children.get(key) or self.children.get(ANY_KEY)

    def siblings(self) -> list[str]:
        return [k for k in self.children if k not in (ANY_KEY, ITEM)]

    def required_in(self, parent_value: dict[str, Any]) -> bool:
        if self.required:
            return True
        if self.required_if is None:
            return False
        sibling, values = self.required_if
        return sibling in parent_value and _json(parent_value[sibling]) in values


@dataclass(frozen=True)
class _Unknown:
    path: str
    parent_path: str
    key: str
    parent: _Node


@dataclass
class _Findings:
    unknown: list[_Unknown] = field(default_factory=list)
    wrong_type: list[tuple[str, Any, frozenset[str]]] = field(default_factory=list)
    # (parent path, key, the key's node)
    missing: list[tuple[str, str, _Node]] = field(default_factory=list)


def _no_snapshot(release: str) -> LaunchRejected:
    return LaunchRejected(
        "NeMo-RL release",
        f"no key snapshot for {release!r}",
        f"ask for one of {', '.join(RELEASES)}",
    )


@cache
def _snapshot(release: str) -> dict[str, _Node]:
    """The key tree of each trainer in the release's snapshot."""
    if release not in RELEASES:
        raise _no_snapshot(release)
    trees: dict[str, _Node] = {}
    root = _Node()
    for raw in (SNAPSHOT_DIR / f"{release}.txt").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            root = trees.setdefault(line[1:-1], _Node())
            continue
        _add_line(root, line)
    for tree in trees.values():
        _mark_open(tree)
    return trees


def _add_line(root: _Node, line: str) -> None:
    path, presence, kinds = line.split(" ", 2)
    node = root
    for token in re.findall(r"\[\]|[^.\[\]]+", path):
        node = node.children.setdefault(token, _Node())
    node.kinds = frozenset(kinds.split("|"))
    node.required = presence == "required"
    if presence.startswith(REQUIRED_IF):
        sibling, values = presence.removeprefix(REQUIRED_IF).split("=", 1)
        node.required_if = (sibling, frozenset(values.split("|")))


def _mark_open(node: _Node) -> None:
    wildcard = node.children.get(ANY_KEY)
    if wildcard is not None and not wildcard.children and wildcard.kinds == {"any"}:
        node.open = True
    for child in node.children.values():
        _mark_open(child)


def _json(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def _fits(value: Any, kinds: frozenset[str]) -> bool:
    if "any" in kinds or _json(value) in kinds:
        return True
    if value is None:
        return "None" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, int):
        return bool(kinds & {"int", "float"})
    if isinstance(value, float):
        return "float" in kinds or ("int" in kinds and value.is_integer())
    if isinstance(value, str):
        return "str" in kinds
    if isinstance(value, dict):
        return "dict" in kinds
    if isinstance(value, list):
        return "list" in kinds
    return True


def _walk(value: Any, node: _Node, path: str, found: _Findings) -> None:
    if node.open:
        return
    if isinstance(value, dict):
        _walk_dict(value, node, path, found)
    elif isinstance(value, list):
        _walk_list(value, node, path, found)


def _walk_dict(value: dict, node: _Node, path: str, found: _Findings) -> None:
    for raw_key, sub in value.items():
        key = str(raw_key)
        sub_path = f"{path}.{key}" if path else key
        child = node.child(key)
        if child is None:
            found.unknown.append(_Unknown(sub_path, path, key, node))
            continue
        if not _fits(sub, child.kinds):
            found.wrong_type.append((sub_path, sub, child.kinds))
        _walk(sub, child, sub_path, found)
    for key, child in node.children.items():
        if key not in (ANY_KEY, ITEM) and key not in value and child.required_in(value):
            found.missing.append((path, key, child))


def _walk_list(value: list, node: _Node, path: str, found: _Findings) -> None:
    # Elements of a list the release has no element keys for: any key in them is unknown.
    item = node.children.get(ITEM, _Node())
    for i, sub in enumerate(value):
        if ITEM in node.children and not _fits(sub, item.kinds):
            found.wrong_type.append((f"{path}[{i}]", sub, item.kinds))
        _walk(sub, item, f"{path}[{i}]", found)


def _findings(config: dict[str, Any], tree: _Node) -> _Findings:
    found = _Findings()
    _walk(config, tree, "", found)
    return found


def _no_such_key(u: _Unknown, release: str) -> LaunchRejected:
    match = difflib.get_close_matches(u.key, u.parent.siblings(), n=1)
    if match:
        suggestion = f"{u.parent_path}.{match[0]}" if u.parent_path else match[0]
        fix = f"did you mean {suggestion}?"
    else:
        fix = f"remove it, or check that the NeMo-RL you run is {release}"
    return LaunchRejected(
        u.path, f"NeMo-RL {release} has no such key (it would ignore it silently)", fix
    )


@dataclass(frozen=True)
class Rename:
    release: str  # the first release with the new name
    old: str
    new: str


@cache
def renames() -> tuple[Rename, ...]:
    lines = (SNAPSHOT_DIR / "renames.txt").read_text().splitlines()
    return tuple(Rename(*line.split()) for line in lines if line and not line.startswith("#"))


def _paths(release: str, trainer: str) -> dict[str, frozenset[str]]:
    """Every path of a trainer's snapshot, with its types."""
    found: dict[str, frozenset[str]] = {}

    def visit(node: _Node, path: str) -> None:
        for key, child in node.children.items():
            sub = f"{path}{key}" if key == ITEM else (f"{path}.{key}" if path else key)
            found[sub] = child.kinds
            visit(child, sub)

    visit(_snapshot(release)[trainer], "")
    return found


def rename_candidates(older: str, newer: str, trainer: str) -> list[tuple[str, str]]:
    """(old, new) pairs that may be renames: a key `newer` drops under a parent it keeps, and a
    key it adds under that parent with the same types and a similar name. For review only."""
    old_paths, new_paths = _paths(older, trainer), _paths(newer, trainer)
    added = [p for p in new_paths if p not in old_paths]
    pairs = []
    for path, kinds in old_paths.items():
        parent, _, key = path.rpartition(".")
        if path in new_paths or parent not in new_paths:
            continue
        for candidate in added:
            sibling_parent, _, sibling = candidate.rpartition(".")
            if (
                sibling_parent == parent
                and new_paths[candidate] == kinds
                and difflib.SequenceMatcher(None, key, sibling).ratio() >= 0.5
            ):
                pairs.append((path, candidate))
    return pairs


def _renamed(path: str, release: str) -> LaunchRejected | None:
    """The old name of a key on a release that renamed it, or the new name on one before."""
    shape = re.sub(r"\[\d+\]", ITEM, path)
    newer_than = {name: i for i, name in enumerate(RELEASES)}
    for rename in renames():
        renamed_by_now = newer_than[release] >= newer_than[rename.release]
        if shape == rename.old and renamed_by_now:
            return LaunchRejected(
                path,
                f"renamed to {rename.new} in NeMo-RL {rename.release}; {release} ignores this key",
                f"use {rename.new}",
            )
        if shape == rename.new and not renamed_by_now:
            return LaunchRejected(
                path,
                f"NeMo-RL {release} calls this key {rename.old} (renamed to {rename.new} in "
                f"{rename.release}) and ignores it",
                f"use {rename.old}, or run NeMo-RL {rename.release}",
            )
    return None


def _missing(parent: str, key: str, node: _Node, release: str) -> LaunchRejected:
    path = f"{parent}.{key}" if parent else key
    if node.required_if is not None:
        sibling, values = node.required_if
        when = f"{parent}.{sibling}" if parent else sibling
        return LaunchRejected(
            path,
            f"NeMo-RL {release} requires this key when {when} is {' or '.join(sorted(values))}",
            f"set it, or change {when}",
        )
    if not parent:
        return LaunchRejected(path, f"NeMo-RL {release} requires this key", "set it")
    return LaunchRejected(
        path,
        f"NeMo-RL {release} requires this key once {parent} is present",
        f"set it, or remove {parent}",
    )


def _wrong_type(path: str, value: Any, kinds: frozenset[str], release: str) -> LaunchRejected:
    expected = " or ".join(sorted(kinds))
    return LaunchRejected(
        path,
        f"is {_json(value)} ({type(value).__name__}); NeMo-RL {release} expects {expected}",
        f"set it to {expected}",
    )


def problems(
    config: dict[str, Any], release: str, trainer: str
) -> tuple[list[LaunchRejected], list[str]]:
    """What NeMo-RL `release` would refuse or silently ignore in the rendered config of
    `trainer` ("dpo" or "grpo"): (errors, warnings).

    Errors: a key no release knows (with the closest known sibling), a renamed key, a required
    key missing (its parent being present), a value of the wrong type. Warnings: a key only
    another release (or this release's other trainer) knows, which this one ignores."""
    trees = _snapshot(release)
    if trainer not in trees:
        raise LaunchRejected("trainer", f"no key snapshot for {trainer!r}", "use dpo or grpo")
    found = _findings(config, trees[trainer])
    errors: list[LaunchRejected] = []
    warnings: list[str] = []
    elsewhere = _known_elsewhere(config, release, trainer, [u.path for u in found.unknown])
    for u in found.unknown:
        renamed = _renamed(u.path, release)
        if renamed is not None:
            errors.append(renamed)
        elif u.key == OVERRIDE_MARKER:
            warnings.append(
                f"{u.path}: NeMo-RL honours {OVERRIDE_MARKER} on top-level sections of a recipe "
                f"only; here it is a key NeMo-RL ignores, and {u.parent_path} is merged into "
                "the section it inherits, not replaced"
            )
        elif u.path in elsewhere:
            warnings.append(
                f"{u.path}: NeMo-RL {release} ({trainer}) does not know this key and will "
                f"ignore it (known to {', '.join(elsewhere[u.path])})"
            )
        else:
            errors.append(_no_such_key(u, release))
    errors += [_missing(parent, key, node, release) for parent, key, node in found.missing]
    errors += [_wrong_type(path, value, kinds, release) for path, value, kinds in found.wrong_type]
    return errors, warnings


def _known_elsewhere(
    config: dict[str, Any], release: str, trainer: str, paths: list[str]
) -> dict[str, list[str]]:
    """Which of `paths` each other (release, trainer) knows: path -> ["v0.7.0 grpo", ...]."""
    known: dict[str, list[str]] = {}
    for other_release in RELEASES:
        for other_trainer, tree in _snapshot(other_release).items():
            if (other_release, other_trainer) == (release, trainer):
                continue
            unknown = [u.path for u in _findings(config, tree).unknown]
            for path in paths:
                if not any(path == u or path.startswith((f"{u}.", f"{u}[")) for u in unknown):
                    known.setdefault(path, []).append(f"{other_release} {other_trainer}")
    return known
