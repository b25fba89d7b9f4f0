"""What is wrong with one override Hydra refused, and what to write instead: the options of a
config group, a did-you-mean for a misspelled key, the values a typed key takes."""

from __future__ import annotations

import difflib
import re
from typing import Any

from hydra.core.global_hydra import GlobalHydra
from omegaconf import (
    BooleanNode,
    DictConfig,
    EnumNode,
    FloatNode,
    IntegerNode,
    ListConfig,
    OmegaConf,
    StringNode,
)

from nemotron_align.config.location import initialize_app_config
from nemotron_align.errors import LaunchRejected
from nemotron_align.io.secret_env import env_secret_refused, is_secret_name

FULL_KEY = re.compile(r"full_key: (\S+)")
MISSING_OPTION = re.compile(r"Could not find '([^']+)/([^']*)'")
_OPTIONS = re.compile(r"^\t(\S+)$", re.MULTILINE)
# Names users reach for, and the NeMo-RL key that holds the setting.
_ALIASES = {
    "dpo.beta": "dpo.reference_policy_kl_penalty",
    "grpo.group_size": "grpo.num_generations_per_prompt",
}
_NOT_A_KEY = ("not in struct", "not in '", "does not exist")


def group_options(group: str) -> list[str]:
    """The options of a config group; empty when `group` is a key, not a group."""
    GlobalHydra.instance().clear()
    with initialize_app_config():
        return GlobalHydra.instance().config_loader().get_group_options(group)


def _keys(node: Any, prefix: str = "") -> list[str]:
    if not isinstance(node, DictConfig):
        return []
    found = []
    for key in node:
        path = f"{prefix}.{key}" if prefix else str(key)
        found.append(path)
        found.extend(_keys(node._get_node(key), path))
    return found


def suggest_key(key: str, cfg: DictConfig) -> str | None:
    """The closest existing key: a name users reach for, a sibling, then anywhere."""
    alias = difflib.get_close_matches(key, list(_ALIASES), n=1, cutoff=0.8)
    if alias and OmegaConf.select(cfg, _ALIASES[alias[0]]) is not None:
        return _ALIASES[alias[0]]
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    if isinstance(node, DictConfig):
        close = difflib.get_close_matches(leaf, [str(k) for k in node], n=1, cutoff=0.6)
        if close:
            return f"{parent}.{close[0]}" if parent else close[0]
    others = [k for k in _keys(cfg) if not key.startswith(f"{k}.")]
    close = difflib.get_close_matches(key, others, n=1, cutoff=0.75)
    return close[0] if close else None


def error_text(err: BaseException) -> str:
    """The message with its causes: Hydra wraps OmegaConf's error, which names the full key."""
    parts = []
    while err is not None and not isinstance(err, SystemExit) and len(parts) < 5:
        parts.append(str(err))
        err = err.__cause__ or err.__context__
    return "\n".join(parts)


def _what_is_wrong(text: str) -> str:
    """OmegaConf's line when there is one: Hydra's own says only which override it was."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    said = [
        line
        for line in lines
        if not line.startswith(("Error merging override", "full_key:", "object_type="))
        and "$VALUE" not in line  # OmegaConf's unformatted copy of the message
    ]
    return (said or lines)[0]


def _literal(value: Any) -> str | None:
    """A value as an override writes it; None for one that would not make a good example."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value):
        return "[" + ",".join(str(v) for v in value) + "]"
    return None


def _takes(key: str, cfg: DictConfig | None) -> str | None:
    """What a typed key takes, as the fix says it; None where the config does not type it."""
    parent, _, leaf = key.rpartition(".")
    container = OmegaConf.select(cfg, parent) if cfg is not None and parent else cfg
    if not isinstance(container, DictConfig) or leaf not in container:
        return None
    node = container._get_node(leaf)
    null = " (or null)" if node._is_optional() else ""
    if isinstance(node, (EnumNode, BooleanNode, ListConfig, DictConfig)):
        return _container_takes(key, node, null)
    return _scalar_takes(key, node, null)


def _container_takes(key: str, node: Any, null: str) -> str:
    """What an enum, boolean, list or mapping key takes."""
    if isinstance(node, EnumNode):
        return f"set {key} to one of: {', '.join(m.name for m in node.enum_type)}{null}"
    if isinstance(node, BooleanNode):
        return f"set {key} to true or false"
    if isinstance(node, ListConfig):
        example = _literal(OmegaConf.to_container(node)) if not node._is_none() else None
        return f"set {key} to a list{null}, e.g. {key}={example or '[a,b]'}"
    return (
        f"set {key} to a mapping, e.g. {key}={{NAME:value}}, or one entry of it: +{key}.NAME=value"
    )


