"""The search space in Hydra's sweep grammar, the samplers and pruners it picks, and where the
study is stored: in-process, with Optuna's real classes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from nemotron_align.errors import LaunchRejected
from nemotron_align.records import study_record
from nemotron_align.search.samplers import grid_points, make_pruner, make_sampler
from nemotron_align.search.settings import Pruner, Sampler, SearchSettings
from nemotron_align.search.space import parse_space


def test_each_sweep_expression_is_its_distribution() -> None:
    space = parse_space(
        [
            "a=interval(0.01,0.5)",
            "b=tag(log,interval(1e-6,1e-4))",
            "c=tag(int,interval(1,64))",
            "d=range(4,17,4)",
            "e=range(0.5,2.0,0.5)",
            "f=choice(4,8,16)",
            "g=x,y",
            "+h=choice(true,false)",
            "data=tiny",
        ]
    )
    assert space.distributions == {
        "a": FloatDistribution(0.01, 0.5),
        "b": FloatDistribution(1e-6, 1e-4, log=True),
        "c": IntDistribution(1, 64),
        "d": IntDistribution(4, 16, step=4),
        "e": FloatDistribution(0.5, 1.5, step=0.5),
        "f": CategoricalDistribution([4, 8, 16]),
        "g": CategoricalDistribution(["x", "y"]),
        "h": CategoricalDistribution([True, False]),
    }
    assert space.fixed == ["data=tiny"]
    assert space.overrides({"a": 0.123456789012345, "h": True, "g": "y"}) == [
        "data=tiny",
        "a=0.123456789012",
        "+h=true",
        "g=y",
    ]


def test_the_command_line_wins_over_the_preset() -> None:
    space = parse_space(["beta=tag(log,interval(0.01,0.5))", "beta=interval(0.2,0.3)", "lr=1,2"])
    assert space.distributions["beta"] == FloatDistribution(0.2, 0.3)
    # A value given plainly fixes it: no longer searched.
    space = parse_space(["beta=interval(0.2,0.3)", "lr=1,2", "beta=0.1"])
    assert list(space.distributions) == ["lr"] and space.fixed == ["beta=0.1"]


@pytest.mark.parametrize(
    ("arguments", "where", "problem"),
    [
        (["beta=0.1"], "hydra.sweeper.params", "names nothing to search"),
        (["beta=glob(*)"], "beta", "cannot be searched"),
        (["beta=choice([1,2],[3])"], "beta", "cannot be searched"),
        (["beta=tag(linear,interval(0,1))"], "beta", "unknown tag(s) ['linear']"),
    ],
)
def test_what_cannot_be_searched_is_refused(arguments: list[str], where: str, problem: str) -> None:
    with pytest.raises(LaunchRejected) as refused:
        parse_space(arguments)
    assert refused.value.where == where and problem in refused.value.problem


def test_a_grid_is_every_combination_in_the_order_written() -> None:
    settings = SearchSettings(sampler=Sampler.grid)
    space = parse_space(["g=choice(4,8)", "d=range(1,4)"])
    assert grid_points(settings, space) == [{"g": g, "d": d} for g in (4, 8) for d in (1, 2, 3)]
    assert grid_points(SearchSettings(), space) is None
    with pytest.raises(LaunchRejected, match="is continuous"):
        grid_points(settings, parse_space(["beta=interval(0.1,0.2)"]))


def test_the_samplers_and_pruners_named() -> None:
    space = parse_space(["beta=interval(0.1,0.2)", "g=choice(4,8)"])
    kinds = {
        Sampler.tpe: optuna.samplers.TPESampler,
        Sampler.random: optuna.samplers.RandomSampler,
        Sampler.grid: optuna.samplers.RandomSampler,  # the grid is enqueued
        Sampler.cmaes: optuna.samplers.CmaEsSampler,
    }
    for sampler, kind in kinds.items():
        assert isinstance(make_sampler(SearchSettings(sampler=sampler), space), kind)
    with pytest.raises(LaunchRejected, match="cmaes searches numbers"):
        make_sampler(SearchSettings(sampler=Sampler.cmaes), parse_space(["g=choice(4,8)"]))
    assert isinstance(make_pruner(SearchSettings()), optuna.pruners.MedianPruner)
    hyperband = make_pruner(SearchSettings(pruner=Pruner.hyperband))
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert isinstance(make_pruner(SearchSettings(pruner=Pruner.none)), optuna.pruners.NopPruner)


def test_cmaes_samples_a_numeric_space_through_ask_and_tell() -> None:
    space = parse_space(["x=interval(-1.0,1.0)", "y=interval(-1.0,1.0)"])
    sampler = make_sampler(SearchSettings(sampler=Sampler.cmaes, seed=0, n_startup_trials=2), space)
    study = optuna.create_study(sampler=sampler)
    for _ in range(12):
        trial = study.ask(space.distributions)
        study.tell(trial, trial.params["x"] ** 2 + trial.params["y"] ** 2)
    assert study.best_value < 0.1


def test_auto_storage_is_the_journal_on_a_network_file_system(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psutil

    def mounts(fstype: str) -> list[SimpleNamespace]:
        return [
            SimpleNamespace(mountpoint="/", fstype="ext4"),
            SimpleNamespace(mountpoint=str(tmp_path), fstype=fstype),
        ]

    for fstype, kind in (("nfs4", "journal"), ("lustre", "journal"), ("xfs", "sqlite")):
        monkeypatch.setattr(psutil, "disk_partitions", lambda all, f=fstype: mounts(f))
        assert study_record.storage_kind(study_record.StorageKind.auto, tmp_path / "study") == kind
    assert study_record.storage_kind(study_record.StorageKind.sqlite, tmp_path) == "sqlite"


def test_settings_out_of_range_are_refused() -> None:
    for bad, key in (
        (SearchSettings(n_trials=0), "n_trials"),
        (SearchSettings(n_jobs=0), "n_jobs"),
        (SearchSettings(watch_interval_s=0), "watch_interval_s"),
    ):
        with pytest.raises(LaunchRejected) as refused:
            bad.validate()
        assert refused.value.where == f"hydra.sweeper.{key}"
