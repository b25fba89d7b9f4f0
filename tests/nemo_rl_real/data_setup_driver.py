"""NeMo-RL's own config validation and data setup for rendered nemo_rl.yaml files.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree (first on PYTHONPATH, this repo
after it):
    python data_setup_driver.py CASES.json REPORT.json

CASES.json is a list of {"id", "algo", "config", "validation_rows", "read_back"}; REPORT.json maps
each id to what NeMo-RL made of that config:

- "validated": the values at the "read_back" dotted paths, read from the object NeMo-RL's
  `MasterConfig` returned for `load_config(config)` (pydantic `MasterConfig(**config)` from
  v0.7.0, `TypeAdapter(MasterConfig)` for v0.6.0's TypedDict). Gym configs first get
  `grpo.max_val_samples` / `val_batch_size` from the validation set, as the Gym runner hands them
  to NeMo-RL.
- "data": the call sequence of `examples/run_dpo.py` / `examples/run_grpo.py` (Gym:
  `nemotron_align.gym.runner`'s own) up to `setup()`, which runs for real until it builds the Ray
  cluster (v0.7.0 with Gym: until it asks Ray for its runtime context): `StatefulDataLoader` is
  recorded in the algorithm module, `RayVirtualCluster` and `ray` stop it there, so no Ray
  starts. Reports every row as NeMo-RL processed it (tokenized by the config's tokenizer) and
  the first batch of the train dataloader that `setup()` built.

Each is {"result": ...} or, where that stage failed, {"error": <traceback>}; one failure does not
stop the other stage or the other cases.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pydantic
from nemo_rl.algorithms.utils import get_tokenizer
from nemo_rl.data import utils as data_utils
from nemo_rl.environments.utils import ENV_REGISTRY
from nemo_rl.models.generation import configure_generation_config
from nemo_rl.utils.config import load_config, register_omegaconf_resolvers
from omegaconf import OmegaConf

from nemotron_align.gym import api as gym_api
from nemotron_align.gym import run_config
from nemotron_align.gym import runner as gym_runner
from nemotron_align.preflight.pairing import Trainer, trainer_for


class RayReached(Exception):
    """Raised where setup() first needs Ray: the dataloaders are built by then."""


class RayStop:
    """Stands in for the `ray` module of an algorithm: any use of it stops setup()."""

    def __getattr__(self, name: str) -> Any:
        raise RayReached(f"ray.{name}")


def field(node: Any, key: str) -> Any:
    """A config section's entry: sections are dicts, TypedDicts or pydantic models by release."""
    return node[key] if isinstance(node, Mapping) else getattr(node, key)


def read_back(config: Any, dotted: str) -> Any:
    node = config
    for key in dotted.split("."):
        node = field(node, key)
    return node


def as_container(config_path: str) -> dict[str, Any]:
    """What every NeMo-RL example script does with --config."""
    return OmegaConf.to_container(load_config(config_path), resolve=True)


def is_pydantic(master_config_class: type) -> bool:
    return issubclass(master_config_class, pydantic.BaseModel)


def master_config(module: ModuleType, container: dict[str, Any]) -> Any:
    """The config object the example script hands to setup(): from v0.7.0 a pydantic
    MasterConfig, in v0.6.0 the plain dict (its MasterConfig is a TypedDict)."""
    if is_pydantic(module.MasterConfig):
        return module.MasterConfig(**container)
    return container


def validate(module: ModuleType, container: dict[str, Any]) -> Any:
    if is_pydantic(module.MasterConfig):
        return module.MasterConfig(**container)
    return pydantic.TypeAdapter(module.MasterConfig).validate_python(container)


