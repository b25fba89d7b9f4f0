"""The Optuna sampler and pruner a search's settings name."""

from __future__ import annotations

import itertools
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution

from nemotron_align.errors import LaunchRejected
from nemotron_align.search.settings import Pruner, Sampler, SearchSettings
from nemotron_align.search.space import SearchSpace

# Trials cost GPU-hours and sampling costs milliseconds: TPE weighs 100 candidates, not 24
# (bench/search.py measures what it buys on a small budget).
TPE_CANDIDATES = 100


def make_sampler(settings: SearchSettings, space: SearchSpace) -> optuna.samplers.BaseSampler:
    seed = settings.seed
    if settings.sampler is Sampler.random:
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler is Sampler.grid:
        # Every point is enqueued (grid_points); Optuna's GridSampler stops the study from
        # inside tell(), which only an optimize() loop allows.
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler is Sampler.cmaes:
        if all(isinstance(d, CategoricalDistribution) for d in space.distributions.values()):
            raise LaunchRejected(
                "hydra.sweeper.sampler",
                "cmaes searches numbers, but every param is a choice(...)",
                "use sampler=tpe (or grid), or give a numeric param as interval(...)/range(...)",
            )
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=settings.n_startup_trials, warn_independent_sampling=False
        )
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=settings.n_startup_trials, n_ei_candidates=TPE_CANDIDATES
    )


def make_pruner(settings: SearchSettings) -> optuna.pruners.BasePruner:
    if settings.pruner is Pruner.median:
        return optuna.pruners.MedianPruner(
            n_startup_trials=settings.pruner_startup_trials,
            n_warmup_steps=settings.pruner_warmup_steps,
        )
    if settings.pruner is Pruner.hyperband:
        return optuna.pruners.HyperbandPruner(min_resource=max(1, settings.pruner_warmup_steps))
    return optuna.pruners.NopPruner()


def grid_points(settings: SearchSettings, space: SearchSpace) -> list[dict[str, Any]] | None:
    """A grid search's points in the order written (its trials, whatever n_trials says); else
    None."""
    if settings.sampler is not Sampler.grid:
        return None
    grid = space.grid()
    return [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