def _scalar_takes(key: str, node: Any, null: str) -> str | None:
    """What a number or string key takes; None for an untyped one."""
    kinds = {IntegerNode: "a whole number", FloatNode: "a number", StringNode: "a string"}
    kind = next((name for cls, name in kinds.items() if isinstance(node, cls)), None)
    if kind is None:
        return None
    example = _literal(node._value())
    return f"set {key} to {kind}{null}" + (f", e.g. {key}={example}" if example else "")


def _group_problem(override: str, group: str, options: list[str], text: str) -> LaunchRejected:
    listed = f"options: {', '.join(options)}"
    value = override.partition("=")[2]
    if override.startswith("~"):
        return LaunchRejected(
            group,
            f"the config needs a choice of {group}; it cannot be deleted",
            f"pick one instead, {group}=<option>; {listed}",
        )
    if override.startswith("+") and not override.startswith("++"):
        return LaunchRejected(
            group,
            "is chosen in the defaults already; + adds a group that is not",
            f"drop the +: {override[1:]}",
        )
    if value.startswith("["):
        return LaunchRejected(
            group,
            f"a config group takes one option per run, not a list ({override})",
            f"pick one, {group}=<option> ({listed}), or run one job per option: "
            f"-m {group}={value.strip('[]')}",
        )
    if "No match in the defaults list" in text:
        return LaunchRejected(
            group,
            "is not a group this config picks from",
            f"pick from the groups `--help` lists; to add a {group} config on purpose, "
            f"write +{override}",
        )
    return LaunchRejected(
        group, text.strip().splitlines()[0], f"pick one option, {group}=<option>; {listed}"
    )


def override_problem(override: str, err: Exception, cfg: DictConfig | None) -> LaunchRejected:
    """The problem `override` causes, as Hydra's error `err` tells it; override "": the config
    files themselves. cfg: the config tree the override was meant for, when it composes."""
    text = error_text(err)
    option = MISSING_OPTION.search(text)
    if option:
        return _option_problem(*option.groups(), text)
    if not override:
        return LaunchRejected(
            "config",
            text.strip().splitlines()[0],
            "no override causes this: the config files themselves fail to compose "
            "(--info defaults lists them)",
        )
    name = override.split("=", 1)[0].lstrip("+~")
    options = group_options(name)
    if options:
        return _group_problem(override, name, options, text)
    full_key = FULL_KEY.search(text)
    key = full_key.group(1) if full_key else name
    env_name = key.removeprefix("launch.env.")
    if env_name != key and is_secret_name(env_name):
        # Adding it with + would only be refused in turn.
        return env_secret_refused(env_name)
    if any(said in text for said in _NOT_A_KEY):
        return _unknown_key_problem(override, key, cfg)
    return _value_problem(override, key, text, cfg)


def _option_problem(group: str, name: str, text: str) -> LaunchRejected:
    options = _OPTIONS.findall(text)
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    hint = f"did you mean {group}={close[0]}? " if close else ""
    return LaunchRejected(
        f"{group}={name}",
        f"no such option in config group '{group}'" if name else "names no option",
        f"{hint}options: {', '.join(options)}",
    )


def _unknown_key_problem(override: str, key: str, cfg: DictConfig | None) -> LaunchRejected:
    close = suggest_key(key, cfg) if cfg is not None else None
    fix = f"did you mean {close}?" if close else "check the spelling (--cfg job prints keys)"
    if override.startswith("~"):
        return LaunchRejected(key, "is not a key of this config", f"{fix}; or drop {override}")
    return LaunchRejected(
        key,
        "is not a key of this config",
        fix + ("" if close else f"; to add a new key on purpose, write +{override}"),
    )


def _value_problem(override: str, key: str, text: str, cfg: DictConfig | None) -> LaunchRejected:
    """An existing key added with +, deleted though typed, or given a value it does not take."""
    if "An item is already at" in text:
        return LaunchRejected(
            key,
            "is in the config already; + adds a key that is not",
            f"drop the +: {override.lstrip('+')} (++{override.lstrip('+')} sets it either way)",
        )
    takes = _takes(key, cfg)
    if "does not support deletion" in text:
        return LaunchRejected(
            key,
            "is a key of a typed section and cannot be deleted",
            f"{takes or f'set {key}'} instead of deleting it",
        )
    return LaunchRejected(
        key, _what_is_wrong(text), takes or f"give {key} a value like the one --cfg job shows"
    )
