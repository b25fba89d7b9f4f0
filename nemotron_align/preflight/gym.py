"""Checks for a GRPO run with NeMo-Gym, before anything starts (dry runs included)."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any

from nemotron_align.config.render import dump_yaml
from nemotron_align.errors import LaunchRejected
from nemotron_align.gym import config as gym_config
from nemotron_align.gym import rows as gym_data
from nemotron_align.io.secret_env import redact_secret_keys, redact_values, write_record

NEMO_GYM_YAML = "nemo_gym.yaml"
ASYNC_UNSUPPORTED = ("use_dynamic_sampling", "reward_scaling", "reward_shaping")

log = logging.getLogger("nemotron_align")


def check_validation_rules(grpo: dict[str, Any]) -> list[LaunchRejected]:
    if grpo.get("max_val_samples") is None:
        return []
    return [
        LaunchRejected(
            "grpo.max_val_samples",
            f"is {grpo['max_val_samples']}; with NeMo-Gym the validation set is used as it is, "
            "and NeMo-RL refuses a number here",
            "set grpo.max_val_samples=null (repeat rows in the validation file instead)",
        )
    ]


def check_async_rules(grpo: dict[str, Any], data: dict[str, Any]) -> list[LaunchRejected]:
    if not (grpo.get("async_grpo") or {}).get("enabled"):
        return []
    found = []
    for feature in ASYNC_UNSUPPORTED:
        value = grpo.get(feature)
        on = value.get("enabled") if isinstance(value, dict) else bool(value)
        if on:
            key = f"grpo.{feature}" + (".enabled" if isinstance(value, dict) else "")
            found.append(
                LaunchRejected(
                    key,
                    "is not supported with async GRPO",
                    f"set {key}=false or grpo.async_grpo.enabled=false",
                )
            )
    if data.get("use_multiple_dataloader"):
        found.append(
            LaunchRejected(
                "data.use_multiple_dataloader",
                "is not supported with async GRPO",
                "set it to false or grpo.async_grpo.enabled=false",
            )
        )
    return found


def check_validation_repeat(
    data: dict[str, Any], gym: gym_config.GymConfig
) -> list[LaunchRejected]:
    """A GenRM judge scores cohorts: repeated validation rows must fill one exactly."""
    repeat = (data.get("validation") or {}).get("repeat")
    if repeat is None:
        return []
    cohorts = {
        impl.get("num_rollouts_per_prompt")
        for name in gym.instances
        for _, impl in [gym.implementation(name)]
        if isinstance(impl, dict) and impl.get("num_rollouts_per_prompt") is not None
    }
    return [
        LaunchRejected(
            "data.validation.repeat",
            f"is {repeat}, but the judge waits for cohorts of {size} rollouts per prompt",
            f"set data.validation.repeat={size}",
        )
        for size in sorted(cohorts)
        if size != repeat
    ]


# What NeMo-RL hands Gym at start-up; stand-ins so Gym's parser can run offline.
_OFFLINE_POLICY = {
    "policy_model_name": "offline-check",
    "policy_api_key": "offline-check",
    "policy_base_url": "http://127.0.0.1:9/v1",
}


def gym_parser_problems(nemo_gym: dict[str, Any], nemo_rl_root: Path) -> list[LaunchRejected]:
    """NeMo-Gym's own config parser, offline, where the nemo_gym package is importable."""
    if importlib.util.find_spec("nemo_gym") is None:
        return []
    from nemo_gym.global_config import GlobalConfigDictParser
    from omegaconf import OmegaConf

    initial = {k: v for k, v in nemo_gym.items() if k != "is_trajectory_collection"}
    initial = {**_OFFLINE_POLICY, **initial}
    previous = Path.cwd()
    try:
        if nemo_rl_root.is_dir():
            os.chdir(nemo_rl_root)  # Gym resolves relative config paths against the cwd
        GlobalConfigDictParser().parse_no_environment(
            initial_global_config_dict=OmegaConf.create(initial)
        )
    except Exception as err:  # Gym's parser raises many types; every one is a rejection
        return [
            LaunchRejected(
                "env.nemo_gym",
                f"NeMo-Gym's own config parser rejects it: {type(err).__name__}: {err}",
                "fix the file, reference or value it names",
            )
        ]
    finally:
        os.chdir(previous)
    return []


def materialize_gym(config: dict[str, Any], roots: list[Path]) -> gym_config.GymConfig:
    """The Gym config of a run, materialized once: in full where Gym's files can be found, else
    its inline blocks only (config_paths are then checked when the run starts)."""
    nemo_gym = config["env"]["nemo_gym"]
    if gym_config.has_gym_install(roots):
        return gym_config.materialize(nemo_gym, roots)
    inline = {k: v for k, v in nemo_gym.items() if k != "config_paths"}
    return gym_config.materialize(inline, [], inline_only=True)


def gym_problems(
    config: dict[str, Any],
    roots: list[Path],
    cwd: Path,
    at_start: bool = False,
    gym: gym_config.GymConfig | None = None,
) -> tuple[gym_config.GymConfig, list[LaunchRejected]]:
    """Every problem found in `gym` (materialized here when not given); Gym configs are checked in
    full only where Gym's files can be found. `cwd` is the run's working directory (the NeMo-RL
    root). Before a launch (a login node, a laptop) Gym's files may be missing; `at_start` (the
    run itself) they must be there."""
    grpo, data = config["grpo"], config["data"]
    problems = check_validation_rules(grpo) + check_async_rules(grpo, data)
    installed = gym_config.has_gym_install(roots)
    if gym is None:
        gym = materialize_gym(config, roots)
    if at_start and not installed:
        return gym, [*problems, _gym_missing_at_start(roots)]
    if installed:
        problems += gym_config.check(gym, grpo)
        problems += gym_data.check_rows(data, gym.agents(), cwd)
        if not problems:
            problems += gym_parser_problems(config["env"]["nemo_gym"], cwd)
    else:
        log.warning(
            "NeMo-Gym not found (looked under %s): config_paths, server references and agent "
            "names are checked when the run starts, not now",
            ", ".join(str(r) for r in roots),
        )
        problems += gym_config.check_genrm(gym, grpo)
        problems += gym_data.check_rows(data, agents=None, root=cwd)
    problems += check_validation_repeat(data, gym)
    return gym, problems


def _gym_missing_at_start(roots: list[Path]) -> LaunchRejected:
    looked = ", ".join(str(r) for r in roots)
    return LaunchRejected(
        "env.nemo_gym.config_paths",
        f"NeMo-Gym's server configs are not found (looked under {looked}): the run "
        "cannot start its Gym servers",
        "run inside the NeMo-RL container (3rdparty/Gym-workspace/Gym), install nemo-gym "
        "into NeMo-RL's environment, or point NEMO_GYM_EXTRA_ROOTS at a Gym checkout",
    )


def write_gym_config(gym: gym_config.GymConfig, run_dir: Path) -> None:
    """<run folder>/nemo_gym.yaml: the Gym config the run hands Gym, secrets redacted."""
    block = redact_values(redact_secret_keys(gym.as_env_block()))
    write_record(run_dir / NEMO_GYM_YAML, dump_yaml(block))
