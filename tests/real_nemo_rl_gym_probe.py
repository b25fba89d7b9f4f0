"""Drives nemotron_align's Gym runner against a real NeMo-RL tree without GPUs (tests only).

    <NeMo-RL venv python> real_nemo_rl_gym_probe.py <prepared nemo_rl.yaml> <out.json>

Run with the NeMo-RL root as cwd and `<root>:<nemotron_align repo>` on PYTHONPATH. The runner's
GymDriver runs its real control flow for each mode (sync GRPO, async GRPO, trajectory collection,
sync GRPO with a VLM policy); every call it makes into NeMo-RL is bound to the real signature
(`inspect.signature(fn).bind`) instead of run, except the pure config steps, which run for real.
setup()'s stand-in result is built from setup's own return annotation: autospecced objects of the
real classes, so method calls on them are checked against the real signatures too. Writes what it
saw as JSON; any call that does not bind makes it exit non-zero with the traceback.
"""

from __future__ import annotations

import ast
import copy
import inspect
import json
import sys
import textwrap
import typing
from pathlib import Path
from typing import Any
from unittest import mock

import yaml
from omegaconf import OmegaConf

from nemotron_align import gym_runner
from nemotron_align.errors import LaunchRejected

# Config-only steps: run for real, so the real MasterConfig and Gym gate judge the config.
RUN_FOR_REAL = {
    "register_omegaconf_resolvers",
    "MasterConfig",
    "materialize_vllm_video_config",
    "setup_nemo_gym_config",
    "should_use_nemo_gym",
}
# A config NeMo-RL's MasterConfig accepts in every release (its own GRPO example), with the Gym
# block nemotron_align prepared.
UPSTREAM_CONFIG = "examples/configs/grpo_math_1B.yaml"
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

    def __call__(self, call: gym_runner.Call) -> Any:
        self.calls.append({"name": call.name, "target": _qualified(call.fn)})
        if call.name in RUN_FOR_REAL:
            return gym_runner.call_now(call)
        problem = _bind_problem(call)
        if problem:
            self.unbound.append(problem)
            raise TypeError(problem)
        return self.stand_in_result(call)

    def stand_in_result(self, call: gym_runner.Call) -> Any:
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


def _bind_problem(call: gym_runner.Call) -> str | None:
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


def upstream_config(prepared: dict[str, Any], api: gym_runner.GymApi) -> dict[str, Any]:
    from nemo_rl.utils.config import load_config

    api.nemo_rl.config_utils.register_omegaconf_resolvers()
    config = OmegaConf.to_container(load_config(UPSTREAM_CONFIG), resolve=True)
    config["env"] = prepared["env"]
    config["grpo"]["max_val_samples"] = None  # Gym uses the validation set as it is
    return config


def mode_config(base: dict[str, Any], mode: str) -> dict[str, Any]:
    config = copy.deepcopy(base)
    config["policy"]["is_vlm"] = mode == "vlm"
    config["grpo"].setdefault("async_grpo", {})["enabled"] = mode == "async"
    config["env"]["nemo_gym"]["is_trajectory_collection"] = mode == "collect"
    return config


def main(prepared_path: str, out_path: str) -> None:
    api = gym_runner.detect_api()
    setup = api.nemo_rl.grpo.setup
    setup_types = setup_return_types(setup)
    base = upstream_config(yaml.safe_load(Path(prepared_path).read_text()), api)
    modes, unbound, rejected = {}, [], {}
    for mode in ("sync", "async", "collect", "vlm"):
        binder = Binder(setup_types)
        try:
            gym_runner.GymDriver(api, binder).run(mode_config(base, mode))
        except LaunchRejected as err:  # reported, and the test says where it is expected
            rejected[mode] = err.where
        modes[mode] = binder.calls
        unbound += binder.unbound
    report = {
        "unbound": unbound,
        "rejected": rejected,
        "setup_returns_in_source": setup_return_counts_in_source(setup),
        "setup_return_annotation": len(setup_types),
        "runner_unpacks": api.setup_values,
        "modes": modes,
    }
    Path(out_path).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
