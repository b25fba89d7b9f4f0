"""The keys of `logger.wandb`: NeMo-RL's WandbLogger calls `wandb.init(**cfg, dir=log_dir)` (main
first drops its own `log_nemo_gym_full_result_tables`), so every keyword argument of wandb.init
is a key there, though NeMo-RL's WandbConfig declares only project, name and entity.

The list is wandb 0.31.0's (the wandb of NeMo-RL's v0.6.0 to main environments), taken from
`inspect.signature(wandb.init)`; tests/test_run_identity.py checks it against the real wandb in
NEMO_RL_VENV_PYTHON. It is written here rather than read at snapshot time so that a snapshot
depends on the NeMo-RL tree alone. `dir` is left out: NeMo-RL passes it itself, and a second one
is a TypeError. Their types are not checked (wandb checks them).
"""

from __future__ import annotations

from .node import Node

WANDB_VERSION = "0.31.0"
# Passed by NeMo-RL itself, never from the config.
PASSED_BY_NEMO_RL = frozenset({"dir"})
WANDB_INIT_KWARGS = (
    "allow_val_change",
    "anonymous",
    "config",
    "config_exclude_keys",
    "config_include_keys",
    "entity",
    "force",
    "fork_from",
    "group",
    "id",
    "job_type",
    "mode",
    "monitor_gym",
    "name",
    "notes",
    "project",
    "reinit",
    "resume",
    "resume_from",
    "save_code",
    "settings",
    "sync_tensorboard",
    "tags",
    "tensorboard",
)
SECTION = "logger.wandb"


def add_wandb_init_kwargs(root: Node) -> None:
    """Each wandb.init keyword argument the schema does not declare, as an optional key."""
    section: Node | None = root
    for name in SECTION.split("."):
        section = section.fields.get(name) if section is not None else None
    if section is None:
        return
    for name in WANDB_INIT_KWARGS:
        section.fields.setdefault(name, Node(kinds={"any"}))
