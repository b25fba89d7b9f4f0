"""Relaunching a run from its record (launch.json's `relaunch`), end to end with the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import (
    CLI_TIMEOUT_S,
    DRY,
    read_json,
    run_cli,
)

from nemotron_align.config.relaunch import relaunch_args
from nemotron_align.config.resolvers import run_identity


def test_relaunch_reproduces_the_run(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = run_cli(
        [
            "algo=rlhf",
            "data=tiny",
            "grpo.num_generations_per_prompt=4",
            DRY,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    original = (run_dir / "nemo_rl.yaml").read_text()
    relaunch = read_json(run_dir / "launch.json")["relaunch"]
    assert relaunch[:3] == [sys.executable, "-m", "nemotron_align"]

    # From an unrelated directory, with nothing but the run folder.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run_cli(relaunch[3:], cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert (run_dir / "nemo_rl.yaml").read_text() == original
    history = read_json(run_dir / "launch.json")["previous_launches"]
    assert history[0]["overrides"][:3] == [
        "algo=rlhf",
        "data=tiny",
        "grpo.num_generations_per_prompt=4",
    ]

    # Into a fresh folder: only the per-run paths differ.
    other = tmp_path / "other"
    moved = run_cli([*relaunch[3:-1], f"hydra.run.dir={other}"], cwd=elsewhere)
    assert moved.returncode == 0, moved.stderr
    moved_paths = original.replace(str(run_dir), str(other))
    # and the folder's W&B run id (logger.wandb.id, one per folder)
    expected = moved_paths.replace(run_identity(str(run_dir)), run_identity(str(other)))
    assert (other / "nemo_rl.yaml").read_text() == expected

    # A different config into the same folder is refused; the folder is untouched.
    changed = run_cli([*relaunch[3:], "grpo.num_generations_per_prompt=16"], cwd=elsewhere)
    assert changed.returncode == 2
    assert "already holds a different nemo_rl.yaml" in changed.stderr
    assert (run_dir / "nemo_rl.yaml").read_text() == original


def test_relaunch_runs_nemo_rl_again(tmp_path: Path, stand_in_env: dict[str, str]) -> None:
    run_dir = tmp_path / "run"
    assert (
        run_cli(["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path).returncode
        == 0
    )
    relaunch = read_json(run_dir / "launch.json")["relaunch"]
    again = run_cli([*relaunch[3:], "launch.dry_run=false"], cwd=tmp_path, env=stand_in_env)
    # launch.dry_run is a launcher setting: the NeMo-RL config stays the same.
    assert again.returncode == 0, again.stderr
    assert read_json(Path(stand_in_env["STAND_IN_RECORD"]))["argv"] == [
        "--config",
        str(run_dir / "nemo_rl.yaml"),
    ]


def test_hydra_own_flags_work(tmp_path: Path) -> None:
    cfg_job = run_cli(["algo=rlvr", "--cfg", "job"], cwd=tmp_path)
    assert cfg_job.returncode == 0
    assert "num_generations_per_prompt: 8" in cfg_job.stdout
    info = run_cli(["--info", "defaults"], cwd=tmp_path)
    assert info.returncode == 0 and "algo/dpo" in info.stdout
    hydra_help = run_cli(["--hydra-help"], cwd=tmp_path)
    assert hydra_help.returncode == 0
    assert "== Flags ==" in hydra_help.stdout and "hydra/launcher:" in hydra_help.stdout
    assert not (tmp_path / "outputs").exists()


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ nemotron_align: ")


def test_relaunch_keeps_the_launchers_log_and_the_record(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    first = run_cli(["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    record = {p.name: p.read_text() for p in (run_dir / ".hydra").iterdir()}
    log_before = (run_dir / "nemotron_align.log").read_text()

    again = subprocess.run(
        read_json(run_dir / "launch.json")["relaunch"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    # The launcher's log file and format, appended to; the console as in any launch.
    assert sorted(p.name for p in run_dir.iterdir() if p.suffix == ".log") == ["nemotron_align.log"]
    log = (run_dir / "nemotron_align.log").read_text()
    assert log.startswith(log_before)
    relaunch_lines = log[len(log_before) :].splitlines()
    assert any("already holds this exact config: relaunching it" in li for li in relaunch_lines)
    assert all(LOG_LINE.match(li) for li in relaunch_lines if not li.startswith(" "))
    assert "[nemotron_align] dry run: nothing started" in again.stderr
    # Into its own folder, the record it was composed from stays as it was.
    assert {p.name: p.read_text() for p in (run_dir / ".hydra").iterdir()} == record
    launch = read_json(run_dir / "launch.json")
    assert launch["relaunched_from"] == str(run_dir)
    assert launch["previous_launches"][0]["relaunched_from"] is None


def _overrides(run_dir: Path) -> list[str]:
    return yaml.safe_load((run_dir / ".hydra" / "overrides.yaml").read_text())


def _check_first_record_of_a_relaunch(launch: dict, run_dir: Path, new_dir: Path) -> None:
    assert launch["relaunched_from"] == str(run_dir)
    assert launch["overrides"] == ["dpo.reference_policy_kl_penalty=0.2"]
    assert launch["previous_launches"] == []
    assert launch["relaunch"][3:] == [
        "--config-path",
        str(new_dir / ".hydra"),
        "--config-name",
        "config",
        f"hydra.run.dir={new_dir}",
    ]


def _check_own_hydra_record(new_dir: Path, run_dir: Path) -> None:
    """A relaunch into new_dir has its own Hydra record: the config as composed (the change in
    it), Hydra's note of the record it came from, the launcher's job name and logging."""
    composed = yaml.safe_load((new_dir / ".hydra" / "config.yaml").read_text())
    assert composed["dpo"]["reference_policy_kl_penalty"] == 0.2
    assert _overrides(new_dir) == ["dpo.reference_policy_kl_penalty=0.2"]
    hydra_cfg = yaml.safe_load((new_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]
    original = yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text())["hydra"]
    [main_source] = [s for s in hydra_cfg["runtime"]["config_sources"] if s["provider"] == "main"]
    assert main_source["path"] == str(run_dir / ".hydra")
    assert hydra_cfg["job"]["name"] == original["job"]["name"] == "nemotron_align"
    choices = hydra_cfg["runtime"]["choices"]["hydra/job_logging"]
    assert choices == original["runtime"]["choices"]["hydra/job_logging"] == "launcher"
    assert sorted(p.name for p in new_dir.iterdir() if p.suffix == ".log") == ["nemotron_align.log"]


def test_relaunch_into_a_new_folder_records_itself(tmp_path: Path) -> None:
    run_dir, new_dir = tmp_path / "run", tmp_path / "new"
    first = run_cli(["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    relaunch = read_json(run_dir / "launch.json")["relaunch"]
    assert relaunch[-1] == f"hydra.run.dir={run_dir}"

    # The relaunch command with another folder, and one setting changed.
    moved = run_cli(
        [*relaunch[3:-1], f"hydra.run.dir={new_dir}", "dpo.reference_policy_kl_penalty=0.2"],
        cwd=tmp_path,
    )
    assert moved.returncode == 0, moved.stderr
    launch = read_json(new_dir / "launch.json")
    _check_first_record_of_a_relaunch(launch, run_dir, new_dir)
    _check_own_hydra_record(new_dir, run_dir)

    # The new folder relaunches in turn, to the same config.
    rendered = (new_dir / "nemo_rl.yaml").read_text()
    again = run_cli(launch["relaunch"][3:], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (new_dir / "nemo_rl.yaml").read_text() == rendered
    assert _overrides(new_dir) == ["dpo.reference_policy_kl_penalty=0.2"]
    history = read_json(new_dir / "launch.json")
    assert history["relaunched_from"] == str(new_dir)
    assert [p["relaunched_from"] for p in history["previous_launches"]] == [str(run_dir)]


def test_relaunch_args_complete_only_a_relaunch(tmp_path: Path) -> None:
    record = tmp_path / "run" / ".hydra"
    record.mkdir(parents=True)
    for name in ("config.yaml", "overrides.yaml"):
        (record / name).write_text("{}\n")
    base = ["--config-path", str(record), "--config-name", "config"]
    same = relaunch_args([*base, f"hydra.run.dir={tmp_path / 'run'}"])
    assert {"hydra/job_logging=launcher", "hydra.job.name=nemotron_align"} <= set(same)
    assert "hydra.output_subdir=null" in same
    assert "hydra.output_subdir=null" not in relaunch_args([*base, f"hydra.run.dir={tmp_path}"])
    # What the command line sets stays as it is.
    mine = relaunch_args(
        [*base, f"hydra.run.dir={tmp_path / 'run'}", "hydra.job.name=mine", "hydra.output_subdir=k"]
    )
    assert not [a for a in mine if a.startswith(("hydra.job.name=n", "hydra.output_subdir=n"))]
    # Not a relaunch: a launch from the groups, a folder that is no Hydra record.
    assert relaunch_args(["algo=dpo"]) == ["algo=dpo"]
    other = ["--config-path", str(tmp_path), "--config-name", "config"]
    assert relaunch_args(other) == other
