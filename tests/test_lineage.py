"""Lineage in launch.json (`consumed` before the run, `produced` after it) and
`policy.model_name=${from_run:<run folder>}`, the HF export of an earlier run: an SFT -> DPO
style chain on the stand-in NeMo-RL."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xxhash
from conftest import DRY, gym_data_overrides, read_json, run_cli

from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.errors import LaunchRejected
from nemotron_align.records.lineage import file_digest, run_hf_export

STEPS = {"STAND_IN_TRAIN_STEPS": "2"}


def test_file_digest_is_xxh3_128_of_the_bytes_streamed(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    data = b"x" * (20 << 20) + b"tail"  # more than two 8 MiB chunks
    path.write_bytes(data)
    assert file_digest(path) == xxhash.xxh3_128(data).hexdigest()


def test_dry_run_records_what_it_consumes(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(["algo=dpo", "data=tiny", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    consumed = read_json(run_dir / "launch.json")["consumed"]
    train, validation = (TINY_DATA_DIR / f"dpo_{s}.jsonl" for s in ("train", "validation"))
    assert consumed["data"] == [
        {
            "key": f"data.{split}.data_path",
            "path": str(path),
            "size": path.stat().st_size,
            "xxh3_128": xxhash.xxh3_128(path.read_bytes()).hexdigest(),
        }
        for split, path in (("train", train), ("validation", validation))
    ]
    assert consumed["policy"] == {
        "model_name": "meta-llama/Llama-3.2-1B-Instruct",
        "from_run": None,
    }
    assert "judge" not in consumed


def test_rlhf_records_its_judge(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        ["algo=rlhf", "data=tiny", *gym_data_overrides("rlhf"), DRY, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    judge = read_json(run_dir / "launch.json")["consumed"]["judge"]
    assert judge == {
        "key": "env.nemo_gym.genrm_model.responses_api_models.genrm_model.model",
        "model": "nvidia/Qwen3-Nemotron-235B-A22B-GenRM-2603",
    }


def test_a_run_starts_from_another_runs_export(
    tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    first, second = tmp_path / "sft", tmp_path / "dpo"
    result = run_cli(
        ["algo=dpo", "data=tiny", "launch.export_hf=last", f"hydra.run.dir={first}"],
        cwd=tmp_path,
        env={**stand_in_env, **STEPS},
    )
    assert result.returncode == 0, result.stderr
    hf = str(first.resolve() / "hf")
    result = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            f"policy.model_name=${{from_run:{first}}}",
            "launch.mode=subprocess",  # exec leaves nothing behind to record `produced`
            f"hydra.run.dir={second}",
        ],
        cwd=tmp_path,
        env={**stand_in_env, **STEPS},
    )
    assert result.returncode == 0, result.stderr
    nemo_rl = read_json(Path(stand_in_env["STAND_IN_RECORD"]))["config"]
    assert nemo_rl["policy"]["model_name"] == hf
    launch = read_json(second / "launch.json")
    assert launch["consumed"]["policy"] == {"model_name": hf, "from_run": str(first.resolve())}
    assert launch["overrides"][2] == f"policy.model_name=${{from_run:{first}}}"  # as typed
    assert launch["produced"]["last_step"] == 2 and launch["produced"]["hf_export"] is None


def test_from_run_refusal_names_the_key(tmp_path: Path) -> None:
    not_a_run = tmp_path / "elsewhere"
    not_a_run.mkdir()
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            f"policy.model_name=${{from_run:{not_a_run}}}",
            DRY,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert (
        f"error: policy.model_name: {not_a_run} is not a run folder (it has no launch.json)"
        in result.stderr
    )
    assert "fix: name the folder of a finished run" in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def _run_folder(tmp_path: Path, **record: object) -> Path:
    folder = tmp_path / "earlier"
    (folder / "hf").mkdir(parents=True)
    full = {"dry_run": False, "exit_code": 0, "error": None, "produced": None, **record}
    (folder / "launch.json").write_text(json.dumps(full))
    return folder


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"dry_run": True}, "is a dry run: it trained nothing"),
        ({"exit_code": 5, "error": "error: x: broke\n  fix: y"}, "failed (exit code 5: error: x"),
        ({"exit_code": None}, "has not ended"),
        ({"produced": {"hf_export": None}}, "has no Hugging Face export"),
        ({"produced": {"hf_export": "/nonexistent/hf"}}, "(/nonexistent/hf is gone)"),
    ],
)
def test_from_run_refuses_a_run_without_a_model(record: dict, problem: str, tmp_path: Path) -> None:
    folder = _run_folder(tmp_path, **record)
    with pytest.raises(LaunchRejected) as refused:
        run_hf_export(str(folder))
    assert problem in refused.value.problem
    assert refused.value.fix


def test_from_run_gives_the_recorded_export(tmp_path: Path) -> None:
    folder = _run_folder(tmp_path)
    hf = str(folder / "hf")
    (folder / "launch.json").write_text(json.dumps({"exit_code": 0, "produced": {"hf_export": hf}}))
    assert run_hf_export(str(folder)) == hf
