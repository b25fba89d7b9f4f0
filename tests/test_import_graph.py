"""The package's import graph: no cycle between our modules, counting imports inside functions
too (a lazy import only hides a cycle until the day it runs first)."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = (REPO / "nemotron_align", REPO / "hydra_plugins" / "nemotron_align_launcher")
OURS = ("nemotron_align", "hydra_plugins.nemotron_align_launcher")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(tree: ast.AST, modules: set[str]) -> set[str]:
    """Our modules that `tree` imports (`from pkg import mod` names the module mod)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in modules}


def import_graph() -> dict[str, set[str]]:
    paths = [p for root in ROOTS for p in root.rglob("*.py")]
    modules = {_module_name(p) for p in paths}
    assert {"nemotron_align.cli", "nemotron_align.slurm.node_job"} <= modules
    return {
        _module_name(p): _imported(ast.parse(p.read_text()), modules) - {_module_name(p)}
        for p in paths
    }


def test_no_import_cycle_among_our_modules() -> None:
    graph = import_graph()
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as err:
        raise AssertionError(f"import cycle: {' <- '.join(err.args[1])}") from None


def test_the_graph_sees_lazy_imports() -> None:
    """The Hydra plugin imports the Slurm sweep inside launch(): that edge must be in the graph."""
    graph = import_graph()
    plugin = "hydra_plugins.nemotron_align_launcher.nemotron_slurm_launcher"
    assert "nemotron_align.slurm.sweep" in graph[plugin]
