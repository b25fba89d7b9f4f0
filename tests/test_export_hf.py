"""launch.export_hf=best|last: after NeMo-RL exits 0 the launcher runs NeMo-RL's converter on the
chosen checkpoint into <run>/hf/ and records it; against the stand-in NeMo-RL, which trains
(STAND_IN_TRAIN_STEPS) and converts (tests/stand_in_nemo_rl/examples/converters)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import DRY, STAND_IN_ROOT, read_json, run_cli
from gym_runner_support import STAND_IN_GYM

# Four DPO steps, each validated and saved. The stand-in's validation loss falls with the step,
# so with higher_is_better=true the best checkpoint is the first and the last is step 4.
TRAIN = ["algo=dpo", "data=tiny", "checkpointing.save_period=1", "dpo.val_period=1"]
STEPS = {"STAND_IN_TRAIN_STEPS": "4"}


def _launch(tmp_path: Path, env: dict[str, str], *overrides: str, name: str = "run"):
    run_dir = tmp_path / name
    result = run_cli([*TRAIN, *overrides, f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=env)
    return result, run_dir


@pytest.mark.parametrize(("which", "step"), [("best", 1), ("last", 4)])
def test_export_converts_the_chosen_checkpoint(
    which: str, step: int, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    result, run_dir = _launch(
        tmp_path,
        {**stand_in_env, **STEPS},
        f"launch.export_hf={which}",
        "checkpointing.higher_is_better=true",
    )
    assert result.returncode == 0, result.stderr
    launch = read_json(run_dir / "launch.json")
    assert launch["mode"] == "subprocess"  # auto: exec would leave nothing to export after
    assert launch["exit_code"] == 0 and launch["error"] is None
    export = launch["export_hf"]
    checkpoint = run_dir.resolve() / "checkpoints" / f"step_{step}"
    hf = run_dir.resolve() / "hf"
    assert (export["which"], export["step"], export["exit_code"]) == (which, step, 0)
    assert export["checkpoint"] == str(checkpoint) and export["hf_path"] == str(hf)
    assert export["argv"][1:] == [
        "examples/converters/convert_dcp_to_hf.py",
        "--config",
        str(checkpoint / "config.yaml"),
        "--dcp-ckpt-path",
        str(checkpoint / "policy" / "weights"),
        "--hf-ckpt-path",
        str(hf),
    ]
    assert export["end_time"] >= export["start_time"] >= launch["start_time"]
    converted = read_json(hf / "stand_in_export.json")
    assert converted["argv"] == export["argv"][2:]
    assert converted["cwd"] == str(STAND_IN_ROOT)
    assert (hf / "config.json").is_file()
    produced = launch["produced"]
    assert (produced["last_step"], produced["best_step"]) == (4, 1)
    assert produced["metric_name"] == "val:validation-default_loss"
    assert produced["best_metric"] == pytest.approx(0.3 + 0.0025 + 1 / 2)
    assert produced["hf_export"] == str(hf)


def test_megatron_checkpoint_goes_to_its_converter(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    result, run_dir = _launch(
        tmp_path,
        {**stand_in_env, **STEPS},
        "launch.export_hf=last",
        "policy.megatron_cfg.enabled=true",
        "policy.dtensor_cfg.enabled=false",
        "policy.megatron_cfg.tensor_model_parallel_size=1",
        "+launch.env.TORCH_CUDA_ARCH_LIST=9.0",
    )
    assert result.returncode == 0, result.stderr
    argv = read_json(run_dir / "launch.json")["export_hf"]["argv"]
    weights = run_dir.resolve() / "checkpoints" / "step_4" / "policy" / "weights"
    assert argv[1] == "examples/converters/convert_megatron_to_hf.py"
    assert argv[argv.index("--megatron-ckpt-path") + 1] == str(weights / "iter_0000004")
    assert (run_dir / "hf" / "config.json").is_file()


def test_failed_export_fails_the_run_and_keeps_training(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    env = {**stand_in_env, **STEPS, "STAND_IN_EXPORT_EXIT_CODE": "7"}
    result, run_dir = _launch(tmp_path, env, "launch.export_hf=last")
    assert result.returncode == 7
    assert "error: launch.export_hf: training finished (exit 0), but NeMo-RL's converter" in (
        result.stderr
    )
    launch = read_json(run_dir / "launch.json")
    assert launch["exit_code"] == 7
    assert launch["error"].startswith("error: launch.export_hf:")
    assert "fix: " in launch["error"]
    assert launch["export_hf"]["exit_code"] == 7 and launch["export_hf"]["step"] == 4
    assert launch["produced"]["last_step"] == 4 and launch["produced"]["hf_export"] is None
    assert read_json(Path(stand_in_env["STAND_IN_RECORD"]))["script"] == "examples/run_dpo.py"
    assert (run_dir / "checkpoints" / "step_4" / "training_info.json").is_file()


def test_no_checkpoint_to_export_fails_the_run(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    result, run_dir = _launch(tmp_path, stand_in_env, "launch.export_hf=best")
    assert result.returncode == 1
    launch = read_json(run_dir / "launch.json")
    assert "holds no finished checkpoint" in launch["error"]
    assert launch["export_hf"]["exit_code"] is None
    assert not (run_dir / "hf").exists()


def test_failed_training_is_not_exported(tmp_path: Path, stand_in_env: dict[str, str]) -> None:
    env = {**stand_in_env, **STEPS, "STAND_IN_EXIT_CODE": "5"}
    result, run_dir = _launch(tmp_path, env, "launch.export_hf=last")
    assert result.returncode == 5
    launch = read_json(run_dir / "launch.json")
    assert launch["export_hf"] is None and launch["error"] is None
    assert launch["produced"]["last_step"] == 4
    assert not (run_dir / "hf").exists()


def test_export_in_every_job_of_a_multirun(tmp_path: Path, stand_in_env: dict[str, str]) -> None:
    sweep = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            *TRAIN,
            "dpo.reference_policy_kl_penalty=0.05,0.1",
            "launch.export_hf=best",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        env={**stand_in_env, **STEPS},
    )
    assert result.returncode == 0, result.stderr
    for job in ("0", "1"):
        launch = read_json(sweep / job / "launch.json")
        assert launch["export_hf"]["step"] == 4 and launch["exit_code"] == 0
        assert (sweep / job / "hf" / "config.json").is_file()


@pytest.mark.parametrize("mode", ["auto", "exec"])
def test_in_process_gym_run_exports(mode: str, tmp_path: Path) -> None:
    """The Gym runner drives NeMo-RL in the launcher's process (a Gym run's exec); the export
    follows it there. The stand-in nemo_rl package trains nothing, so a checkpoint is laid down
    beforehand."""
    run_dir = tmp_path / "run"
    checkpoint = run_dir / "checkpoints" / "step_2"
    (checkpoint / "policy" / "weights").mkdir(parents=True)
    (checkpoint / "config.yaml").write_text(yaml.safe_dump({"policy": {}}))
    (checkpoint / "training_info.json").write_text(json.dumps({"step": 2}))
    calls = tmp_path / "calls"
    calls.mkdir()
    env = {
        "STAND_IN_NEMO_RL_API": "v0.7",
        "STAND_IN_CALLS": str(calls),
        "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(STAND_IN_ROOT), os.environ.get("PYTHONPATH")) if p
        ),
        "NEMO_RL_ROOT": str(STAND_IN_ROOT),
    }
    result = run_cli(
        [
            "algo=grpo_gym",
            "data=tiny",
            "launch.export_hf=last",
            f"launch.mode={mode}",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    launch = read_json(run_dir / "launch.json")
    assert launch["mode"] == "in-process"
    assert launch["export_hf"]["step"] == 2 and launch["export_hf"]["exit_code"] == 0
    assert (run_dir / "hf" / "config.json").is_file()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ["launch.export_hf=best", "checkpointing.enabled=false"],
            "error: launch.export_hf: best exports a checkpoint, but checkpointing.enabled is "
            "false",
        ),
        (
            ["launch.export_hf=last", "launch.mode=exec"],
            "error: launch.mode: exec cannot export (launch.export_hf=last)",
        ),
    ],
)
def test_export_that_cannot_work_is_refused(
    overrides: list[str], message: str, tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    result, run_dir = _launch(tmp_path, stand_in_env, *overrides, DRY)
    assert result.returncode == 2
    assert message in result.stderr and "fix: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not (run_dir / "launch.json").exists()
