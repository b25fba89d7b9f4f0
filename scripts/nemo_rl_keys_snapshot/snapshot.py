"""Per trainer, the key tree of its MasterConfig with the example YAMLs' keys, as text."""

from __future__ import annotations

from dataclasses import dataclass

from .node import Node
from .schema import Schema
from .source import Source
from .wandb_init import add_wandb_init_kwargs
from .yaml_keys import add_yaml_keys, defaults_chain, example_yamls

# Trainer -> the module of its MasterConfig. A YAML whose merged top level has the trainer's
# section (`dpo:`, `grpo:`) is an example config of that trainer.
MASTER_CONFIGS = {"dpo": "nemo_rl.algorithms.dpo", "grpo": "nemo_rl.algorithms.grpo"}
# Sections NeMo-RL hands on whole as keyword arguments to another library, which knows more keys
# than the TypedDict declares (and raises on a wrong one): open where the release has them.
PASSED_THROUGH = {
    "policy.dtensor_cfg.automodel_kwargs": "Automodel's from_pretrained(**automodel_kwargs)",
    "policy.dtensor_cfg.moe_parallelizer": "Automodel's MoEParallelizerConfig(**...)",
    "policy.megatron_cfg.optimizer": "Megatron's OptimizerConfig(**...)",
    "policy.megatron_cfg.scheduler": "Megatron's SchedulerConfig(**...)",
}


@dataclass
class TrainerSnapshot:
    lines: list[str]
    yamls: list[str]


def snapshot(source: Source) -> tuple[dict[str, TrainerSnapshot], set[str]]:
    """Per trainer: the snapshot lines and the example YAMLs they took keys from."""
    schema = Schema(source)
    chains = {path: defaults_chain(source, path) for path in example_yamls(source)}
    found = {}
    for trainer, module_name in MASTER_CONFIGS.items():
        root = _master_config(schema, module_name)
        yamls = [
            path
            for path, chain in chains.items()
            if trainer in {str(key) for data in chain for key in data}
        ]
        for path in yamls:
            for data in chains[path]:
                add_yaml_keys(root, data, top=True)
        lines = sorted(root.lines("", "required"), key=lambda line: line.split(" ", 1)[0])
        found[trainer] = TrainerSnapshot(lines, yamls)
    return found, schema.unresolved


def _master_config(schema: Schema, module_name: str) -> Node:
    mod = schema.module(module_name)
    if mod is None or "MasterConfig" not in mod.classes:
        raise SystemExit(f"{module_name}.MasterConfig not found at {schema.source.tag}")
    node = schema.class_node(mod, "MasterConfig")
    if node is None:
        raise SystemExit(f"{module_name}.MasterConfig is no TypedDict or BaseModel")
    root = node.copy()  # the YAML keys go into this copy, not into the shared class nodes
    for dotted in PASSED_THROUGH:
        section: Node | None = root
        for name in dotted.split("."):
            section = section.fields.get(name) if section is not None else None
        if section is not None:
            section.open = True
    add_wandb_init_kwargs(root)
    return root


def render(tag: str, origin: str, trainers: dict[str, TrainerSnapshot]) -> str:
    counts = ", ".join(f"{name} {len(found.yamls)}" for name, found in trainers.items())
    header = [
        f"# Config keys NeMo-RL {tag} knows ({origin}), per trainer.",
        "# Made by scripts/snapshot_nemo_rl_keys.py from the MasterConfig schemas and the keys of",
        f"# the example YAMLs ({counts}). Line format: preflight/nemo_rl_keys/__init__.py.",
    ]
    body = [line for name, found in trainers.items() for line in [f"[{name}]", *found.lines]]
    return "\n".join([*header, *body]) + "\n"