@contextmanager
def stopped_at_ray(module: ModuleType) -> Iterator[list[Any]]:
    """Record the StatefulDataLoaders `module` builds; stop it where it first needs Ray."""
    built: list[Any] = []

    class RecordedDataLoader(module.StatefulDataLoader):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            built.append(self)

    def stop(*_args: Any, **_kwargs: Any) -> None:
        raise RayReached("RayVirtualCluster")

    stand_ins: dict[str, Any] = {
        "StatefulDataLoader": RecordedDataLoader,
        "RayVirtualCluster": stop,
    }
    if hasattr(module, "ray"):
        stand_ins["ray"] = RayStop()
    real = {name: getattr(module, name) for name in stand_ins}
    for name, stand_in in stand_ins.items():
        setattr(module, name, stand_in)
    try:
        yield built
    finally:
        for name, original in real.items():
            setattr(module, name, original)


def train_dataloader_of_setup(
    module: ModuleType, run_setup: Callable[[], Any], train_dataset: Any
) -> Any:
    """The train dataloader the real setup() builds before it needs Ray."""
    with stopped_at_ray(module) as built:
        reached = False
        try:
            run_setup()
        except RayReached:
            reached = True
    if not reached:
        raise AssertionError("setup() returned without using Ray")
    train = [loader for loader in built if loader.dataset is train_dataset]
    if len(train) != 1:
        raise AssertionError(f"setup() built {len(train)} train dataloaders over the dataset")
    return train[0]


@contextmanager
def recorded_environments() -> Iterator[list[dict[str, Any]]]:
    """setup_response_data's environments recorded instead of started as Ray actors."""
    created: list[dict[str, Any]] = []
    real_create_env = data_utils.create_env

    def record(env_name: str, env_config: dict[str, Any]) -> str:
        created.append({"name": env_name, "registered": env_name in ENV_REGISTRY})
        return f"<{env_name} environment>"

    data_utils.create_env = record
    try:
        yield created
    finally:
        data_utils.create_env = real_create_env


