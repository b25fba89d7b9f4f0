"""NeMo-Gym's global config as Gym will build it from `env.nemo_gym`, checked before any start.

Gym merges the YAML files named in `config_paths` (nested `config_paths` first, the includer
and later siblings winning) under the inline blocks of `env.nemo_gym`. A *server instance* is a
top-level key holding exactly one server type (`resources_servers`, `responses_api_models`,
`responses_api_agents`) with one implementation below it. Gym ignores override blocks that match
no instance and retries dead references forever, so both are caught here.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nemotron_align.config.render import leaf_paths
from nemotron_align.errors import LaunchRejected

SERVER_TYPES = ("resources_servers", "responses_api_models", "responses_api_agents")
AGENTS = "responses_api_agents"
# Values NeMo-RL hands Gym at start-up (its own vLLM endpoint).
PROVIDED_AT_START = frozenset({"policy_base_url", "policy_api_key", "policy_model_name"})
# Keys of env.nemo_gym that NeMo-RL reads itself and Gym never sees as servers.
NEMO_RL_ONLY_KEYS = frozenset({"config_paths", "is_trajectory_collection"})
REASONING_OFF_ALIAS = "policy_model_reasoning_off"
# Preference order when a merged instance ends up with several implementations.
PREFERRED_IMPLEMENTATIONS = ("genrm_model", "vllm_model")
_INTERPOLATION = re.compile(r"\$\{([^}:]+)\}")


def gym_roots(nemo_rl_root: Path) -> list[Path]:
    """Where Gym looks for relative config paths, in order; a run's cwd is the NeMo-RL root."""
    extra = os.environ.get("NEMO_GYM_EXTRA_ROOTS", "")
    roots = [Path(p) for p in extra.split(os.pathsep) if p]
    roots.append(nemo_rl_root)
    try:
        spec = importlib.util.find_spec("nemo_gym")
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        roots.append(Path(spec.origin).resolve().parent.parent)
    roots.append(nemo_rl_root / "3rdparty" / "Gym-workspace" / "Gym")
    return roots


def has_gym_install(roots: list[Path]) -> bool:
    return any((root / "responses_api_models").is_dir() for root in roots)


def resolve_config_path(entry: str, roots: list[Path]) -> Path | None:
    path = Path(entry)
    if path.is_absolute():
        return path if path.is_file() else None
    for root in roots:
        candidate = root / path
        if candidate.is_file():
            return candidate
    return None


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _load_with_includes(path: Path, roots: list[Path], problems: list[LaunchRejected]) -> dict:
    data = yaml.safe_load(path.read_text()) or {}
    merged: dict[str, Any] = {}
    for entry in data.pop("config_paths", None) or []:
        included = resolve_config_path(entry, roots)
        if included is None:
            problems.append(_unresolved(entry, f"included by {path}", roots))
            continue
        merged = deep_merge(merged, _load_with_includes(included, roots, problems))
    return deep_merge(merged, data)


def _unresolved(entry: str, where: str, roots: list[Path]) -> LaunchRejected:
    return LaunchRejected(
        f"env.nemo_gym.config_paths: {entry}",
        f"not found ({where}); looked under " + ", ".join(str(r) for r in roots),
        "fix the path, set NEMO_GYM_EXTRA_ROOTS to the folder that holds it, or point "
        "launch.nemo_rl_root at a NeMo-RL checkout with its Gym submodule",
    )


def is_instance(value: Any) -> bool:
    return isinstance(value, dict) and any(t in value for t in SERVER_TYPES)


def server_type(block: dict[str, Any]) -> str:
    return next(t for t in SERVER_TYPES if t in block)


def _collapse_implementations(name: str, block: dict[str, Any]) -> dict[str, Any]:
    """Keep one implementation: the one named like the instance, then genrm_model, vllm_model."""
    kind = server_type(block)
    impls = block[kind]
    if not isinstance(impls, dict) or len(impls) <= 1:
        return block
    keep = next((n for n in (name, *PREFERRED_IMPLEMENTATIONS) if n in impls), next(iter(impls)))
    return {**block, kind: {keep: impls[keep]}}


