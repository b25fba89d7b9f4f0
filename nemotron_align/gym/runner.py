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
import copy
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected, exit_status
from nemotron_align.gym.api import (
    Call,
    GymApi,
    Invoke,
    SetupResult,
    accepts,
    call_now,
    detect_api,
    full_result_rows,
    generation_flags,
    processor_kwargs,
    unpack_setup,
)
from nemotron_align.gym.config import GymConfig
from nemotron_align.gym.run_config import (
    apply_validation_size,
    async_settings,
    load_config,
    prepare_config,
    section,
    setting,
)

TRAJECTORY_FILE = "trajectory_collection.jsonl"
log = logging.getLogger(__name__)


def run(config_path: Path) -> None:
    api = detect_api()
    GymDriver(api).run(load_config(config_path))


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


def run_in_process(
    config: dict[str, Any],
    gym: GymConfig | None,
    run_dir: Path,
    nemo_rl_root: Path,
    env: dict[str, str],
) -> int:
    """The plain single-run path: this process becomes the GRPO driver, cwd the NeMo-RL root,
    on the launch's own rendered config and materialized Gym config."""
    os.environ.update(env)
    os.chdir(nemo_rl_root)
    GymDriver(detect_api()).run(prepare_config(copy.deepcopy(config), nemo_rl_root, run_dir, gym))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nemotron_align.gym.runner")
    parser.add_argument("--config", required=True, type=Path)
    args = parser.parse_args(argv)
    return exit_status(lambda: run(args.config.resolve()))


if __name__ == "__main__":
    sys.exit(main())