def preference_rows(dataset: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(len(dataset)):
        datum = dataset[i]
        rows.append(
            {
                "tokens": [int(datum["length_chosen"]), int(datum["length_rejected"])],
                "loss_multiplier": float(datum["loss_multiplier"]),
            }
        )
    return rows


def response_rows(dataset: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(len(dataset)):
        datum = dataset[i]
        row = {"tokens": [int(datum["length"])], "loss_multiplier": float(datum["loss_multiplier"])}
        if datum.get("extra_env_info") is not None:
            row["extra_env_info"] = datum["extra_env_info"]
        rows.append(row)
    return rows


def dpo_data(container: dict[str, Any]) -> dict[str, Any]:
    """examples/run_dpo.py, v0.6.0 to main: tokenizer, setup_preference_data, setup()."""
    dpo = importlib.import_module("nemo_rl.algorithms.dpo")
    config = master_config(dpo, container)
    tokenizer = get_tokenizer(field(config, "policy")["tokenizer"])
    train, validation = data_utils.setup_preference_data(tokenizer, field(config, "data"))
    loader = train_dataloader_of_setup(
        dpo, lambda: dpo.setup(config, tokenizer, train, validation), train
    )
    batch = next(iter(loader), None)
    return {
        "train_rows": preference_rows(train),
        "validation_rows": [row for split in validation.values() for row in preference_rows(split)],
        "train_batches": len(loader),
        # preference_collate_fn interleaves chosen and rejected: two sequences per pair.
        "first_batch": None if batch is None else len(batch["input_ids"]) // 2,
    }


def rlvr_data(container: dict[str, Any]) -> dict[str, Any]:
    """examples/run_grpo.py: tokenizer, generation config, setup_response_data with the
    environments (recorded, not started), setup()."""
    grpo = importlib.import_module("nemo_rl.algorithms.grpo")
    config = master_config(grpo, container)
    policy = field(config, "policy")
    tokenizer = get_tokenizer(policy["tokenizer"])
    options = {"has_refit_draft_weights": bool(policy["draft"]["enabled"])}
    if is_pydantic(grpo.MasterConfig):  # v0.7.0's run_grpo.py passes trains_mtp too
        options["trains_mtp"] = bool((policy.get("megatron_cfg") or {}).get("mtp_num_layers"))
    policy["generation"] = configure_generation_config(policy["generation"], tokenizer, **options)
    with recorded_environments() as environments:
        train, validation, _, _ = data_utils.setup_response_data(
            tokenizer, field(config, "data"), field(config, "env")
        )
    return grpo_data_report(
        grpo,
        lambda: grpo.setup(config, tokenizer, train, validation),
        train,
        validation,
        environments,
    )


class SetupCalled(Exception):
    """Raised where the Gym runner calls NeMo-RL's setup(): the call is kept to run here."""

    def __init__(self, call: gym_api.Call) -> None:
        super().__init__(call.name)
        self.call = call


def runner_invoke(call: gym_api.Call) -> Any:
    """The Gym runner's calls into NeMo-RL run as they are, but for init_ray (no Ray here) and
    setup(), which stops the runner and is handed back."""
    if call.name == "init_ray":
        return None
    if call.name == "setup":
        raise SetupCalled(call)
    return gym_api.call_now(call)


def gym_data(container: dict[str, Any]) -> dict[str, Any]:
    """nemotron_align.gym.runner's own GymDriver on the config, every NeMo-RL call it makes
    real (MasterConfig, tokenizer, generation and Gym config, the Gym gate, setup_response_data
    with NemoGymDataset, its validation sizes) up to its setup() call. (Its Gym config inlining
    before that needs Gym's files, absent here; our rows are in Gym's shape already.)"""
    api = gym_api.detect_api()
    driver = gym_runner.GymDriver(api, runner_invoke)
    setup_call = None
    try:
        driver.run(container)
    except SetupCalled as called:
        setup_call = called.call
    if setup_call is None:
        raise AssertionError("the Gym runner never called setup()")
    train, validation = setup_call.args[2:4]  # (config, tokenizer, train, validation)
    return grpo_data_report(
        api.nemo_rl.grpo, lambda: gym_api.call_now(setup_call), train, validation, []
    )


def grpo_data_report(
    grpo: ModuleType,
    run_setup: Callable[[], Any],
    train: Any,
    validation: Any,
    environments: list[dict[str, Any]],
) -> dict[str, Any]:
    loader = train_dataloader_of_setup(grpo, run_setup, train)
    batch = next(iter(loader), None)
    return {
        "train_rows": response_rows(train),
        "validation_rows": [] if validation is None else response_rows(validation),
        "environments": environments,
        "train_batches": len(loader),
        "first_batch": None if batch is None else len(batch["message_log"]),
    }


def validated_values(case: dict[str, Any]) -> dict[str, Any]:
    container = as_container(case["config"])
    trainer = trainer_for(container)
    if trainer is Trainer.grpo_nemo_gym:
        run_config.apply_validation_size(container["grpo"], case["validation_rows"])
    validated = validate(importlib.import_module(f"nemo_rl.algorithms.{trainer.schema}"), container)
    return {path: read_back(validated, path) for path in case["read_back"]}


def data_report(case: dict[str, Any]) -> dict[str, Any]:
    container = as_container(case["config"])
    return {
        Trainer.dpo: dpo_data,
        Trainer.grpo: rlvr_data,
        Trainer.grpo_nemo_gym: gym_data,
    }[trainer_for(container)](container)


def run_stage(stage: Callable[[dict[str, Any]], dict[str, Any]], case: dict[str, Any]) -> Any:
    """{"result": ...} or {"error": <traceback>}: a failure is reported, the next stage and
    case still run."""
    try:
        return {"result": stage(case)}
    except Exception:
        return {"error": traceback.format_exc()}


def run_case(case: dict[str, Any]) -> dict[str, Any]:
    return {"validated": run_stage(validated_values, case), "data": run_stage(data_report, case)}


def main(cases_path: str, report_path: str) -> None:
    register_omegaconf_resolvers()
    cases = json.loads(Path(cases_path).read_text())
    report = {case["id"]: run_case(case) for case in cases}
    Path(report_path).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
