"""Drives nemotron_align's Gym runner against a real NeMo-RL tree without GPUs (tests only).

    <NeMo-RL venv python> gym_runner_probe.py <out.json>
    stdin: one line, {algo: {mode: a nemo_rl.yaml the launcher rendered for this release}}

Run with the NeMo-RL root as cwd and `<root>:<nemotron_align repo>` on PYTHONPATH. It imports
NeMo-RL first (the slow part) and only then reads which configs to run, so the test renders them
meanwhile; an empty stdin ends it. Each config is loaded as the runner loads a run's own (Gym block
inlined, rows in Gym's shape), and the runner's GymDriver runs its real control flow on it: the
mode (sync GRPO, async GRPO, trajectory collection, a VLM policy) is the config's, set by launcher
overrides. Every call the driver makes into NeMo-RL is bound to the real signature
(`inspect.signature(fn).bind`) instead of run, except the pure config steps, which run for real.
setup()'s stand-in result is built from setup's own return annotation: autospecced objects of the
real classes, so method calls on them are checked against the real signatures too. Writes what it
saw as JSON; any call that does not bind makes it exit non-zero with the traceback.
"""

from __future__ import annotations

import ast
import inspect
import json
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any
from unittest import mock

from nemotron_align.errors import LaunchRejected
from nemotron_align.gym import api as gym_api
from nemotron_align.gym import run_config
from nemotron_align.gym import runner as gym_runner

# Config-only steps: run for real, so the real MasterConfig and Gym gate judge the config.
RUN_FOR_REAL = {
    "register_omegaconf_resolvers",
    "MasterConfig",
    "materialize_vllm_video_config",
    "setup_nemo_gym_config",
    "should_use_nemo_gym",
}
TRAIN_ROWS, VAL_ROWS = 4, 2


def setup_return_counts_in_source(setup: Any) -> list[int]:
    """The length of each tuple setup() itself returns (nested functions' returns left out)."""
    (function,) = ast.parse(textwrap.dedent(inspect.getsource(setup))).body
    counts, pending = [], list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple):
            counts.append(len(node.value.elts))
        pending.extend(ast.iter_child_nodes(node))
    return counts


def setup_return_types(setup: Any) -> tuple[Any, ...]:
    return typing.get_args(inspect.signature(setup).return_annotation)


def _unwrap_optional(annotation: Any) -> Any:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return (
        args[0] if typing.get_origin(annotation) is typing.Union and len(args) == 1 else annotation
    )


def stand_in_for(annotation: Any, config: Any, batch: Any) -> Any:
    """An autospec of the real class where the annotation names one; the config for MasterConfig."""
    cls = _unwrap_optional(annotation)
    if getattr(cls, "__name__", None) == "MasterConfig":
        return config
    if not isinstance(cls, type) or cls.__module__ == "builtins":
        return mock.MagicMock(name=str(annotation))
    stub = mock.create_autospec(cls, instance=True)
    if hasattr(cls, "__iter__"):
        stub.__iter__.return_value = iter([batch])
    if cls.__name__ == "GenerationInterface":
        # Instance attributes of VllmGeneration that the v0.6.0 sequence reads.
        stub.cfg = {"model_name": "probe-model"}
        stub.dp_openai_server_base_urls = ["http://127.0.0.1:1/v1"]
    return stub


class Binder:
    """The runner's Invoke: binds each call to the real signature and answers with a stand-in."""

    def __init__(self, setup_types: tuple[Any, ...]) -> None:
        self.setup_types = setup_types
        self.calls: list[dict[str, str]] = []
        # Kept apart from the exception, which the runner's shutdown logs rather than raises.
        self.unbound: list[str] = []

    def __call__(self, call: gym_api.Call) -> Any:
        self.calls.append({"name": call.name, "target": _qualified(call.fn)})
        if call.name in RUN_FOR_REAL:
            return gym_api.call_now(call)
        problem = _bind_problem(call)
        if problem:
            self.unbound.append(problem)
            raise TypeError(problem)
        return self.stand_in_result(call)

    def stand_in_result(self, call: gym_api.Call) -> Any:
        if call.name in ("get_next_experiment_dir", "configure_generation_config"):
            return call.args[0]
        if call.name == "setup_response_data":
            return ["row"] * TRAIN_ROWS, ["row"] * VAL_ROWS
        if call.name == "setup":
            return tuple(stand_in_for(t, call.args[0], "batch") for t in self.setup_types)
        if call.name == "NemoGymConfig":
            return dict(call.kwargs)
        if call.name in ("get_tokenizer", "create_env", "rollout"):
            return mock.MagicMock(name=call.name)
        return None


def _bind_problem(call: gym_api.Call) -> str | None:
    if isinstance(call.fn, type) and hasattr(call.fn, "__required_keys__"):  # a TypedDict
        keys = set(call.kwargs)
        missing = call.fn.__required_keys__ - keys
        unknown = keys - call.fn.__required_keys__ - call.fn.__optional_keys__
        if call.args or missing or unknown:
            return f"{call.name}: positional {call.args}, missing {missing}, unknown {unknown}"
        return None
    try:
        inspect.signature(call.fn).bind(*call.args, **call.kwargs)
    except TypeError as err:
        return f"{call.name} ({_qualified(call.fn)}): {err}"
    return None


def _qualified(fn: Any) -> str:
    """module.qualname of the real callable; for a method of an autospec, of its real class."""
    if isinstance(fn, mock.Mock):
        owner = fn._mock_parent._spec_class
        return f"{owner.__module__}.{owner.__qualname__}.{fn._mock_name}"
    return f"{fn.__module__}.{fn.__qualname__}"


def main(out_path: str) -> None:
    api = gym_api.detect_api()
    line = sys.stdin.readline()
    if not line:
        return
    setup = api.nemo_rl.grpo.setup
    setup_types = setup_return_types(setup)
    runs: dict[str, dict[str, list[dict[str, str]]]] = {}
    rejected: dict[str, dict[str, str]] = {}
    rejections, unbound = [], []
    for algo, modes in json.loads(line).items():
        for mode, config_path in modes.items():
            binder = Binder(setup_types)
            try:
                gym_runner.GymDriver(api, binder).run(run_config.load_config(Path(config_path)))
            except LaunchRejected as err:  # reported, and the test says where it is expected
                rejected.setdefault(algo, {})[mode] = err.where
                rejections.append(f"{algo} {mode}: {err.render()}")
            runs.setdefault(algo, {})[mode] = binder.calls
            unbound += binder.unbound
    report = {
        "unbound": unbound,
        "rejected": rejected,
        "rejections": rejections,
        "setup_returns_in_source": setup_return_counts_in_source(setup),
        "setup_return_annotation": len(setup_types),
        "runner_unpacks": api.setup_values,
        "runs": runs,
    }
    Path(out_path).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
