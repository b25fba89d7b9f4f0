"""A secret environment value reaches no file and no terminal, whatever route it takes: each test
runs the real CLI with WANDB_API_KEY set, then searches every byte under its folder and the CLI's
output for the value."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import STAND_IN_ROOT, run_cli

from nemotron_align.io.secret_env import redact_values, restore_secrets

SECRET = "s3cr3t-value-123456"
MARK = "<redacted:WANDB_API_KEY>"
STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"
DRY = "launch.dry_run=true"


def _cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    result = run_cli(
        list(args),
        cwd=tmp_path,
        env={"WANDB_API_KEY": SECRET, "NEMO_RL_ROOT": str(STAND_IN_ROOT), **(env or {})},
    )
    _assert_nowhere(tmp_path, result)
    return result


def _assert_nowhere(tmp_path: Path, result: subprocess.CompletedProcess) -> None:
    assert SECRET not in result.stdout and SECRET not in result.stderr
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_a_secret_under_a_harmless_env_name_is_run_and_redacted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = _cli(
        tmp_path,
        "data=tiny",
        DRY,
        f"hydra.run.dir={run_dir}",
        "+launch.env.WB=${oc.env:WANDB_API_KEY}",
        f"+launch.env.TYPED={SECRET}",
        f"+launch.env.AUTH=Bearer {SECRET}",
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((run_dir / "launch.json").read_text())
    assert record["env"] == {"WB": MARK, "TYPED": MARK, "AUTH": f"Bearer {MARK}"}
    # Overrides as typed: an interpolation stays one; a typed value is redacted.
    assert "+launch.env.WB=${oc.env:WANDB_API_KEY}" in record["overrides"]
    assert f"+launch.env.TYPED={MARK}" in record["overrides"]
    assert MARK in (run_dir / ".hydra" / "overrides.yaml").read_text()


@pytest.mark.parametrize(
    "override", [f"+launch.env.WANDB_API_KEY={SECRET}", f"launch.env.HF_TOKEN={SECRET}"]
)
def test_a_refused_secret_leaves_nothing_and_the_hint_works(tmp_path: Path, override: str) -> None:
    run_dir = tmp_path / "run"
    result = _cli(tmp_path, "data=tiny", DRY, f"hydra.run.dir={run_dir}", override)
    assert result.returncode == 2
    name = override.partition("=")[0].rpartition(".")[2]
    assert f"fix: drop it and export {name} in the environment instead" in result.stderr
    assert "+launch.env" not in result.stderr  # no hint towards a form that is refused too
    assert not run_dir.exists()


def test_a_config_value_holding_a_secret_is_refused(tmp_path: Path) -> None:
    result = _cli(
        tmp_path,
        "data=tiny",
        DRY,
        f"hydra.run.dir={tmp_path / 'run'}",
        "+policy.note=key ${oc.env:WANDB_API_KEY} inside",
    )
    assert result.returncode == 2
    assert "policy.note: holds the value of the secret environment variable WANDB_API_KEY" in (
        result.stderr
    )


def test_a_local_multirun_records_and_prints_overrides_redacted(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = _cli(
        tmp_path,
        "-m",
        "data=tiny",
        DRY,
        f"hydra.sweep.dir={sweep_dir}",
        f"+launch.env.WANDB_API_KEY={SECRET},x",
        f"+launch.env.WB={SECRET}",
    )
    assert result.returncode == 2  # every job refused: a secret-named launch.env key
    rows = json.loads((sweep_dir / "sweep.json").read_text())
    assert [r["status"] for r in rows] == ["rejected", "rejected"]
    assert {f"+launch.env.WANDB_API_KEY={MARK}", f"+launch.env.WB={MARK}"} <= set(
        rows[0]["overrides"]
    )
    assert MARK in (sweep_dir / "sweep.csv").read_text()
    assert MARK in (sweep_dir / "0" / "job.json").read_text()
    assert f"+launch.env.WB={MARK}" in result.stderr  # the summary table


def test_an_accepted_multirun_job_folder_is_scrubbed(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = _cli(
        tmp_path,
        "-m",
        "data=tiny",
        DRY,
        f"hydra.sweep.dir={sweep_dir}",
        "dpo.reference_policy_kl_penalty=0.05,0.1",
        f"+launch.env.WB={SECRET}",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((sweep_dir / "1" / "launch.json").read_text())["env"] == {"WB": MARK}
    assert MARK in (sweep_dir / "multirun.yaml").read_text()


def test_a_gym_run_writes_nemo_gym_yaml_without_the_secret(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    gym_env = {"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)}
    api_key = "+env.nemo_gym.policy_model.responses_api_models.vllm_model.api_key"
    result = _cli(
        tmp_path,
        "algo=rlhf",
        "data=tiny",
        DRY,
        f"hydra.run.dir={run_dir}",
        f"+launch.env.WB={SECRET}",
        env=gym_env,
    )
    assert result.returncode == 0, result.stderr
    assert (run_dir / "nemo_gym.yaml").is_file()
    refused = _cli(
        tmp_path,
        "algo=rlhf",
        "data=tiny",
        DRY,
        f"hydra.run.dir={tmp_path / 'refused'}",
        f"{api_key}={SECRET}",
        env=gym_env,
    )
    assert refused.returncode == 2
    assert "api_key: holds the value of the secret environment variable" in refused.stderr


def test_a_slurm_dry_run_keeps_secrets_off_every_job_file(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    (tmp_path / "bin").mkdir()
    result = _cli(
        tmp_path,
        "cluster=slurm",
        "algo=dpo",
        "data=tiny",
        DRY,
        f"hydra.sweep.dir={sweep_dir}",
        "dpo.reference_policy_kl_penalty=0.05,0.1",
        f"+launch.env.WB={SECRET}",
        env={"PATH": str(tmp_path / "bin")},
    )
    assert result.returncode == 0, result.stderr
    node = json.loads((sweep_dir / "0" / "slurm_job.json").read_text())
    assert node["env"] == {"WB": MARK}
    # The node puts the value back from the environment Slurm passes on.
    assert restore_secrets(node["env"], {"WANDB_API_KEY": SECRET}) == {"WB": SECRET}
    assert yaml.safe_load((sweep_dir / "0" / ".hydra" / "overrides.yaml").read_text())


def test_short_secrets_are_redacted_only_as_whole_values() -> None:
    values = {"abc123": "HF_TOKEN", SECRET: "WANDB_API_KEY"}
    assert redact_values(
        {"a": "abc123", "b": "xabc123x", "c": [f"k={SECRET}", f"in {SECRET}"], "d": "k=abc123"},
        values,
    ) == {
        "a": "<redacted:HF_TOKEN>",
        "b": "xabc123x",
        "c": [f"k={MARK}", f"in {MARK}"],
        "d": "k=<redacted:HF_TOKEN>",
    }
