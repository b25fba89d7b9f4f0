"""The installed CLI end to end, against the stand-in NeMo-RL tree (tests/stand_in_nemo_rl):
dry runs, the hand-over to NeMo-RL (exec, subprocess, signals) and what a refusal leaves behind."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import yaml
from conftest import (
    DRY,
    STAND_IN_ROOT,
    read_json,
    run_cli,
    start_cli,
    wait_for_file,
)


def _check_dry_run_record(record: dict, expected_argv: list[str], nemo_rl_root: Path) -> None:
    assert record["argv"] == expected_argv
    assert record["dry_run"] is True
    assert record["cwd"] == str(nemo_rl_root)
    assert record["overrides"] == ["algo=dpo", "data=tiny", DRY]
    assert record["exit_code"] is None
    assert record["nemotron_align_version"]
    [warning] = [w for w in record["warnings"] if "the real launch will fail" in w]
    assert warning.startswith("warning: the real launch will fail: error: launch.nemo_rl_root:")
    assert str(nemo_rl_root) in warning


def test_dry_run_needs_no_nemo_rl(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        ["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(tmp_path / "no-nemo-rl")},
    )
    assert result.returncode == 0, result.stderr
    config_path = run_dir / "nemo_rl.yaml"
    expected_argv = [sys.executable, "examples/run_dpo.py", "--config", str(config_path)]
    assert " ".join(expected_argv) in result.stderr
    _check_dry_run_record(
        read_json(run_dir / "launch.json"), expected_argv, tmp_path / "no-nemo-rl"
    )
    # It says, and records, that the real launch would not find NeMo-RL there.
    assert "the real launch will fail: error: launch.nemo_rl_root:" in result.stderr
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert yaml.safe_load(config_path.read_text())["dpo"]["reference_policy_kl_penalty"] == 0.05


def test_job_is_named_nemotron_align(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(["data=tiny", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (run_dir / "nemotron_align.log").is_file()
    hydra_yaml = yaml.safe_load((run_dir / ".hydra" / "hydra.yaml").read_text())
    assert hydra_yaml["hydra"]["job"]["name"] == "nemotron_align"


def test_default_run_folders_are_unique(tmp_path: Path) -> None:
    for _ in range(2):
        assert run_cli(["data=tiny", DRY], cwd=tmp_path).returncode == 0
    runs = list((tmp_path / "outputs" / "dpo").iterdir())
    assert len(runs) == 2
    # Microsecond timestamps: YYYY-mm-dd_HH-MM-SS-ffffff
    assert all(len(r.name.split("_")[1].split("-")[-1]) == 6 for r in runs)


@pytest.mark.parametrize(("algo", "script"), [("dpo", "run_dpo.py"), ("rlvr", "run_grpo.py")])
@pytest.mark.parametrize("code", [0, 7])
def test_exec_mode_becomes_nemo_rl(
    algo: str, script: str, code: int, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    run_dir = tmp_path / "run"
    env = {**stand_in_env, "STAND_IN_EXIT_CODE": str(code), "NA_TEST_FROM_SHELL": "yes"}
    proc = start_cli(
        [
            f"algo={algo}",
            "data=tiny",
            f"hydra.run.dir={run_dir}",
            "+launch.env.NA_TEST_FROM_LAUNCH=set",
        ],
        cwd=tmp_path,
        env=env,
    )
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    record = read_json(Path(stand_in_env["STAND_IN_RECORD"]))
    assert "failure" not in record
    assert record["pid"] == proc.pid  # exec: same process
    assert record["script"] == f"examples/{script}"
    assert record["argv"] == ["--config", str(run_dir / "nemo_rl.yaml")]
    assert record["cwd"] == str(STAND_IN_ROOT)
    assert record["env"]["NA_TEST_FROM_SHELL"] == "yes"
    assert record["env"]["NA_TEST_FROM_LAUNCH"] == "set"
    # What the launcher sets for itself while Hydra composes is not passed on.
    assert not {"HYDRA_FULL_ERROR", "NEMOTRON_ALIGN_SET_HYDRA_FULL_ERROR"} & set(record["env"])
    launch = read_json(run_dir / "launch.json")
    assert launch["mode"] == "exec"
    assert launch["nemo_rl_version"] == "0.7.0"


@pytest.mark.parametrize("code", [0, 5])
def test_subprocess_mode_propagates_exit_code(
    code: int, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        ["algo=rlvr", "data=tiny", "launch.mode=subprocess", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={**stand_in_env, "STAND_IN_EXIT_CODE": str(code)},
    )
    assert result.returncode == code, result.stderr
    record = read_json(Path(stand_in_env["STAND_IN_RECORD"]))
    assert "failure" not in record
    launch = read_json(run_dir / "launch.json")
    assert launch["mode"] == "subprocess"
    assert launch["exit_code"] == code
    assert launch["end_time"] >= launch["start_time"]


@pytest.mark.parametrize(
    ("mode", "sig"),
    [
        ("subprocess", signal.SIGINT),
        ("subprocess", signal.SIGTERM),
        ("subprocess", signal.SIGUSR1),
        ("subprocess", signal.SIGUSR2),
        ("exec", signal.SIGUSR2),
    ],
)
def test_signals_reach_nemo_rl(
    mode: str, sig: signal.Signals, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    env = {**stand_in_env, "STAND_IN_WAIT_FOR_SIGNAL": "1", "STAND_IN_EXIT_CODE": "42"}
    proc = start_cli(
        ["algo=dpo", "data=tiny", f"launch.mode={mode}", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env=env,
    )
    try:
        wait_for_file(Path(stand_in_env["STAND_IN_RECORD"] + ".ready"), proc=proc)
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 42, stderr
    record = read_json(Path(stand_in_env["STAND_IN_RECORD"]))
    assert record["signals"] == [sig.name]
    assert (record["pid"] == proc.pid) == (mode == "exec")


def test_missing_nemo_rl_is_a_clear_error(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    missing = tmp_path / "nowhere"
    result = run_cli(
        ["algo=dpo", "data=tiny", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(missing)},
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"NeMo-RL root {missing} does not exist" in result.stderr
    for way_out in ("NEMO_RL_ROOT", "launch.nemo_rl_root", "container", "launch.dry_run=true"):
        assert way_out in result.stderr
    assert (run_dir / "nemo_rl.yaml").is_file()  # kept for inspection
    assert "NeMo-RL not found" in read_json(run_dir / "launch.json")["error"]


def test_missing_script_is_named(tmp_path: Path) -> None:
    empty_root = tmp_path / "nemo-rl"
    empty_root.mkdir()
    result = run_cli(
        ["algo=rlvr", "data=tiny", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(empty_root)},
    )
    assert result.returncode == 2
    assert str(empty_root / "examples" / "run_grpo.py") in result.stderr


def test_impossible_pairing_leaves_no_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "algo=dpo",
            "data=response_jsonl",
            "data.train.data_path=/t.jsonl",
            "data.validation.data_path=/v.jsonl",
            DRY,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "data=response_jsonl does not fit algo=dpo" in result.stderr
    assert "data=preference_jsonl" in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_rejection_keeps_what_a_chosen_folder_held(tmp_path: Path) -> None:
    run_dir = tmp_path / "mine"
    run_dir.mkdir()
    (run_dir / "notes.txt").write_text("keep me")
    result = run_cli(["algo=grpo_gym", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2
    assert sorted(p.name for p in run_dir.iterdir()) == ["notes.txt"]


def test_unset_value_leaves_no_run_folder(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(["algo=grpo_gym", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2
    assert "data.train.data_path: has no value (???)" in result.stderr
    assert not run_dir.exists()


def test_exec_refused_in_multirun(tmp_path: Path) -> None:
    result = run_cli(
        ["-m", "data=tiny", "launch.mode=exec", DRY, f"hydra.sweep.dir={tmp_path / 'sweep'}"],
        cwd=tmp_path,
    )
    assert "exec cannot be used in a multirun" in result.stderr


def test_secrets_never_reach_disk(tmp_path: Path) -> None:
    secret = "sk-test-0123456789abcdef"
    run_dir = tmp_path / "run"
    result = run_cli(
        ["data=tiny", DRY, f"hydra.run.dir={run_dir}", f"+launch.env.WANDB_API_KEY={secret}"],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "launch.env.WANDB_API_KEY" in result.stderr and "export WANDB_API_KEY" in result.stderr
    assert secret not in result.stderr
    assert not run_dir.exists()

    leak = run_cli(
        ["data=tiny", DRY, f"hydra.run.dir={run_dir}", "policy.model_name=${oc.env:HF_TOKEN}"],
        cwd=tmp_path,
        env={"HF_TOKEN": secret},
    )
    assert leak.returncode == 2
    assert "policy.model_name" in leak.stderr and "HF_TOKEN" in leak.stderr
    assert not run_dir.exists()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
