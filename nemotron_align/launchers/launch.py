"""One run, start to finish: check, render and record (plan.prepare), then hand over to NeMo-RL
(execute.execute)."""

from __future__ import annotations

from omegaconf import DictConfig

from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.execute import execute
from nemotron_align.launchers.plan import prepare


def launch(cfg: DictConfig, ctx: LaunchContext) -> int:
    return execute(prepare(cfg, ctx))
