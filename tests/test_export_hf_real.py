"""The converter command the launcher builds (nemotron_align.results.export_hf) is parsed by the
real NeMo-RL converters' own `parse_args`, for every tree in NEMO_RL_TREES.

Only `parse_args` and the imports it needs are taken from each script's source (with ast) and
run, so neither torch nor Megatron is needed; the launcher's argv then goes through it exactly as
the script would receive it on its command line."""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

import pytest
from nemo_rl_real_support import real_trees

from nemotron_align.results.checkpoints import Checkpoint
from nemotron_align.results.export_hf import DCP_CONVERTER, MEGATRON_CONVERTER, converter_argv

pytestmark = pytest.mark.nemo_rl_real


def _trees() -> list[Path]:
    trees = list(real_trees().values())
    if not trees:
        pytest.skip("NEMO_RL_TREES is unset (real NeMo-RL trees)")
    return trees


def _parse_args_of(script: Path) -> object:
    """The script's own parse_args, with the stdlib imports its module makes (argparse, os)."""
    module = ast.parse(script.read_text())
    kept = [
        node
        for node in module.body
        if (isinstance(node, ast.FunctionDef) and node.name == "parse_args")
        or (
            isinstance(node, ast.Import | ast.ImportFrom)
            and all(
                (alias.name.split(".")[0] if isinstance(node, ast.Import) else node.module or "")
                in sys.stdlib_module_names
                for alias in node.names
            )
        )
    ]
    assert any(isinstance(n, ast.FunctionDef) for n in kept), f"{script} has no parse_args"
    namespace: dict[str, object] = {}
    exec(compile(ast.Module(body=kept, type_ignores=[]), str(script), "exec"), namespace)
    return namespace["parse_args"]


def _parse(script: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    monkeypatch.setattr(sys, "argv", [str(script), *args])
    parsed = _parse_args_of(script)()  # type: ignore[operator]
    assert isinstance(parsed, argparse.Namespace)
    return parsed


@pytest.mark.parametrize("megatron", [False, True], ids=["dtensor", "megatron"])
def test_real_converters_parse_our_argv(
    megatron: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checkpoint = Checkpoint(3, tmp_path / "checkpoints" / "step_3")
    (checkpoint.weights / "iter_0000003").mkdir(parents=True)
    hf = tmp_path / "hf"
    python = ["/opt/nemo_rl_venv/bin/python"]
    argv = converter_argv(python, checkpoint, hf, megatron)
    assert argv is not None
    weights = checkpoint.weights / "iter_0000003" if megatron else checkpoint.weights
    for tree in _trees():
        script = tree / argv[len(python)]
        assert argv[len(python)] == (MEGATRON_CONVERTER if megatron else DCP_CONVERTER)
        assert script.is_file(), f"{script} is missing from {tree}"
        parsed = _parse(script, argv[len(python) + 1 :], monkeypatch)
        assert parsed.config == str(checkpoint.config), tree
        assert parsed.hf_ckpt_path == str(hf), tree
        if megatron:
            assert parsed.megatron_ckpt_path == str(weights), tree
            assert parsed.hf_model_name is None, tree  # the model named in config.yaml
        else:
            assert parsed.dcp_ckpt_path == str(weights), tree
