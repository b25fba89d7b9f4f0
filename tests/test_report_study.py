"""`python -m nemotron_align.report` on a study folder: a real β by SFT-weight sweep of the stand-in
NeMo-RL, with an Optuna study made in its folder as the sweeper makes one (study_record.py), one
trial per job scored by the job's last validation loss as TensorBoard holds it, plus a trial that
failed and one that was pruned."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import optuna
import pytest
from conftest import run_cli
from test_report import BETA_KEY, known_loss, report

from nemotron_align.records import study_record
from nemotron_align.records.study_record import StudyFacts
from nemotron_align.results.report_rows import build_report

STEPS = 3
SFT_KEY = "dpo.sft_loss_weight"
METRIC = "val:validation-default_loss"
VIEWS = ["study_history.png", "study_importances.png", "study_slice.png"]
DISTRIBUTIONS = {
    BETA_KEY: optuna.distributions.FloatDistribution(0.01, 0.5, log=True),
    SFT_KEY: optuna.distributions.CategoricalDistribution([0.0, 0.1]),
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six jobs: β 0.05, 0.1, 0.3 by SFT weight 0, 0.1 (the stand-in's loss ignores the weight, so
    jobs 2 and 3 tie as the best and the first, job 2, wins)."""
    tmp_path = tmp_path_factory.mktemp("study")
    env = {
        "NEMO_RL_ROOT": str(Path(__file__).parent / "stand_in_nemo_rl"),
        "STAND_IN_RECORD": str(tmp_path / "record.json"),
        "STAND_IN_TRAIN_STEPS": str(STEPS),
    }
    folder = tmp_path / "sweep"
    argv = ["sweep=dpo_beta", "data=tiny", f"{SFT_KEY}=0,0.1", f"hydra.sweep.dir={folder}"]
    launched = run_cli(argv, tmp_path, env)
    assert launched.returncode == 0, launched.stderr
    return folder


def make_study(
    folder: Path, kind: str, jobs: list[str], values: dict[str, float] | None = None
) -> None:
    """The study of `folder` (any earlier one removed): a COMPLETE trial per job in `jobs`, its
    value the job's last loss (or `values`), then a FAIL and a PRUNED trial."""
    for name in [study_record.STUDY_JSON, *study_record.FILES.values()]:
        (folder / name).unlink(missing_ok=True)
    space = {BETA_KEY: "tag(log, interval(0.01, 0.5))", SFT_KEY: "choice(0, 0.1)"}
    facts = StudyFacts("dpo_search", kind, METRIC, "minimize", "last", space, ["data=tiny"])
    study_record.write_facts(folder, facts)
    study = optuna.create_study(
        study_name=facts.study_name,
        storage=study_record.open_storage(folder, kind),
        direction="minimize",
    )
    rows = {row.job: row for row in build_report(folder).rows}
    for job in jobs:
        row = rows[job]
        params = {BETA_KEY: float(row.swept[BETA_KEY]), SFT_KEY: float(row.swept[SFT_KEY])}
        trial = optuna.trial.create_trial(
            params=params,
            distributions=DISTRIBUTIONS,
            value=(values or {}).get(job, row.last),
            user_attrs={
                study_record.JOB_FOLDER: str(row.folder),
                study_record.OVERRIDES: [
                    "algo=dpo",
                    "data=tiny",
                    *(f"{k}={v}" for k, v in params.items()),
                ],
            },
        )
        study.add_trial(trial)
    rejected = {BETA_KEY: 0.02, SFT_KEY: 0.0}
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            params=rejected,
            distributions=DISTRIBUTIONS,
            user_attrs={study_record.REASON: "preflight: train batch does not divide"},
        )
    )
    study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.PRUNED,
            params={BETA_KEY: 0.45, SFT_KEY: 0.1},
            distributions=DISTRIBUTIONS,
            intermediate_values={1: 0.9},
            user_attrs={study_record.REASON: "pruned at step 1"},
        )
    )


