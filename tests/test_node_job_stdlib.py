"""What runs on a Slurm node (nemotron_align.slurm.node_job and every module of ours it imports)
uses the standard library only: the node's Python (the NeMo-RL container's) has nothing of ours
installed, no Hydra, no OmegaConf."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from test_import_graph import REPO, import_graph

NODE_JOB = "nemotron_align.slurm.node_job"


def _closure(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def _top_level_imports(module: str) -> set[str]:
    path = REPO / Path(*module.split("."))
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    found = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_node_job_imports_only_the_standard_library_and_its_own_modules() -> None:
    modules = _closure(import_graph(), NODE_JOB)
    foreign = {
        f"{module} imports {name}"
        for module in modules
        for name in _top_level_imports(module)
        if name not in sys.stdlib_module_names and name != "nemotron_align"
    }
    assert not foreign, sorted(foreign)
    assert "nemotron_align.slurm.placement" in modules
    assert "nemotron_align.results.export_hf" in modules
    assert "nemotron_align.records.mlflow_identity" in modules
