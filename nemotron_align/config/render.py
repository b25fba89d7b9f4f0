"""Turn the composed config into the fully resolved NeMo-RL YAML of a run."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import InterpolationKeyError, OmegaConfBaseException

from nemotron_align.config.data_paths import absolute_data_paths
from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.io.secret_env import secret_in, secret_values

NEMO_RL_YAML = "nemo_rl.yaml"
# Keys that belong to the launcher or to Hydra, never to NeMo-RL.
LAUNCHER_KEYS = ("launch", "hydra", "defaults")


def missing_keys(node: Any, prefix: str = "") -> list[str]:
    """Dotted paths of every `???` value, without resolving anything."""
    found: list[str] = []
    if isinstance(node, DictConfig):
        items = ((str(k), k) for k in node)
    elif isinstance(node, ListConfig):
        items = ((f"[{i}]", i) for i in range(len(node)))
    else:
        return found
    for label, key in items:
        path = f"{prefix}{label}" if label.startswith("[") or not prefix else f"{prefix}.{label}"
        if OmegaConf.is_missing(node, key):
            found.append(path)
            continue
        child = node._get_node(key)
        if isinstance(child, (DictConfig, ListConfig)) and not OmegaConf.is_interpolation(
            node, key
        ):
            found.extend(missing_keys(child, path))
    return found


def config_value(config: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted key such as `policy.model_name`; None where any part is missing."""
    value: Any = config
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def leaf_paths(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of every leaf of a plain dict/list tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from leaf_paths(v, f"{prefix}[{i}]")
    else:
        yield prefix, node


def to_nemo_rl_dict(cfg: DictConfig) -> dict[str, Any]:
    """Resolve every interpolation and drop the launcher's keys; reject leftovers. Local data
    paths are made absolute against the working directory, a recipe's own relative ones left
    for NeMo-RL to read from its root (data_paths)."""
    holes = [h for h in missing_keys(cfg) if h.split(".")[0] not in LAUNCHER_KEYS]
    if holes:
        raise LaunchRejectedMany(
            [LaunchRejected(key, "has no value (???)", f"set it: {key}=<value>") for key in holes]
        )
    try:
        # Key by key from the config itself: no copy of it (a sweep renders many).
        resolved = {str(key): _resolved(cfg, str(key)) for key in cfg if key not in LAUNCHER_KEYS}
    except OmegaConfBaseException as err:
        raise unresolvable(err) from None
    _reject_secrets(resolved)
    if isinstance(resolved.get("data"), dict):
        # NeMo-RL runs from its own root: relative paths would name other files there.
        recipe = OmegaConf.select(cfg, "launch.recipe", default=None) is not None
        absolute_data_paths(resolved["data"], Path.cwd(), recipe=recipe)
    return resolved


def unresolvable(err: OmegaConfBaseException) -> LaunchRejected:
    """A value whose interpolation cannot be resolved, with what to write instead."""
    key = getattr(err, "full_key", None) or "config"
    refused = _refused_by_resolver(err)
    if refused is not None:
        return LaunchRejected(key, refused.problem, refused.fix)
    said = str(getattr(err, "msg", None) or err).strip().splitlines()[0]
    env = re.search(r"Environment variable '([^']+)' not found", said)
    if env:
        name = env.group(1)
        fix = f"export {name}, or give the value a default: ${{oc.env:{name},<default>}}"
    elif "Recursive interpolation" in said:
        fix = f"{key} refers to itself: point it at another key, or give it a value"
    elif isinstance(err, InterpolationKeyError):
        fix = (
            "point it at a key the config has (--cfg job prints them), or write \\${...} "
            "to keep the text as it is"
        )
    else:
        fix = "fix or override the interpolation it uses"
    return LaunchRejected(key, f"cannot be resolved: {said}", fix)


def _refused_by_resolver(err: BaseException) -> LaunchRejected | None:
    """The refusal one of our resolvers (e.g. from_run) raised, under OmegaConf's wrapping."""
    cause: BaseException | None = err
    while cause is not None and not isinstance(cause, LaunchRejected):
        cause = cause.__cause__ or cause.__context__
    return cause


def _resolved(cfg: DictConfig, key: str) -> Any:
    value = cfg[key]
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True, throw_on_missing=True)
    return value


def _reject_secrets(resolved: dict[str, Any]) -> None:
    secrets = secret_values()
    if not secrets:
        return
    found = {
        path: name
        for path, value in leaf_paths(resolved)
        if isinstance(value, str) and (name := secret_in(value, secrets))
    }
    leaks = [
        LaunchRejected(
            path,
            f"holds the value of the secret environment variable {name}, "
            "which would be written to disk",
            f"remove it from the config; NeMo-RL reads {name} from the environment",
        )
        for path, name in found.items()
    ]
    if leaks:
        raise LaunchRejectedMany(leaks)


def dump_yaml(data: dict[str, Any]) -> str:
    # libyaml's emitter where PyYAML has it: the same text, several times faster.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(data, Dumper=dumper, sort_keys=False, default_flow_style=False, width=1000)
