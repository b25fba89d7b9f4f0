"""The config a Gym run executes: NeMo-RL's, with the one materialized Gym config inlined and the
data rewritten into Gym's row shape; plus the accessors for its blocks, dicts or pydantic models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from nemotron_align.errors import LaunchRejectedMany
from nemotron_align.gym import config as gym_config
from nemotron_align.gym import rows as gym_data
from nemotron_align.preflight import gym as gym_preflight

GYM_DATA_DIR = "gym_data"


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


def prepare_config(
    config: dict[str, Any],
    nemo_rl_root: Path,
    run_dir: Path,
    gym: gym_config.GymConfig | None = None,
) -> dict[str, Any]:
    """Checks, Gym config inlined (one implementation per server), data in Gym's shape. `gym` is
    the launch's materialized Gym config when it runs in the launcher's process; a child runner
    materializes its own, in the environment it runs in. The Gym config handed on is written to
    the run folder (nemo_gym.yaml) as it is."""
    gym, problems = gym_preflight.gym_problems(
        config, gym_config.gym_roots(nemo_rl_root), nemo_rl_root, at_start=True, gym=gym
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
    gym_preflight.write_gym_config(gym, run_dir)
    return config


def load_config(config_path: Path) -> dict[str, Any]:
    """A run's nemo_rl.yaml as the driver takes it: prepared, with the cwd as the NeMo-RL root."""
    return prepare_config(yaml.safe_load(config_path.read_text()), Path.cwd(), config_path.parent)
