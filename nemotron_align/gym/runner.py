"""NeMo-RL GRPO with a NeMo-Gym environment, driven by nemotron_align.

    python -m nemotron_align.gym.runner --config <run folder>/nemo_rl.yaml

Runs in the launcher's own process for a plain single run, as this module in a child process in a
multirun or under a launcher. The working directory must be the NeMo-RL root. It follows NeMo-RL's
own Gym script (examples/nemo_gym/run_grpo_nemo_gym.py) for the API installed, found by inspecting
it rather than by its version string:

- v0.6.0: the config stays a dict (MasterConfig is a TypedDict), `setup()` returns 10 values and
  the runner starts the Gym actor itself;
- v0.7.0: a pydantic MasterConfig with dict sections, `setup()` returns 13 values and starts it;
- main after v0.7.0: the grpo section is a pydantic model too, the Gym gate lives in
  nemo_rl.environments.nemo_gym, trajectories come through `run_nemo_gym_rollout_sync`, and
  environments and generation are shut down in a `finally`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

from nemotron_align.errors import EXIT_REJECTED, LaunchRejected, LaunchRejectedMany
from nemotron_align.gym import config as gym_config
from nemotron_align.gym import rows as gym_data
from nemotron_align.preflight import gym as gym_preflight

GYM_DATA_DIR = "gym_data"
TRAJECTORY_FILE = "trajectory_collection.jsonl"
log = logging.getLogger(__name__)


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


def _unknown_api(version: str, what: str) -> LaunchRejected:
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
    raise _unknown_api(version, "expected MasterConfig as a TypedDict or a pydantic model")


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
        raise _unknown_api(version, "run_async_nemo_gym_rollout streams, with no sync wrapper")
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


def section(config: Any, name: str) -> Any:
    return config[name] if isinstance(config, dict) else getattr(config, name)


def setting(block: Any, key: str, default: Any = None) -> Any:
    """A key of a config block: a dict (v0.6.0, and most sections) or a pydantic model (main's
    grpo section)."""
    return block.get(key, default) if isinstance(block, dict) else getattr(block, key, default)


def assign(block: Any, key: str, value: Any) -> None:
    if isinstance(block, dict):
        block[key] = value
    else:
        setattr(block, key, value)


def apply_validation_size(grpo: Any, val_len: int | None) -> None:
    """max_val_samples = the validation set's size; val_batch_size capped at it."""
    if val_len is None:
        return
    assign(grpo, "max_val_samples", val_len)
    configured = setting(grpo, "val_batch_size")
    assign(grpo, "val_batch_size", min(configured or val_len, val_len))


def async_settings(grpo: Any) -> Any | None:
    """grpo.async_grpo when async GRPO is on (main allows the block to be null)."""
    block = setting(grpo, "async_grpo")
    return block if block is not None and setting(block, "enabled", False) else None


def prepare_config(config: dict[str, Any], nemo_rl_root: Path, run_dir: Path) -> dict[str, Any]:
    """Checks, Gym config inlined (one implementation per server), data in Gym's shape."""
    gym, problems = gym_preflight.gym_problems(
        config, gym_config.gym_roots(nemo_rl_root), nemo_rl_root, at_start=True
    )
    if problems:
        raise LaunchRejectedMany(problems)
    data = config["data"]
    nemo_gym = config["env"]["nemo_gym"]
    keep = {k: nemo_gym[k] for k in ("is_trajectory_collection",) if k in nemo_gym}
    config["env"]["nemo_gym"] = {**gym.as_env_block(), **keep}
    agent = gym_data.default_agent(data, gym.agents())
    data.pop("default_agent_ref", None)
    for split, path in gym_data.split_paths(data).items():
        data[split]["data_path"] = str(
            gym_data.write_normalized(path, agent, run_dir / GYM_DATA_DIR)
        )
    return config


def load_config(config_path: Path) -> dict[str, Any]:
    """A run's nemo_rl.yaml as the driver takes it: prepared, with the cwd as the NeMo-RL root."""
    return prepare_config(yaml.safe_load(config_path.read_text()), Path.cwd(), config_path.parent)


def run(config_path: Path) -> None:
    api = detect_api()
    GymDriver(api).run(load_config(config_path))


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
        raise _unknown_api(
            api.version, f"setup() returned {len(values)} values, expected {api.setup_values}"
        )
    if api.setup_starts_gym:
        policy, generation, nemo_gym, _cluster, *rest, master, teachers, aliases = values
        return SetupResult(policy, generation, nemo_gym, *rest, master, teachers, aliases)
    policy, generation, _cluster, *rest = values
    return SetupResult(policy, generation, None, *rest)