ALL_JOBS = [str(n) for n in range(6)]


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_study_folder_reports_its_best_trial_and_optunas_views(
    sweep: Path, tmp_path: Path, kind: str
) -> None:
    make_study(sweep, kind, ALL_JOBS)
    assert (sweep / study_record.FILES[kind]).is_file()
    result = report(sweep, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr

    best_loss = known_loss(0.1, STEPS)
    study = json.loads((tmp_path / "report.json").read_text())["study"]
    assert study["best_trial"]["value"] == pytest.approx(best_loss, rel=1e-6)
    study["best_trial"]["value"] = None
    command = (
        f"python -m nemotron_align algo=dpo data=tiny {BETA_KEY}=0.1 {SFT_KEY}=0.0 hydra.mode=RUN"
    )
    assert study == {
        "name": "dpo_search",
        "direction": "minimize",
        "metric": METRIC,
        "objective": "last",
        "states": {"complete": 6, "pruned": 1, "fail": 1, "running": 0, "waiting": 0},
        "n_trials": 8,
        "best_trial": {
            "number": 2,
            "value": None,
            "params": {BETA_KEY: 0.1, SFT_KEY: 0.0},
            "job_folder": str(sweep / "2"),
            "command": command,
        },
        "views": VIEWS,
    }
    assert json.loads((tmp_path / "report.json").read_text())["best_job"] == "2"

    for view in VIEWS:
        image = matplotlib.image.imread(tmp_path / view)
        height, width, _ = image.shape
        assert 300 <= height <= 1000 and 400 <= width <= 1600, (view, image.shape)
        assert image[..., :3].std() > 0.05  # drawn on, not a blank canvas
    assert matplotlib.image.imread(tmp_path / "report.png").shape == (450, 1200, 4)

    lines = result.stdout.splitlines()
    at = lines.index("study dpo_search: 8 trials: 6 complete, 1 failed, 1 pruned")
    assert lines[at - 1] == "best: job 2 (marked *)"  # under the table
    assert lines[at + 1 : at + 5] == [
        f"best trial 2: {METRIC} = {best_loss:.6g} (last value)",
        f"  params: {BETA_KEY}=0.1, {SFT_KEY}=0.0",
        f"  run folder: {sweep / '2'}",
        f"  command: {command}",
    ]
    assert "note:" not in result.stdout
    assert result.stdout.rstrip().endswith("study_slice.png")


def test_no_plot_skips_the_study_views_too(sweep: Path, tmp_path: Path) -> None:
    make_study(sweep, "sqlite", ALL_JOBS)
    result = report(sweep, "--out", tmp_path, "--no-plot")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.json"]
    study = json.loads((tmp_path / "report.json").read_text())["study"]
    assert study["views"] == [] and study["best_trial"]["number"] == 2
    assert "study dpo_search: 8 trials" in result.stdout


def test_a_study_with_one_complete_trial_draws_what_it_can(sweep: Path, tmp_path: Path) -> None:
    make_study(sweep, "sqlite", ["0"])
    result = report(sweep, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    for view in VIEWS[1:]:
        assert f"note: {view} skipped: needs 2 complete trials, the study has 1" in result.stderr
        assert not (tmp_path / view).exists()
    assert matplotlib.image.imread(tmp_path / "study_history.png").shape[0] >= 300
    study = json.loads((tmp_path / "report.json").read_text())["study"]
    assert study["views"] == ["study_history.png"]
    assert study["states"]["complete"] == 1 and study["best_trial"]["number"] == 0
    assert "study dpo_search: 3 trials: 1 complete, 1 failed, 1 pruned" in result.stdout


def test_a_study_whose_best_trial_is_not_the_tables_best_job_says_both(
    sweep: Path, tmp_path: Path
) -> None:
    """The study scores its own way (here told values by hand): the report states both winners."""
    make_study(sweep, "sqlite", ALL_JOBS, values={"4": 0.1})
    result = report(sweep, "--out", tmp_path, "--no-plot")
    assert result.returncode == 0, result.stderr
    assert "best: job 2 (marked *)" in result.stdout
    assert "best trial 4: " in result.stdout
    note = (
        "note: the study's best trial is 4 (last value 0.1); the table's best job (*) is 2 "
        f"(best over steps: {known_loss(0.1, STEPS):.6g} at step {STEPS})"
    )
    assert note in result.stdout
    data = json.loads((tmp_path / "report.json").read_text())
    assert (data["best_job"], data["study"]["best_trial"]["number"]) == ("2", 4)


def test_a_sweep_folder_without_a_study_reports_as_before(sweep: Path, tmp_path: Path) -> None:
    for name in [study_record.STUDY_JSON, *study_record.FILES.values()]:
        (sweep / name).unlink(missing_ok=True)
    result = report(sweep, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "study" not in json.loads((tmp_path / "report.json").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.json", "report.png"]
    assert "study " not in result.stdout


def test_a_study_json_naming_a_study_its_storage_lacks_is_refused(
    sweep: Path, tmp_path: Path
) -> None:
    make_study(sweep, "sqlite", ALL_JOBS)
    facts = json.loads((sweep / study_record.STUDY_JSON).read_text())
    (sweep / study_record.STUDY_JSON).write_text(json.dumps({**facts, "study_name": "other"}))
    result = report(sweep, "--out", tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: {sweep / study_record.STUDY_JSON}: names study 'other', "
        "which study.db does not hold"
    )
    assert "fix: " in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())


def test_a_study_database_that_is_not_one_is_refused(sweep: Path, tmp_path: Path) -> None:
    make_study(sweep, "sqlite", ALL_JOBS)
    (sweep / "study.db").write_text("not a database\n")
    result = report(sweep, "--out", tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith(
        f"error: {sweep / 'study.db'}: is not an Optuna study database (file is not a database)"
    )
    assert "fix: remove study.json" in result.stderr and "Traceback" not in result.stderr
    assert not list(tmp_path.iterdir())
