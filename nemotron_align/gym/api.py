"""What the installed NeMo-RL offers for GRPO with NeMo-Gym, found by inspecting it, and how the
runner calls into it (see nemotron_align.gym.runner for the API generations it follows)."""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from nemotron_align.errors import LaunchRejected


class NemoRLMissing(LaunchRejected):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "nemo_rl",
            f"NeMo-RL is not importable in this interpreter ({sys.executable}): {detail}",
            "run inside the NeMo-RL container (or install nemotron_align into NeMo-RL's "
            "environment, e.g. `uv pip install` there), or use launch.dry_run=true",
        )


@dataclass(frozen=True)
class Call:
    """One call into NeMo-RL or into an object it returned. The runner makes every such call
    through an `Invoke`, so a test can bind each to the real signature instead of running it."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


Invoke = Callable[[Call], Any]


def call_now(call: Call) -> Any:
    return call.fn(*call.args, **call.kwargs)


def accepts(fn: Callable[..., Any], parameter: str) -> bool:
    return parameter in inspect.signature(fn).parameters


@dataclass(frozen=True)
class NemoRL:
    """The NeMo-RL modules the runner calls into."""

    grpo: ModuleType
    algo_utils: ModuleType
    data_utils: ModuleType
    cluster: ModuleType
    gym_env: ModuleType
    env_utils: ModuleType
    generation: ModuleType
    logger_utils: ModuleType
    config_utils: ModuleType
    rollouts: ModuleType
    ray: ModuleType


@dataclass(frozen=True)
class GymApi:
    """What the installed NeMo-RL offers for GRPO with Gym, found by inspecting it."""

    version: str
    nemo_rl: NemoRL
    # A pydantic MasterConfig (v0.7.0 on) is built from the YAML; a TypedDict one (v0.6.0)
    # leaves the config a dict. From v0.7.0 setup() also starts the Gym actor.
    config_is_model: bool
    gate: Callable[[Any], bool]
    rollout: Callable[..., Any]
    # Offered after v0.7.0, whose script then shuts environments and generation down.
    shutdown_environments: Callable[..., None] | None
    video_config: Callable[..., None] | None

    @property
    def setup_starts_gym(self) -> bool:
        return self.config_is_model

    @property
    def setup_values(self) -> int:
        return 13 if self.setup_starts_gym else 10


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as err:
        raise NemoRLMissing(f"import {name} failed: {err}") from None


def _installed_version() -> str:
    try:
        return str(getattr(_import("nemo_rl"), "__version__", "unknown"))
    except LaunchRejected:
        return "unknown"


def _import_nemo_rl() -> NemoRL:
    return NemoRL(
        grpo=_import("nemo_rl.algorithms.grpo"),
        algo_utils=_import("nemo_rl.algorithms.utils"),
        data_utils=_import("nemo_rl.data.utils"),
        cluster=_import("nemo_rl.distributed.virtual_cluster"),
        gym_env=_import("nemo_rl.environments.nemo_gym"),
        env_utils=_import("nemo_rl.environments.utils"),
        generation=_import("nemo_rl.models.generation"),
        logger_utils=_import("nemo_rl.utils.logger"),
        config_utils=_import("nemo_rl.utils.config"),
        rollouts=_import("nemo_rl.experience.rollouts"),
        ray=_import("ray"),
    )


def unknown_api(version: str, what: str) -> LaunchRejected:
    return LaunchRejected(
        "nemo_rl",
        f"the installed NeMo-RL ({version}) has a GRPO API this runner does not know: {what}",
        "use NeMo-RL v0.6.0, v0.7.0 or main, or report the version to nemotron_align",
    )


def _config_is_model(grpo: ModuleType, version: str) -> bool:
    master = getattr(grpo, "MasterConfig", None)
    try:
        from pydantic import BaseModel

        if isinstance(master, type) and issubclass(master, BaseModel):
            return True
    except ImportError:
        pass
    if isinstance(master, type) and issubclass(master, dict) and hasattr(grpo, "setup"):
        return False
    raise unknown_api(version, "expected MasterConfig as a TypedDict or a pydantic model")


def _gym_gate(nemo_rl: NemoRL, version: str) -> Callable[[Any], bool]:
    """NeMo-RL's own should-use-Gym check: moved to nemo_rl.environments.nemo_gym after v0.7.0."""
    gate = getattr(nemo_rl.gym_env, "should_use_nemo_gym", None)
    gate = gate or getattr(nemo_rl.grpo, "_should_use_nemo_gym", None)
    if gate is None:
        raise LaunchRejected(
            "nemo_rl",
            f"NeMo-RL {version} offers no should_use_nemo_gym gate",
            "use a NeMo-RL release with NeMo-Gym support (v0.6.0 or later)",
        )
    return gate