class GymDriver:
    """NeMo-RL's own Gym script (examples/nemo_gym/run_grpo_nemo_gym.py) for the API installed,
    every NeMo-RL call made through `invoke`."""

    def __init__(self, api: GymApi, invoke: Invoke = call_now) -> None:
        self.api = api
        self.nemo_rl = api.nemo_rl
        self.invoke = invoke

    def call(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.invoke(Call(name, fn, args, kwargs))

    def run(self, raw: dict[str, Any]) -> None:
        self.call(
            "register_omegaconf_resolvers", self.nemo_rl.config_utils.register_omegaconf_resolvers
        )
        config = self.master_config(raw)
        tokenizer, processor = self.configure(config)
        train_data, val_data = self.call(
            "setup_response_data",
            self.nemo_rl.data_utils.setup_response_data,
            tokenizer if processor is None else processor,
            section(config, "data"),
            env_configs=None,
        )
        apply_validation_size(section(config, "grpo"), None if val_data is None else len(val_data))
        self.call("init_ray", self.nemo_rl.cluster.init_ray)
        # A NeMo-RL-side switch: popped before setup() so it never reaches Gym's global config.
        collect = bool(section(config, "env")["nemo_gym"].pop("is_trajectory_collection", False))
        setup = self.setup(config, tokenizer, train_data, val_data, processor)
        nemo_gym = (
            setup.nemo_gym
            if self.api.setup_starts_gym
            else self.start_gym_actor(config, setup.generation)
        )
        task_to_env = {"nemo_gym": nemo_gym}
        try:
            if collect:
                self.collect_trajectories(setup, tokenizer, task_to_env)
            elif async_settings(section(config, "grpo")) is not None:
                self.async_train(config, setup, tokenizer, task_to_env, processor)
            else:
                self.train(setup, tokenizer, task_to_env, processor)
        finally:
            self.shut_down(task_to_env, setup.generation)

    def master_config(self, raw: dict[str, Any]) -> Any:
        if not self.api.config_is_model:
            return raw
        from pydantic import ValidationError

        try:
            config = self.call("MasterConfig", self.nemo_rl.grpo.MasterConfig, **raw)
        except ValidationError as err:
            raise LaunchRejected(
                "nemo_rl",
                f"NeMo-RL {self.api.version}'s MasterConfig rejects the config: {err}",
                "set the keys it names (this NeMo-RL's own examples/configs show them)",
            ) from None
        if self.api.video_config is not None:
            self.call(
                "materialize_vllm_video_config",
                self.api.video_config,
                section(config, "policy"),
                section(config, "data"),
            )
        return config

    def configure(self, config: Any) -> tuple[Any, Any]:
        """Log dir, tokenizer (and processor for a VLM), generation and Gym settings, the gate."""
        logger = section(config, "logger")
        logger["log_dir"] = self.call(
            "get_next_experiment_dir",
            self.nemo_rl.logger_utils.get_next_experiment_dir,
            logger["log_dir"],
        )
        policy = section(config, "policy")
        tokenizer, processor = self.tokenizer_and_processor(policy)
        configure = self.nemo_rl.generation.configure_generation_config
        policy["generation"] = self.call(
            "configure_generation_config",
            configure,
            policy["generation"],
            tokenizer,
            **generation_flags(configure, policy),
        )
        self.call(
            "setup_nemo_gym_config", self.nemo_rl.gym_env.setup_nemo_gym_config, config, tokenizer
        )
        if not self.call("should_use_nemo_gym", self.api.gate, config):
            raise LaunchRejected(
                "env.should_use_nemo_gym",
                "NeMo-RL's own gate says this config cannot use NeMo-Gym",
                "keep policy.generation.backend=vllm with an async engine exposing its HTTP server",
            )
        return tokenizer, processor

    def tokenizer_and_processor(self, policy: dict[str, Any]) -> tuple[Any, Any]:
        get_tokenizer = self.nemo_rl.algo_utils.get_tokenizer
        if not policy.get("is_vlm"):
            return self.call("get_tokenizer", get_tokenizer, policy["tokenizer"]), None
        if not accepts(self.nemo_rl.grpo.grpo_train, "processor"):
            raise LaunchRejected(
                "policy.is_vlm",
                f"NeMo-RL {self.api.version}'s grpo_train takes no processor: its Gym script "
                "runs text models only",
                "use a NeMo-RL release after v0.7.0 for a VLM with NeMo-Gym, or a text model",
            )
        processor = self.call(
            "get_tokenizer", get_tokenizer, policy["tokenizer"], get_processor=True
        )
        return processor.tokenizer, processor

    def setup(
        self, config: Any, tokenizer: Any, train_data: Any, val_data: Any, processor: Any
    ) -> SetupResult:
        setup = self.nemo_rl.grpo.setup
        values = self.call(
            "setup",
            setup,
            config,
            tokenizer,
            train_data,
            val_data,
            **processor_kwargs(setup, processor),
        )
        return unpack_setup(self.api, values)

    def start_gym_actor(self, config: Any, generation: Any) -> Any:
        """v0.6.0: the caller creates the Gym actor and waits for it to be healthy."""
        gym_env = self.nemo_rl.gym_env
        gym_config_ = self.call(
            "NemoGymConfig",
            gym_env.NemoGymConfig,
            model_name=generation.cfg["model_name"],
            base_urls=generation.dp_openai_server_base_urls,
            initial_global_config_dict=section(config, "env")["nemo_gym"],
        )
        actor = self.call(
            "create_env",
            self.nemo_rl.env_utils.create_env,
            env_name="nemo_gym",
            env_config=gym_config_,
        )
        self.call("ray.get", self.nemo_rl.ray.get, actor.health_check.remote())
        return actor

    def train(
        self, setup: SetupResult, tokenizer: Any, task_to_env: dict[str, Any], processor: Any
    ) -> None:
        grpo_train = self.nemo_rl.grpo.grpo_train
        self.call(
            "grpo_train",
            grpo_train,
            setup.policy,
            setup.generation,
            setup.dataloader,
            setup.val_dataloader,
            tokenizer,
            setup.loss_fn,
            task_to_env,
            task_to_env,
            setup.logger,
            setup.checkpointer,
            setup.state,
            setup.master,
            **processor_kwargs(grpo_train, processor),
        )

    def async_train(
        self,
        config: Any,
        setup: SetupResult,
        tokenizer: Any,
        task_to_env: dict[str, Any],
        processor: Any,
    ) -> None:
        async_grpo_train = self.nemo_rl.grpo.async_grpo_train
        extra = (
            {"teacher_worker_groups": setup.teachers, "alias_to_group_alias": setup.aliases}
            if self.api.setup_starts_gym
            else {}
        )
        self.call(
            "async_grpo_train",
            async_grpo_train,
            policy=setup.policy,
            policy_generation=setup.generation,
            dataloader=setup.dataloader,
            val_dataloader=setup.val_dataloader,
            tokenizer=tokenizer,
            loss_fn=setup.loss_fn,
            task_to_env=task_to_env,
            val_task_to_env=task_to_env,
            logger=setup.logger,
            checkpointer=setup.checkpointer,
            grpo_save_state=setup.state,
            master_config=setup.master,
            max_trajectory_age_steps=setting(
                async_settings(section(config, "grpo")), "max_trajectory_age_steps"
            ),
            **extra,
            **processor_kwargs(async_grpo_train, processor),
        )

    def collect_trajectories(
        self, setup: SetupResult, tokenizer: Any, task_to_env: dict[str, Any]
    ) -> None:
        """Roll out the validation set and log every full Gym result, without training."""
        policy_cfg = section(setup.master, "policy")
        generation_cfg = policy_cfg["generation"]
        self.call(
            "refit_policy_generation",
            self.nemo_rl.grpo.refit_policy_generation,
            setup.policy,
            setup.generation,
            generation_cfg["colocated"]["enabled"],
        )
        for batch in setup.val_dataloader:
            result = self.call(
                "rollout",
                self.api.rollout,
                **self.rollout_kwargs(setup.generation, batch, tokenizer, task_to_env, policy_cfg),
            )
            self.call(
                "logger.log_string_list_as_jsonl",
                setup.logger.log_string_list_as_jsonl,
                full_result_rows(result),
                TRAJECTORY_FILE,
            )
        self.call("policy_generation.finish_generation", setup.generation.finish_generation)

    def rollout_kwargs(
        self,
        generation: Any,
        batch: Any,
        tokenizer: Any,
        task_to_env: dict[str, Any],
        policy_cfg: dict[str, Any],
    ) -> dict[str, Any]:
        kwargs = {
            "policy_generation": generation,
            "input_batch": batch,
            "tokenizer": tokenizer,
            "task_to_env": task_to_env,
            # v0.6.0 asserts None; from v0.7.0 the script passes the policy's limit.
            "max_seq_len": (
                policy_cfg["max_total_sequence_length"] if self.api.config_is_model else None
            ),
            "generation_config": policy_cfg["generation"],
            "max_rollout_turns": None,
            "greedy": False,
        }
        if accepts(self.api.rollout, "log_full_result_tables"):
            kwargs["log_full_result_tables"] = True  # the rows logged come from these tables
        return kwargs

    def shut_down(self, task_to_env: dict[str, Any], generation: Any) -> None:
        """After v0.7.0 the script stops the Gym actor, then generation; before, exit did."""
        if self.api.shutdown_environments is None:
            return
        self.call("shutdown_environments", self.api.shutdown_environments, task_to_env, task_to_env)
        if generation is None:
            return
        try:
            self.call("policy_generation.shutdown", generation.shutdown)
        except Exception as err:  # as upstream: a failed shutdown must not mask the run's outcome
            log.warning("shutting down generation failed: %s", err)


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


def run_in_process(config_path: Path, nemo_rl_root: Path, env: dict[str, str]) -> int:
    """The plain single-run path: this process becomes the GRPO driver, cwd the NeMo-RL root."""
    os.environ.update(env)
    os.chdir(nemo_rl_root)
    run(config_path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nemotron_align.gym.runner")
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        run(args.config.resolve())
    except LaunchRejected as err:
        print(err.render(), file=sys.stderr)
        return EXIT_REJECTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
