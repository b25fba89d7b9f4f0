"""`python -m nemotron_align.report` on real launches of the stand-in NeMo-RL: a β sweep with a job
that failed and one still running, a lone run, a run with no metrics yet, and bad folders."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import matplotlib.image
import pytest
from conftest import run_cli, start_cli, wait_for_file
from test_results_metrics import write_events
from test_status import status_json

from nemotron_align.results.report_rows import build_report

BETAS = (0.05, 0.1, 0.3)
STEPS = 60  # DPO validates every 25 steps and at the last: steps 25, 50, 60
VALIDATED = [25, 50, 60]
BETA_KEY = "dpo.reference_policy_kl_penalty"


def known_loss(beta: float, step: int) -> float:
    """The stand-in's DPO validation loss (tests/stand_in_nemo_rl/examples/stand_in_training.py)."""
    return 0.3 + (beta - 0.1) ** 2 + 1 / (step + 1)


def report(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nemotron_align.report", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def live_sweep(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A β sweep exporting its best checkpoints, where β=0.05 failed (exit 9), β=0.1 succeeded
    (and exported) and β=0.3 is still running (the basic launcher runs jobs in turn, so the
    running one is the last); stopped afterwards."""
    tmp_path = tmp_path_factory.mktemp("report")
    sweep_dir = tmp_path / "sweep"
    record = tmp_path / "record.json"
    env = {
        "NEMO_RL_ROOT": str(Path(__file__).parent / "stand_in_nemo_rl"),
        "STAND_IN_RECORD": str(record),
        "STAND_IN_TRAIN_STEPS": str(STEPS),
        "STAND_IN_EXIT_CODE_WHEN": f"{BETA_KEY}=0.05:9",
        "STAND_IN_WAIT_FOR_SIGNAL": f"{BETA_KEY}=0.3",
        "STAND_IN_WAIT_S": "120",
    }
    argv = [
        "-m",
        "algo=dpo",
        "data=tiny",
        "sweep=dpo_beta",
        "launch.export_hf=best",
        f"hydra.sweep.dir={sweep_dir}",
    ]
    proc = start_cli(argv, cwd=tmp_path, env=env, start_new_session=True)
    try:
        wait_for_file(Path(f"{record}.ready"), proc=proc)
        yield sweep_dir
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_report_of_a_sweep_with_a_failed_and_a_running_job(live_sweep: Path) -> None:
    result = report(live_sweep)
    assert result.returncode == 0, result.stderr
    assert "best: job 1" in result.stdout
    assert "running" in result.stdout and "failed (9)" in result.stdout

    data = json.loads((live_sweep / "report.json").read_text())
    assert data["metric"] == "val:validation-default_loss"
    assert data["higher_is_better"] is False
    assert data["swept_keys"] == [BETA_KEY]
    assert data["best_job"] == "1"  # β=0.1 minimises (β - 0.1)^2
    jobs = data["jobs"]
    assert [(j["job"], j["status"], j["exit_code"]) for j in jobs] == [
        ("0", "failed", 9),
        ("1", "succeeded", 0),
        ("2", "running", None),
    ]
    assert [j["best"] for j in jobs] == [False, True, False]
    for job, beta in zip(jobs, BETAS, strict=True):
        assert job["swept"] == {BETA_KEY: str(beta)}
        assert job["steps"] == STEPS
        assert job["metric_tag"] == "validation-default/loss"
        assert job["metric_last"] == pytest.approx(known_loss(beta, STEPS), rel=1e-6)
        assert job["metric_best"] == pytest.approx(known_loss(beta, STEPS), rel=1e-6)
        assert job["metric_best_step"] == STEPS
        accuracy = 1 - known_loss(beta, STEPS) / 2
        assert job["validation"] == {"validation-default/accuracy": pytest.approx(accuracy)}
        assert job["best_checkpoint"] == str(live_sweep / job["job"] / "checkpoints" / "step_60")

    with (live_sweep / "report.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "job",
        BETA_KEY,
        "status",
        "exit_code",
        "steps",
        "metric_last",
        "metric_best",
        "metric_best_step",
        "validation-default/accuracy",
        "best_checkpoint",
        "hf_export",
        "best",
    ]
    assert [(r[BETA_KEY], r["status"], r["exit_code"], r["best"]) for r in rows] == [
        ("0.05", "failed", "9", "False"),
        ("0.1", "succeeded", "0", "True"),
        ("0.3", "running", "", "False"),
    ]
    assert float(rows[1]["metric_best"]) == pytest.approx(known_loss(0.1, STEPS), rel=1e-6)

    image = matplotlib.image.imread(live_sweep / "report.png")
    assert image.shape == (450, 1200, 4)
    assert image[..., :3].std() > 0.05  # drawn on, not a blank canvas


def test_ranking_by_another_metric_needs_its_direction(live_sweep: Path, tmp_path: Path) -> None:
    result = report(live_sweep, "--metric", "validation-default/accuracy", "--out", tmp_path)
    assert result.returncode == 2
    assert "error: --metric:" in result.stderr and "fix: add --higher-is-better" in result.stderr
    assert "Traceback" not in result.stderr and not list(tmp_path.iterdir())

    result = report(
        live_sweep,
        *("--metric", "validation-default/accuracy", "--higher-is-better"),
        *("--out", tmp_path, "--no-plot"),
    )
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["best_job"] == "1"
    assert [j["metric_tag"] for j in data["jobs"]] == ["validation-default/accuracy"] * 3
    assert [j["metric_best_step"] for j in data["jobs"]] == [STEPS] * 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.csv", "report.json"]


def test_report_of_a_lone_run_and_of_a_run_without_metrics(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    run_dir, dry_dir = tmp_path / "run", tmp_path / "dry"
    env = {**stand_in_env, "STAND_IN_TRAIN_STEPS": "30"}
    launched = run_cli(
        ["algo=dpo", "data=tiny", f"{BETA_KEY}=0.2", f"hydra.run.dir={run_dir}"], tmp_path, env
    )
    assert launched.returncode == 0, launched.stderr
    dry = run_cli(
        ["algo=dpo", "data=tiny", "launch.dry_run=true", f"hydra.run.dir={dry_dir}"], tmp_path
    )
    assert dry.returncode == 0, dry.stderr

    assert report(run_dir).returncode == 0
    (job,) = json.loads((run_dir / "report.json").read_text())["jobs"]
    # A plain run execs NeMo-RL: nothing is left to record its end.
    assert job["status"] == "unrecorded" and job["steps"] == 30 and job["best"]
    assert job["swept"][BETA_KEY] == "0.2" and job["swept"]["algo"] == "dpo"
    assert job["metric_best"] == pytest.approx(known_loss(0.2, 30), rel=1e-6)
    assert matplotlib.image.imread(run_dir / "report.png").shape == (450, 1200, 4)

    result = report(dry_dir)
    assert result.returncode == 0, result.stderr
    assert "no job has logged val:validation-default_loss yet" in result.stderr
    data = json.loads((dry_dir / "report.json").read_text())
    assert data["best_job"] is None
    (job,) = data["jobs"]
    assert (job["status"], job["steps"], job["metric_last"], job["best_checkpoint"]) == (
        "dry_run",
        None,
        None,
        None,
    )
    assert matplotlib.image.imread(dry_dir / "report.png").shape == (450, 1200, 4)


@pytest.mark.parametrize("name", ["missing", "empty"])
def test_a_bad_folder_is_refused_without_a_traceback(tmp_path: Path, name: str) -> None:
    (tmp_path / "empty").mkdir()
    result = report(tmp_path / name)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {tmp_path / name}: ")
    assert "\n  fix: " in result.stderr and "Traceback" not in result.stderr
    assert not list((tmp_path / "empty").iterdir())


def test_a_log_dir_outside_the_run_folder_is_read_on_its_own(tmp_path: Path) -> None:
    run_dir, log_dir = tmp_path / "run", tmp_path / "elsewhere" / "logs"
    run_dir.mkdir()
    (run_dir / "launch.json").write_text(json.dumps({"overrides": ["a=1"], "exit_code": 0}))
    config = {
        "logger": {"log_dir": str(log_dir)},
        "checkpointing": {"metric_name": "val:accuracy", "higher_is_better": True},
    }
    (run_dir / "nemo_rl.yaml").write_text(json.dumps(config))
    write_events(log_dir / "exp_001" / "tensorboard", {"validation/accuracy": [(10, 0.5)]})
    (row,) = build_report(run_dir).rows
    assert (row.metric_tag, row.steps, row.last, row.best) == ("validation/accuracy", 10, 0.5, True)


def test_an_out_folder_that_cannot_be_written_is_refused(live_sweep: Path, tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    result = report(live_sweep, "--out", not_a_folder, "--no-plot")
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {not_a_folder}: cannot write the report there")
    assert "fix: pass --out <folder>" in result.stderr and "Traceback" not in result.stderr


def test_a_beta_sweep_end_to_end_launch_status_report_export(live_sweep: Path) -> None:
    """The questions after a sweep, answered from its folder alone: which jobs ended how (status),
    which β won and where its best checkpoint is (report), and that checkpoint in HF format."""
    facts = {j["job"]: j for j in status_json(live_sweep)["jobs"]}
    assert {n: (j["status"], j["progress"]["last_step"]) for n, j in facts.items()} == {
        "0": ("failed", STEPS),
        "1": ("succeeded", STEPS),
        "2": ("running", STEPS),
    }
    progress = {
        row["job"]: row["progress"] for row in json.loads((live_sweep / "sweep.json").read_text())
    }
    assert {n: p["last_step"] for n, p in progress.items()} == {0: STEPS, 1: STEPS, 2: STEPS}

    result = report(live_sweep)
    assert result.returncode == 0, result.stderr
    winner = json.loads((live_sweep / "report.json").read_text())["jobs"][1]
    assert winner["best"] and winner["best_checkpoint"] == str(live_sweep / "1/checkpoints/step_60")

    # Only the job that succeeded exported: its best checkpoint, by NeMo-RL's own converter.
    launches = [json.loads((live_sweep / str(n) / "launch.json").read_text()) for n in range(3)]
    export = launches[1]["export_hf"]
    assert (export["step"], export["exit_code"]) == (STEPS, 0)
    assert export["checkpoint"] == winner["best_checkpoint"]
    assert winner["hf_export"] == str(live_sweep / "1" / "hf")
    assert (live_sweep / "1" / "hf" / "config.json").is_file()
    assert launches[1]["produced"]["best_step"] == STEPS
    assert launches[0]["export_hf"] is None and not (live_sweep / "0" / "hf").exists()
    assert launches[2]["end_time"] is None and not (live_sweep / "2" / "hf").exists()