def _rollout(rollouts: ModuleType, version: str) -> Callable[..., Any]:
    """After v0.7.0 run_async_nemo_gym_rollout streams groups; the script uses its sync wrapper."""
    sync = getattr(rollouts, "run_nemo_gym_rollout_sync", None)
    if sync is not None:
        return sync
    rollout = rollouts.run_async_nemo_gym_rollout
    if inspect.isasyncgenfunction(rollout):
        raise unknown_api(version, "run_async_nemo_gym_rollout streams, with no sync wrapper")
    return rollout


def _video_config() -> Callable[..., None] | None:
    try:
        module = importlib.import_module("nemo_rl.models.generation.vllm.config")
    except ImportError:
        return None
    return getattr(module, "materialize_vllm_video_config", None)


def detect_api() -> GymApi:
    nemo_rl = _import_nemo_rl()
    version = _installed_version()
    return GymApi(
        version=version,
        nemo_rl=nemo_rl,
        config_is_model=_config_is_model(nemo_rl.grpo, version),
        gate=_gym_gate(nemo_rl, version),
        rollout=_rollout(nemo_rl.rollouts, version),
        shutdown_environments=getattr(nemo_rl.grpo, "shutdown_environments", None),
        video_config=_video_config(),
    )


@dataclass
class SetupResult:
    """What setup() returns, by name, for both tuple shapes."""

    policy: Any
    generation: Any
    nemo_gym: Any
    dataloader: Any
    val_dataloader: Any
    loss_fn: Any
    logger: Any
    checkpointer: Any
    state: Any
    master: Any
    # v0.7.0 on: passed on to async_grpo_train.
    teachers: Any = None
    aliases: Any = None


def unpack_setup(api: GymApi, values: tuple[Any, ...]) -> SetupResult:
    if len(values) != api.setup_values:
        raise unknown_api(
            api.version, f"setup() returned {len(values)} values, expected {api.setup_values}"
        )
    if api.setup_starts_gym:
        policy, generation, nemo_gym, _cluster, *rest, master, teachers, aliases = values
        return SetupResult(policy, generation, nemo_gym, *rest, master, teachers, aliases)
    policy, generation, _cluster, *rest = values
    return SetupResult(policy, generation, None, *rest)


def generation_flags(configure: Callable[..., Any], policy: dict[str, Any]) -> dict[str, bool]:
    """The draft/MTP flags NeMo-RL's scripts compute, those configure_generation_config takes."""
    megatron = policy.get("megatron_cfg") or {}
    flags = {
        "has_refit_draft_weights": bool((policy.get("draft") or {}).get("enabled")),
        "trains_mtp": bool(megatron.get("enabled") and megatron.get("mtp_num_layers")),
    }
    return {name: value for name, value in flags.items() if accepts(configure, name)}


def processor_kwargs(fn: Callable[..., Any], processor: Any) -> dict[str, Any]:
    return {"processor": processor} if accepts(fn, "processor") else {}


def full_result_rows(result: Any) -> list[str]:
    """The JSON rows in a rollout's `full_result` tables (each table n x 1)."""
    return [
        row[0]
        for key, table in result.rollout_metrics.items()
        if "full_result" in key
        for row in table.data
    ]
