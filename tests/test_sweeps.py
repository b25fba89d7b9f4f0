"""Hydra multirun sweeps with the basic launcher: every job runs as a child, each in its own
folder, recorded in sweep.json / sweep.csv as jobs end; a failed job never hides the others."""

from __future__ import annotations

import csv
import json
import os
import signal
from pathlib import Path

import yaml
from conftest import run_cli, start_cli, wait_for_file

BETAS = "dpo.reference_policy_kl_penalty=0.05,0.1,0.3"


def sweep_rows(sweep_dir: Path) -> list[dict]:
    return json.loads((sweep_dir / "sweep.json").read_text())


def test_beta_sweep_runs_every_job_and_survives_a_failure(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        ["-m", "algo=dpo", "data=tiny", BETAS, f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path,
        env={**stand_in_env, "STAND_IN_EXIT_CODE_WHEN": "dpo.reference_policy_kl_penalty=0.1:9"},
    )
    assert result.returncode == 1, result.stderr
    rows = sweep_rows(sweep_dir)
    assert [(r["job"], r["status"], r["exit_code"]) for r in rows] == [
        (0, "succeeded", 0),
        (1, "failed", 9),
        (2, "succeeded", 0),
    ]
    assert "2 of 3 jobs succeeded" in result.stderr
    for row, beta in zip(rows, (0.05, 0.1, 0.3), strict=True):
        job_dir = Path(row["job_folder"])
        config = yaml.safe_load((job_dir / "nemo_rl.yaml").read_text())
        assert config["dpo"]["reference_policy_kl_penalty"] == beta
        assert config["checkpointing"]["checkpoint_dir"] == str(job_dir / "checkpoints")
        assert config["logger"]["log_dir"] == str(job_dir / "logs")
        launch = json.loads((job_dir / "launch.json").read_text())
        assert launch["mode"] == "subprocess"  # never exec inside a sweep
    with (sweep_dir / "sweep.csv").open() as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == [
        "job",
        "overrides",
        "status",
        "exit_code",
        "duration_s",
        "job_folder",
        "error",
    ]
    assert [t["status"] for t in table] == ["succeeded", "failed", "succeeded"]
    assert float(table[0]["duration_s"]) > 0


def test_a_rejected_job_is_recorded_and_the_rest_run(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            "algo=dpo",
            "data=tiny,response_jsonl",
            "launch.dry_run=true",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert [(r["status"], r["exit_code"]) for r in sweep_rows(sweep_dir)] == [
        ("succeeded", 0),
        ("rejected", 2),
    ]


def test_ready_made_sweeps(tmp_path: Path) -> None:
    for name, key, values in (
        ("dpo_beta", ("dpo", "reference_policy_kl_penalty"), [0.05, 0.1, 0.3]),
        ("grpo_group_size", ("grpo", "num_generations_per_prompt"), [4, 8, 16]),
    ):
        sweep_dir = tmp_path / name
        result = run_cli(
            [f"sweep={name}", "data=tiny", "launch.dry_run=true", f"hydra.sweep.dir={sweep_dir}"],
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr
        got = [
            yaml.safe_load((sweep_dir / str(i) / "nemo_rl.yaml").read_text())[key[0]][key[1]]
            for i in range(3)
        ]
        assert got == values


def test_paired_sweep_through_experiments(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "pairs"
    # Enough prompts for the largest pair's batch (64 prompts per step).
    problems = tmp_path / "problems.jsonl"
    problems.write_text(
        "".join(f'{{"input": "{i} + 1?", "output": "{i + 1}"}}\n' for i in range(64))
    )
    result = run_cli(
        [
            "sweep=grpo_rollouts_256",
            "data=response_jsonl",
            f"data.train.data_path={problems}",
            f"data.validation.data_path={problems}",
            "launch.dry_run=true",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    pairs = set()
    for i in range(3):
        grpo = yaml.safe_load((sweep_dir / str(i) / "nemo_rl.yaml").read_text())["grpo"]
        pairs.add((grpo["num_generations_per_prompt"], grpo["num_prompts_per_step"]))
    assert pairs == {(4, 64), (8, 32), (16, 16)}


def test_sweep_folders_never_collide(tmp_path: Path) -> None:
    for _ in range(2):
        assert run_cli(["-m", "data=tiny", "launch.dry_run=true"], cwd=tmp_path).returncode == 0
    sweeps = sorted((tmp_path / "multirun").iterdir())
    assert len(sweeps) == 2
    assert all(len(s.name.rsplit("-", 1)[1]) == 6 for s in sweeps)  # microseconds


def test_killed_sweep_still_shows_what_ran(tmp_path: Path, stand_in_env: dict[str, str]) -> None:
    sweep_dir = tmp_path / "sweep"
    env = {
        **stand_in_env,
        "STAND_IN_WAIT_FOR_SIGNAL": "dpo.reference_policy_kl_penalty=0.1",
        "STAND_IN_WAIT_S": "60",
    }
    proc = start_cli(
        ["-m", "algo=dpo", "data=tiny", BETAS, f"hydra.sweep.dir={sweep_dir}"],
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    try:
        wait_for_file(Path(stand_in_env["STAND_IN_RECORD"] + ".ready"), proc=proc)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert [(r["job"], r["status"]) for r in sweep_rows(sweep_dir)] == [
        (0, "succeeded"),
        (1, "running"),
    ]
