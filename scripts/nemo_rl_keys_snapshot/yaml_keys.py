"""The keys of a release's example YAMLs, with the files their `defaults:` chains name."""

from __future__ import annotations

import posixpath
import sys
from typing import Any

from .node import Node
from .source import Source


def add_yaml_keys(node: Node, data: Any, top: bool = False) -> None:
    """Keys an example YAML sets that the schema does not declare: known, optional, any type."""
    if node.open:
        return
    if isinstance(data, dict):
        _add_mapping_keys(node, data, top)
    elif isinstance(data, list):
        _add_list_items(node, data)


def _add_mapping_keys(node: Node, data: dict[Any, Any], top: bool) -> None:
    for raw_key, value in data.items():
        key = str(raw_key)
        # NeMo-RL's merge directives, not config keys.
        if (top and key == "defaults") or key == "_override_":
            continue
        if "." in key or "[" in key or not key:
            print(f"skipped YAML key {key!r}", file=sys.stderr)
            continue
        child = node.fields.get(key) or node.any_key
        if child is None:
            child = node.fields[key] = Node()
        add_yaml_keys(child, value)


def _add_list_items(node: Node, data: list[Any]) -> None:
    for value in data:
        if isinstance(value, (dict, list)):
            if node.item is None:
                node.item = Node()
            add_yaml_keys(node.item, value)


def example_yamls(source: Source) -> list[str]:
    return sorted(
        path
        for path in source.files
        if path.endswith((".yaml", ".yml"))
        and (
            (path.startswith("examples/configs/") and path.count("/") == 2)
            or path.startswith(("examples/configs/recipes/", "examples/nemo_gym/"))
        )
    )


def defaults_chain(source: Source, path: str, seen: frozenset[str] = frozenset()) -> list[Any]:
    """A YAML and the files its `defaults:` names, transitively (NeMo-RL's own inheritance)."""
    if path in seen or path not in source.files:
        return []
    data = source.yaml(path)
    if not isinstance(data, dict):
        return []
    chain = [data]
    parents = data.get("defaults") or []
    for parent in [parents] if isinstance(parents, str) else parents:
        if isinstance(parent, str):
            parent_path = posixpath.normpath(posixpath.join(posixpath.dirname(path), parent))
            chain += defaults_chain(source, parent_path, seen | {path})
    return chain
