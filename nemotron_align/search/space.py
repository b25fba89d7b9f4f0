"""The search space, in Hydra's sweep grammar, as Optuna distributions; a sampled point as the
overrides of one job.

    key=interval(0.01,0.5)             a float in [0.01, 0.5]
    key=tag(log,interval(1e-6,1e-4))   the same on a log scale
    key=tag(int,interval(1,64))        an integer in [1, 64]  (with log too: tag(int,log,...))
    key=range(4,17,4)                  4, 8, 12 or 16 (Hydra's range: the stop is excluded)
    key=choice(4,8,16) or key=4,8,16   one of these values
    key=value                          the same in every trial

`hydra.sweeper.params` (a search/ or sweep/ preset) comes first, the command line wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from nemotron_align.errors import LaunchRejected

KNOWN_TAGS = {"log", "int"}
Choice = None | bool | int | float | str


@dataclass
class SearchSpace:
    # Optuna param name (the config key) -> its distribution.
    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    # Param name -> the key element as typed ("+key" adds a key the config lacks).
    key_elements: dict[str, str] = field(default_factory=dict)
    # As typed, for study.json and the resume check.
    expressions: dict[str, str] = field(default_factory=dict)
    # Overrides every trial gets.
    fixed: list[str] = field(default_factory=list)

    def overrides(self, params: dict[str, Any]) -> list[str]:
        """A sampled point as a job's overrides: the fixed ones, then one per param."""
        return [*self.fixed, *(f"{self.key_elements[k]}={_text(v)}" for k, v in params.items())]

    def grid(self) -> dict[str, list[Choice]]:
        """Every value of every param, for the grid sampler; refused for a continuous param."""
        values = {}
        for name, dist in self.distributions.items():
            if isinstance(dist, CategoricalDistribution):
                values[name] = list(dist.choices)
            elif isinstance(dist, IntDistribution) and not dist.log:
                values[name] = list(range(dist.low, dist.high + 1, dist.step))
            elif isinstance(dist, FloatDistribution) and dist.step is not None:
                count = round((dist.high - dist.low) / dist.step) + 1
                values[name] = [dist.low + i * dist.step for i in range(count)]
            else:
                raise LaunchRejected(
                    "hydra.sweeper.sampler",
                    f"grid needs a finite set of values, but {name}={self.expressions[name]} "
                    "is continuous",
                    "give it as choice(...) or range(...), or use sampler=tpe or random",
                )
        return values


def parse_space(arguments: list[str]) -> SearchSpace:
    """The search space of these overrides (later ones win for the same key)."""
    parsed = OverridesParser.create().parse_overrides(arguments)
    by_key: dict[str, Override] = {}
    for override in parsed:
        by_key.pop(override.key_or_group, None)
        by_key[override.key_or_group] = override
    space = SearchSpace()
    for key, override in by_key.items():
        if not override.is_sweep_override():
            space.fixed.append(override.input_line or "")
            continue
        space.distributions[key] = _distribution(override)
        space.key_elements[key] = override.get_key_element()
        space.expressions[key] = (override.input_line or "").partition("=")[2]
    if not space.distributions:
        raise LaunchRejected(
            "hydra.sweeper.params",
            "names nothing to search: no override is an interval, range or choice",
            "add one, e.g. 'dpo.reference_policy_kl_penalty=tag(log,interval(0.01,0.5))', "
            "or a preset: search=dpo_beta",
        )
    return space


def _distribution(override: Override) -> BaseDistribution:
    value = override.value()
    where = override.key_or_group
    tags = set(getattr(value, "tags", ()))
    if tags - KNOWN_TAGS:
        raise LaunchRejected(
            where,
            f"unknown tag(s) {sorted(tags - KNOWN_TAGS)} in {override.input_line}",
            "tag a search dimension with log and/or int only: tag(log,interval(1e-6,1e-4))",
        )
    if isinstance(value, IntervalSweep):
        if "int" in tags:
            return IntDistribution(int(value.start), int(value.end), log="log" in tags)
        return FloatDistribution(float(value.start), float(value.end), log="log" in tags)
    if isinstance(value, RangeSweep):
        values = list(override.sweep_iterator())
        if all(isinstance(v, int) for v in values):
            return IntDistribution(values[0], values[-1], step=int(value.step))
        return FloatDistribution(float(values[0]), float(values[-1]), step=float(value.step))
    if isinstance(value, ChoiceSweep) and all(_plain(v) for v in value.list):
        return CategoricalDistribution(list(value.list))
    raise LaunchRejected(
        where,
        f"{override.input_line} cannot be searched: use interval(...), range(...) or "
        "choice(...) of plain values (numbers, strings, booleans)",
        "e.g. lr=tag(log,interval(1e-7,1e-5)), grpo.num_generations_per_prompt=choice(4,8,16)",
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _text(value: Choice) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)
