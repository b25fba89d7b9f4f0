"""Every check before a launch, as one registry: each takes the rendered NeMo-RL config and the
PreflightContext and returns the problems it found (warnings go to context.warnings). A new check
is one more entry in CHECKS."""

from __future__ import annotations

import copy
import logging
import sys
from collections.abc import Callable

from nemotron_align.config.launch_schema import PreflightMode
from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.gym.run_config import apply_validation_size
from nemotron_align.preflight import gym as gym_preflight
from nemotron_align.preflight import nemo_rl_keys
from nemotron_align.preflight.context import PreflightContext
from nemotron_align.preflight.data import check_data
from nemotron_align.preflight.nemo_rl_schema import nemo_rl_importable, schema_problems
from nemotron_align.preflight.pairing import Trainer
from nemotron_align.preflight.resume import resume_problems
from nemotron_align.preflight.semantics import check_semantics

log = logging.getLogger("nemotron_align")

Check = Callable[[dict, PreflightContext], list[LaunchRejected]]


def release_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    """The config is composed for one release; the checkout that will run must be that one."""
    settings, install = context.settings, context.install
    if install.release in (None, settings.nemo_rl_release):
        return []
    return [
        LaunchRejected(
            "nemo_rl",
            f"the config is composed for NeMo-RL {settings.nemo_rl_release}, but "
            f"{install.root} holds NeMo-RL {install.release}",
            f"add nemo_rl={install.release} (or leave nemo_rl out: the release under "
            "launch.nemo_rl_root is then used)",
        )
    ]


def semantic_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    return check_semantics(config, context)


def _as_handed_to_nemo_rl(config: dict, trainer: Trainer) -> dict:
    """The config as NeMo-RL's schema will see it: the Gym runner fills grpo.max_val_samples and
    val_batch_size from the validation set first (any count will do for the check)."""
    if trainer is not Trainer.grpo_nemo_gym:
        return config
    handed = copy.deepcopy(config)
    apply_validation_size(handed["grpo"], 1)
    return handed


def schema_or_key_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    """NeMo-RL's own schema where it is importable; else, offline, the key snapshot of the
    release, whose warnings are kept."""
    trainer = context.trainer
    handed = _as_handed_to_nemo_rl(config, trainer)
    if nemo_rl_importable():
        return schema_problems(handed, trainer)
    errors, found = nemo_rl_keys.problems(handed, context.settings.nemo_rl_release, trainer.schema)
    context.warnings += [f"warning: {text}" for text in found]
    return errors


def gym_run_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    """Everything that would make a Gym run fail or hang, in the run's materialized Gym config."""
    if context.trainer is not Trainer.grpo_nemo_gym:
        return []
    _, problems = gym_preflight.gym_problems(
        config, context.gym_roots, context.install.root, gym=context.gym
    )
    return problems


def data_problems(config: dict, context: PreflightContext) -> list[LaunchRejected]:
    root = context.install.root if context.settings.recipe else None
    errors, found = check_data(config, context.trainer, root)
    context.warnings += found
    return errors


CHECKS: tuple[Check, ...] = (
    release_problems,
    semantic_problems,
    schema_or_key_problems,
    gym_run_problems,
    data_problems,
    resume_problems,
)


def _problems_of(check: Check, config: dict, context: PreflightContext) -> list[LaunchRejected]:
    try:
        return check(config, context) or []
    except LaunchRejectedMany as err:
        return list(err.problems)
    except LaunchRejected as err:
        return [err]


def run_preflight(config: dict, context: PreflightContext, show: bool) -> list[str]:
    """Every check; all problems are gathered, then refused (strict) or shown. Returns the
    warnings (printed first when `show`)."""
    problems = [p for check in CHECKS for p in _problems_of(check, config, context)]
    if show:
        for warning in context.warnings:
            print(warning, file=sys.stderr)
    if not problems:
        return context.warnings
    if context.settings.preflight is PreflightMode.strict:
        raise LaunchRejectedMany(problems)
    shown = [p.render().replace("error:", "warning:", 1) for p in problems]
    if show:
        print("\n".join(shown), file=sys.stderr)
    log.warning("launch.preflight=warn: launching despite %d problem(s)", len(problems))
    return context.warnings + shown