def _expand_copy(name: str, instances: dict[str, Any]) -> dict[str, Any]:
    """`_copy: <instance>` → a deep copy of that instance with this block's keys on top."""
    block = instances[name]
    source = block.get("_copy")
    if source is None:
        return block
    if source not in instances:
        raise LaunchRejected(
            f"env.nemo_gym.{name}._copy",
            f"copies '{source}', which no config defines",
            "name an instance defined in config_paths or env.nemo_gym",
        )
    rest = {k: v for k, v in block.items() if k != "_copy"}
    base = _collapse_implementations(source, _expand_copy(source, instances))
    kind = server_type(base)
    impl = next(iter(base[kind]))
    overrides = rest.get(kind)
    if isinstance(overrides, dict) and len(overrides) == 1 and impl not in overrides:
        # Written for a differently named implementation: it applies to the copied one.
        rest[kind] = {impl: next(iter(overrides.values()))}
    return deep_merge(base, rest)


def server_refs(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(where, type, name) of every `{type: <server type>, name: ...}` reference."""
    if isinstance(node, dict):
        if node.get("type") in SERVER_TYPES and isinstance(node.get("name"), str):
            yield path, node["type"], node["name"]
        for key, value in node.items():
            yield from server_refs(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from server_refs(value, f"{path}[{i}]")


@dataclass
class GymConfig:
    """The materialized global config: inline settings plus every instance, files inlined."""

    settings: dict[str, Any]
    instances: dict[str, dict[str, Any]]
    problems: list[LaunchRejected] = field(default_factory=list)

    def as_env_block(self) -> dict[str, Any]:
        return {**self.settings, **self.instances}

    def agents(self) -> set[str]:
        return {n for n, b in self.instances.items() if server_type(b) == AGENTS}

    def implementation(self, name: str) -> tuple[str, dict[str, Any]]:
        block = self.instances[name]
        kind = server_type(block)
        impl_name, impl = next(iter(block[kind].items()))
        return impl_name, impl


def materialize(
    nemo_gym: dict[str, Any], roots: list[Path], *, inline_only: bool = False
) -> GymConfig:
    """Inline config_paths under the env.nemo_gym blocks, one implementation per instance."""
    problems: list[LaunchRejected] = []
    from_files = _merge_config_paths(nemo_gym.get("config_paths") or [], roots, problems)
    inline = {k: v for k, v in nemo_gym.items() if k not in NEMO_RL_ONLY_KEYS}
    merged = deep_merge(from_files, inline)

    instances = {k: v for k, v in merged.items() if is_instance(v) or _is_copy(v)}
    settings = {k: v for k, v in merged.items() if k not in instances}
    if not inline_only:
        problems += _orphan_problems(inline, from_files)
    gym = GymConfig(settings=settings, instances=_expand(instances, problems), problems=problems)
    _add_reasoning_off_alias(gym)
    return gym


def _merge_config_paths(
    entries: list[Any], roots: list[Path], problems: list[LaunchRejected]
) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for entry in entries:
        path = resolve_config_path(str(entry), roots)
        if path is None:
            problems.append(_unresolved(str(entry), "listed in env.nemo_gym.config_paths", roots))
            continue
        merged = deep_merge(merged, _load_with_includes(path, roots, problems))
    return merged


def _orphan_problems(inline: dict[str, Any], from_files: dict[str, Any]) -> list[LaunchRejected]:
    orphans = [k for k, v in inline.items() if _is_orphan(k, v, from_files)]
    return [
        LaunchRejected(
            f"env.nemo_gym.{name}",
            "overrides a server instance that no config in config_paths defines, so Gym "
            "would ignore it without a word",
            "key overrides by the instance name (the top-level key of the server's YAML), "
            "e.g. genrm_compare_resources_server, not genrm_compare",
        )
        for name in sorted(orphans)
    ]


def _expand(instances: dict[str, Any], problems: list[LaunchRejected]) -> dict[str, dict[str, Any]]:
    """`_copy` expanded and one implementation kept per instance; a bad `_copy` is a problem and
    leaves the copies out."""
    try:
        return {n: _collapse_implementations(n, _expand_copy(n, instances)) for n in instances}
    except LaunchRejected as err:
        problems.append(err)
        return {n: b for n, b in instances.items() if is_instance(b)}


def _is_copy(value: Any) -> bool:
    return isinstance(value, dict) and "_copy" in value


def _is_orphan(name: str, block: Any, from_files: dict[str, Any]) -> bool:
    """An inline instance block that only overrides (no entrypoint) something no file defines."""
    if not is_instance(block) or _is_copy(block) or name in from_files:
        return False
    impls = block[server_type(block)]
    return not any(isinstance(i, dict) and "entrypoint" in i for i in (impls or {}).values())


def _add_reasoning_off_alias(gym: GymConfig) -> None:
    """Define policy_model_reasoning_off as policy_model with thinking off, when referenced."""
    wanted = any(name == REASONING_OFF_ALIAS for _, _, name in server_refs(gym.instances))
    if not wanted or REASONING_OFF_ALIAS in gym.instances or "policy_model" not in gym.instances:
        return
    impl_name, impl = gym.implementation("policy_model")
    off = deep_merge(impl, {"chat_template_kwargs": {"enable_thinking": False}})
    gym.instances[REASONING_OFF_ALIAS] = {"responses_api_models": {impl_name: off}}


def check(gym: GymConfig, grpo: dict[str, Any]) -> list[LaunchRejected]:
    """Everything that would fail or hang once Gym starts."""
    problems = list(gym.problems)
    if "policy_model" not in gym.instances:
        problems.append(
            LaunchRejected(
                "env.nemo_gym.config_paths",
                "defines no `policy_model` instance, through which Gym reaches the policy",
                "list responses_api_models/vllm_model/configs/vllm_model_for_training.yaml first",
            )
        )
    for where, kind, name in server_refs(gym.instances):
        block = gym.instances.get(name)
        if block is None or server_type(block) != kind:
            problems.append(
                LaunchRejected(
                    f"env.nemo_gym.{where}",
                    f"refers to {kind} instance '{name}', which no config defines",
                    "define it (add its YAML to config_paths) or fix the name",
                )
            )
    defined = set(gym.settings) | set(gym.instances) | PROVIDED_AT_START
    for where, value in leaf_paths(gym.as_env_block()):
        if value == "???":
            problems.append(LaunchRejected(f"env.nemo_gym.{where}", "has no value (???)", "set it"))
        elif isinstance(value, str):
            for ref in _INTERPOLATION.findall(value):
                if ref.split(".")[0] not in defined:
                    problems.append(
                        LaunchRejected(
                            f"env.nemo_gym.{where}",
                            f"uses ${{{ref}}}, which is not set",
                            f"set env.nemo_gym.{ref}",
                        )
                    )
    problems.extend(check_genrm(gym, grpo))
    return problems


def check_genrm(gym: GymConfig, grpo: dict[str, Any]) -> list[LaunchRejected]:
    group = grpo.get("num_generations_per_prompt")
    found = []
    for name, block in gym.instances.items():
        if server_type(block) != "resources_servers":
            continue
        impl_name, impl = gym.implementation(name)
        rollouts = impl.get("num_rollouts_per_prompt") if isinstance(impl, dict) else None
        if rollouts is not None and rollouts != group:
            found.append(
                LaunchRejected(
                    f"env.nemo_gym.{name}.resources_servers.{impl_name}.num_rollouts_per_prompt",
                    f"is {rollouts} but grpo.num_generations_per_prompt is {group}: the judge "
                    "waits for a full cohort that never comes, and training hangs",
                    f"set it to ${{grpo.num_generations_per_prompt}} (now {group})",
                )
            )
    return found
