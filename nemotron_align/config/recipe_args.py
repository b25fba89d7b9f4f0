"""`recipe=<path of a NeMo-RL recipe YAML>` on the command line, turned into what Hydra composes.

Hydra cannot parse a path as a config choice, so before Hydra runs, the recipe is loaded with
NeMo-RL's own inheritance rules (recipe_loader), its trainer checked (recipe_trainer), and the
loaded, unresolved recipe stored in Hydra's ConfigStore as the option `recipe/loaded`, which
conf/config.yaml merges after `cluster` (so the recipe's own cluster size stands) and before
`sweep` and `experiment`. The argument becomes:

- `recipe=loaded`;
- `algo=recipe`: an empty option that only names the run (outputs/recipe/...), as no algo of
  ours applies;
- `~nemo_rl`: a recipe is already its release's complete config, so the release's key additions
  (conf/nemo_rl/) must not merge into it; the release the recipe was loaded for is recorded in
  `launch.nemo_rl_release`, the file in `launch.recipe`.

Our run paths replace the recipe's (`checkpointing.checkpoint_dir`, `logger.log_dir`, as our
algos set them). A data option other than `default` replaces the recipe's datasets
(`data.train`, `data.validation`, `data.default`); the rest of its `data` section stays.
The node lives in this process only: multirun, the sweeper and the Slurm login-node composition
run here, and a relaunch composes from the run's record, which holds the composed config itself.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from nemotron_align.config.launch_schema import LaunchSettings
from nemotron_align.config.location import CONFIG_PATH
from nemotron_align.config.recipe_loader import load_recipe
from nemotron_align.config.render import leaf_paths
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import DATASET_ENTRIES, Trainer
from nemotron_align.preflight.recipe_trainer import recipe_trainer

OPTION = "loaded"
# The algo whose data/for_algo/<algo>_<data>.yaml a data option means for each trainer.
DATA_ALGO = {Trainer.dpo: "dpo", Trainer.grpo: "rlvr", Trainer.grpo_nemo_gym: "grpo_gym"}
# The run paths our algos set (conf/components/), which replace the recipe's.
RUN_PATHS = {
    "checkpointing.checkpoint_dir": ("checkpointing.yaml", "checkpoint_dir"),
    "logger.log_dir": ("logger.yaml", "log_dir"),
}


def _split(arg: str) -> tuple[str, str | None]:
    key, assigns, value = arg.partition("=")
    return key, (value.strip("'\"") if assigns else None)


def with_recipe(args: list[str]) -> list[str]:
    """The command line with `recipe=<path>` turned into Hydra overrides (unchanged without)."""
    recipes = [a for a in args if _split(a.lstrip("+"))[0] == "recipe"]
    if not recipes:
        return args
    if len(recipes) > 1:
        raise LaunchRejected("recipe", "is given more than once", "give one recipe=<path>")
    algos = [a for a in args if _split(a.lstrip("+~"))[0] == "algo"]
    if algos:
        raise LaunchRejected(
            "recipe",
            f"cannot be combined with {algos[0]}: the recipe is the whole NeMo-RL config",
            "drop one: recipe=<path> starts from a NeMo-RL recipe, algo=<option> from ours",
        )
    _, value = _split(recipes[0].lstrip("+"))
    if not value or "," in value:
        raise LaunchRejected(
            "recipe",
            f"needs one path, got {value!r}",
            "give the path of one recipe YAML: recipe=<path>",
        )
    release = _named(args, "nemo_rl") or LaunchSettings.nemo_rl_release
    path = Path(os.path.abspath(Path(value).expanduser()))
    recipe = load_recipe(path, release)
    trainer = recipe_trainer(recipe, path)
    # `defaults: ???`, which NeMo-RL keeps (`in` on a DictConfig skips ??? values)
    if "defaults" in list(recipe):
        raise LaunchRejected(
            f"{path}: defaults",
            "is ??? (no value): Hydra would read it as this recipe's own defaults list",
            "remove the line, or name the parent recipe: defaults: <path>",
        )
    data = _named(args, "data")
    if data is not None and "," in data:
        raise LaunchRejected(
            "data",
            "cannot be swept together with recipe=",
            "run one sweep per data option",
        )
    store_recipe(recipe, trainer, path, release, data, _named(args, "cluster"))
    rest = [a for a in args if a not in recipes and _split(a)[0] != "nemo_rl"]
    return [*rest, f"recipe={OPTION}", "algo=recipe", "~nemo_rl"]


def _named(args: list[str], key: str) -> str | None:
    """The value of the last `key=value` on the command line."""
    values = [v for k, v in map(_split, args) if k == key and v is not None]
    return values[-1] if values else None


def store_recipe(
    recipe: DictConfig,
    trainer: Trainer,
    path: Path,
    release: str,
    data: str | None,
    cluster: str | None = None,
) -> None:
    """Store the recipe as `recipe/loaded`, with our run paths, data and cluster choices and the
    launch record."""
    node = OmegaConf.create(recipe)
    if cluster is not None:
        _yield_nulls_to_cluster(node, cluster)
    for dotted, (file, key) in RUN_PATHS.items():
        section = dotted.split(".")[0]
        if isinstance(node.get(section), DictConfig):
            OmegaConf.update(node, dotted, _component_value(file, key))
    defaults: list = ["_self_"]
    if data not in (None, "default"):
        if isinstance(node.get("data"), DictConfig):
            for key in DATASET_ENTRIES:
                node.data.pop(key, None)
        defaults.append({"optional /data/for_algo@_global_": f"{DATA_ALGO[trainer]}_{data}"})
    node.launch = {"nemo_rl_release": release, "recipe": str(path)}
    store = ConfigStore.instance()
    store.store(group="algo", name="recipe", node={}, package="_global_")
    body = OmegaConf.to_container(node)
    store.store(
        group="recipe", name=OPTION, node={"defaults": defaults, **body}, package="_global_"
    )


def _conf_file(relative: str) -> DictConfig:
    """A bundled config file as written (interpolations stay)."""
    if CONFIG_PATH.startswith("pkg://"):
        path: Any = files(CONFIG_PATH.removeprefix("pkg://")).joinpath(relative)
    else:
        path = Path(CONFIG_PATH) / relative
    return OmegaConf.create(path.read_text())


def _component_value(file: str, key: str) -> str:
    return str(_conf_file(f"components/{file}")._get_node(key)._value())


def _yield_nulls_to_cluster(node: DictConfig, cluster: str) -> None:
    """Drop the recipe's nulls where the cluster option sets a value: on Slurm,
    checkpointing.checkpoint_must_save_by from the job's time limit (a recipe's null means no
    deadline, true only without one)."""
    try:
        option = _conf_file(f"cluster/{cluster}.yaml")
    except OSError:
        return  # not one of ours: Hydra names the options
    for dotted, _ in leaf_paths(OmegaConf.to_container(option)):
        if dotted.split(".")[0] in ("hydra", "defaults") or "[" in dotted:
            continue
        parent, _, key = dotted.rpartition(".")
        section = OmegaConf.select(node, parent) if parent else node
        if isinstance(section, DictConfig) and key in section and section._get_node(key)._is_none():
            del section[key]
