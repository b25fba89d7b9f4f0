"""Stand-in for nemo_rl.algorithms.grpo (tests only)."""

from __future__ import annotations

from typing import Any

# typing_extensions: pydantic validates only its TypedDict below Python 3.12.
from typing_extensions import TypedDict

from nemo_rl import API, StandInError, record

REQUIRED = ("policy", "loss_fn", "env", "data", "grpo", "logger", "cluster", "checkpointing")

if API == "v0.6":

    class MasterConfig(TypedDict):
        policy: dict
        loss_fn: dict
        env: dict
        data: dict
        grpo: dict
        logger: dict
        cluster: dict
        checkpointing: dict

    def _should_use_nemo_gym(config: dict) -> bool:
        record("gate", where="grpo._should_use_nemo_gym")
        return bool(config["env"].get("should_use_nemo_gym"))

else:
    from pydantic import BaseModel

    class AsyncGRPOConfig(BaseModel, extra="allow"):
        enabled: bool = False
        max_trajectory_age_steps: int = 1

    class GRPOConfig(BaseModel, extra="allow"):
        """main: the grpo section is a model (attribute access only); v0.7.0: a dict."""

        max_val_samples: int | None = 256
        val_batch_size: int | None = 256
        async_grpo: AsyncGRPOConfig | None = None

    GrpoSection = GRPOConfig if API == "main" else dict

    class MasterConfig(BaseModel, extra="allow"):  # type: ignore[no-redef]
        policy: dict
        loss_fn: dict
        env: dict
        data: dict
        grpo: GrpoSection
        logger: dict
        cluster: dict
        checkpointing: dict

    if API == "v0.7":

        def _should_use_nemo_gym(config: Any) -> bool:
            record("gate", where="grpo._should_use_nemo_gym")
            return bool(config.env.get("should_use_nemo_gym"))


def _check_config_type(config: Any) -> None:
    expected = dict if API == "v0.6" else MasterConfig
    if not isinstance(config, expected):
        raise StandInError(f"setup() got {type(config).__name__}, NeMo-RL {API} needs {expected}")


class _Generation:
    def __init__(self) -> None:
        self.cfg = {"model_name": "stand-in-policy"}
        self.dp_openai_server_base_urls = ["http://127.0.0.1:1/v1"]

    def finish_generation(self) -> None:
        record("finish_generation")

    def shutdown(self) -> None:
        record("shutdown_generation")


def setup(config: Any, tokenizer: Any, train: Any, val: Any, processor: Any = None) -> tuple:
    _check_config_type(config)
    if API == "main" and not isinstance(config.grpo, GRPOConfig):
        raise StandInError(f"grpo section is {type(config.grpo).__name__}, main has GRPOConfig")
    env = config["env"] if isinstance(config, dict) else config.env
    if "is_trajectory_collection" in env["nemo_gym"]:
        raise StandInError("is_trajectory_collection must be popped before setup()")
    grpo = config["grpo"] if isinstance(config, dict) else config.grpo
    max_val = grpo.max_val_samples if API == "main" else grpo["max_val_samples"]
    record(
        "setup",
        train_len=len(train),
        val_len=None if val is None else len(val),
        max_val_samples=max_val,
    )
    gen = _Generation()
    common = ("policy", gen)
    tail = (
        "cluster",
        "dataloader",
        ["val_batch"],
        "loss_fn",
        _Logger(),
        "checkpointer",
        "state",
        config,
    )
    if API == "v0.6":
        return (*common, *tail)
    from nemo_rl.environments.nemo_gym import _Actor

    return (*common, _Actor(env["nemo_gym"]), *tail, "teachers", "aliases")


class _Logger:
    def log_string_list_as_jsonl(self, rows: list[str], name: str) -> None:
        record("log_jsonl", name=name, rows=rows)


def grpo_train(*args: Any, processor: Any = None) -> None:
    if len(args) != 12:
        raise StandInError(f"grpo_train takes 12 positional arguments, got {len(args)}")
    record("grpo_train", task_to_env=sorted(args[6]))


def async_grpo_train(**kwargs: Any) -> None:
    record("async_grpo_train", kwargs=sorted(kwargs))


if API == "main":

    def shutdown_environments(task_to_env: dict, val_task_to_env: dict | None) -> None:
        record("shutdown_environments", task_to_env=sorted(task_to_env))


def refit_policy_generation(policy: Any, generation: Any, colocated: bool) -> None:
    record("refit_policy_generation", colocated=colocated)
