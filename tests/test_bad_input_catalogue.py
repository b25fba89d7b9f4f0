"""The bad-input catalogue (README): each entry exits with status 2, says what is wrong where and
how to fix it, shows no traceback, and writes no nemo_rl.yaml.
Here: bad config values and overrides, bad NeMo-RL roots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bad_input_support import (
    CATALOGUE_SECRET,
    GOOD_PAIR,
    STAND_IN_GYM,
    STAND_IN_NEMO_RL,
    assert_refused,
    no_secret_anywhere,  # noqa: F401  (autouse: every test here)
    pairs,
)
from conftest import run_cli

# id → (arguments, expected pieces of the message); {tmp} is the test's folder.
CATALOGUE = {
    "unknown key, with a suggestion": (
        ["algo=dpo", "dpo.refrence_policy_kl_penalty=0.1"],
        [
            "dpo.refrence_policy_kl_penalty: is not a key",
            "did you mean dpo.reference_policy_kl_penalty?",
        ],
    ),
    "wrong type": (
        ["algo=dpo", "dpo.reference_policy_kl_penalty=abc"],
        ["dpo.reference_policy_kl_penalty:", "could not be converted to Float"],
    ),
    "out-of-range value": (
        ["algo=rlvr", "data=tiny", "grpo.num_generations_per_prompt=0"],
        ["grpo.num_generations_per_prompt: is 0; it must be at least 1"],
    ),
    "data path that is a folder": (
        [
            "algo=dpo",
            "data=preference_jsonl",
            "data.train.data_path={tmp}",
            "data.validation.data_path={tmp}",
        ],
        ["data.train.data_path: {tmp} is a folder, not a file"],
    ),
    "Gym data path that is a folder": (
        ["algo=grpo_gym", "data=tiny", "data.train.data_path={tmp}"],
        ["data.train.data_path: {tmp} is a folder, not a file"],
    ),
    "missing data file": (
        [
            "algo=dpo",
            "data=preference_jsonl",
            "data.train.data_path={tmp}/nope.jsonl",
            "data.validation.data_path={tmp}/nope.jsonl",
        ],
        ["data.train.data_path: {tmp}/nope.jsonl does not exist"],
    ),
    "incompatible algo/data pair": (
        [
            "algo=dpo",
            "data=response_jsonl",
            "data.train.data_path=/x.jsonl",
            "data.validation.data_path=/y.jsonl",
        ],
        ["data=response_jsonl does not fit algo=dpo", "data=preference_jsonl"],
    ),
    "unresolved ???": (
        ["algo=dpo", "data=preference_jsonl"],
        ["data.train.data_path: has no value (???)", "data.validation.data_path: has no value"],
    ),
    "batch not divisible": (
        [
            "algo=dpo",
            "data=tiny",
            "policy.train_global_batch_size=10",
            "policy.train_micro_batch_size=4",
        ],
        ["policy.train_global_batch_size: is 10, not a multiple of train_micro_batch_size"],
    ),
    "parallelism not dividing the GPUs": (
        [
            "algo=dpo",
            "data=tiny",
            "cluster.gpus_per_node=8",
            "policy.dtensor_cfg.tensor_parallel_size=3",
        ],
        ["policy.dtensor_cfg.tensor_parallel_size:", "does not divide the 8 training GPUs"],
    ),
    "Megatron and DTensor both on": (
        [
            "algo=dpo",
            "data=tiny",
            "policy.megatron_cfg.enabled=true",
            "+launch.env.TORCH_CUDA_ARCH_LIST=9.0",
        ],
        [
            "policy.megatron_cfg.enabled: Megatron and DTensor are both enabled",
            "policy.dtensor_cfg.enabled=false",
        ],
    ),
    "Gym with max_val_samples set": (
        ["algo=grpo_gym", "data=tiny", "grpo.max_val_samples=16"],
        ["grpo.max_val_samples: is 16", "grpo.max_val_samples=null"],
    ),
    "train data smaller than one global batch": (
        ["algo=rlvr", "data=tiny", "grpo.num_prompts_per_step=16"],
        [
            "data.train.data_path:",
            "has 8 prompts, fewer than one global batch (grpo.num_prompts_per_step = 16)",
            "lower grpo.num_prompts_per_step to 8 or less",
        ],
    ),
    "required key of the target release missing": (
        ["algo=rlvr", "data=tiny", "nemo_rl=v0.7.0", "+data_plane.enabled=false"],
        ["data_plane.impl: NeMo-RL v0.7.0 requires this key once data_plane is present"],
    ),
    "config composed for another NeMo-RL release": (
        ["algo=dpo", "data=tiny", "nemo_rl=v0.6.0", f"launch.nemo_rl_root={STAND_IN_NEMO_RL}"],
        [
            "nemo_rl: the config is composed for NeMo-RL v0.6.0, but",
            "holds NeMo-RL v0.7.0",
            "add nemo_rl=v0.7.0",
        ],
    ),
    "GenRM rollouts not the group size": (
        [
            "algo=rlhf",
            "data=tiny",
            "env.nemo_gym.genrm_compare_resources_server"
            ".resources_servers.genrm_compare.num_rollouts_per_prompt=16",
        ],
        ["num_rollouts_per_prompt: is 16 but grpo.num_generations_per_prompt is 8"],
    ),
}


@pytest.mark.parametrize("entry", list(CATALOGUE))
def test_catalogue_entry(entry: str, tmp_path: Path) -> None:
    args, expected = CATALOGUE[entry]
    run_dir = tmp_path / "run"
    argv = [a.format(tmp=tmp_path) for a in args]
    result = run_cli(
        [*argv, "launch.dry_run=true", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
    )
    assert_refused(result, [piece.format(tmp=tmp_path) for piece in expected])
    assert not (run_dir / "nemo_rl.yaml").exists()


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((GOOD_PAIR, "{broken", GOOD_PAIR), "pairs.jsonl:2: not valid JSON"),
        (
            (GOOD_PAIR, json.dumps({"prompt": "q", "chosen": "", "rejected": "b"})),
            "pairs.jsonl:2: `chosen` is ''",
        ),
        (
            (json.dumps({"prompt": "q", "chosen": "same", "rejected": "same"}),),
            "pairs.jsonl:1: `chosen` and `rejected` are the same text",
        ),
    ],
    ids=["malformed JSON line", "empty chosen", "chosen == rejected"],
)
def test_catalogue_data_entry(rows: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [*pairs(tmp_path, *rows), "launch.dry_run=true", f"hydra.run.dir={run_dir}"], cwd=tmp_path
    )
    assert result.returncode == 2
    assert expected in result.stderr and "fix:" in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists()


@pytest.mark.parametrize(
    ("args", "code"),
    [
        # Accepted: recorded redacted.
        (["+launch.env.HARMLESS=${oc.env:NA_CATALOGUE_API_KEY}"], 0),
        # Refused by its name, the value typed on the command line.
        ([f"+launch.env.NA_CATALOGUE_API_KEY={CATALOGUE_SECRET[1]}"], 2),
        # Refused by its value, in every job of a multirun.
        (["-m", f"checkpointing.checkpoint_dir={CATALOGUE_SECRET[1]},x{CATALOGUE_SECRET[1]}"], 2),
    ],
    ids=["under a harmless name", "under a secret's name", "as a NeMo-RL value, multirun"],
)
def test_catalogue_secret_routes(args: list[str], code: int, tmp_path: Path) -> None:
    result = run_cli(
        [
            "algo=dpo",
            "data=tiny",
            "launch.dry_run=true",
            *args,
            f"hydra.run.dir={tmp_path / 'run'}",
            f"hydra.sweep.dir={tmp_path / 'sweep'}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert CATALOGUE_SECRET[1] not in result.stdout + result.stderr


def test_catalogue_nemo_rl_root_is_a_file(tmp_path: Path) -> None:
    a_file = tmp_path / "nemo-rl.tar"
    a_file.write_text("")
    result = run_cli(
        ["algo=dpo", "data=tiny", f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(a_file)},
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"NeMo-RL root {a_file} is a file, not a checkout folder" in result.stderr


def test_catalogue_nemo_rl_root_missing(tmp_path: Path) -> None:
    """A non-dry run without NeMo-RL: exit 2 and the three ways out. The one exception to "no
    nemo_rl.yaml": the config is fine, so it stays in the run folder for inspection (or to copy
    to where NeMo-RL is), and launch.json records why nothing started."""
    run_dir = tmp_path / "run"
    missing = tmp_path / "no-nemo-rl"
    result = run_cli(
        ["algo=dpo", "data=tiny", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_RL_ROOT": str(missing)},
    )
    assert result.returncode == 2
    assert f"NeMo-RL root {missing} does not exist" in result.stderr and "fix:" in result.stderr
    assert "NeMo-RL not found" in json.loads((run_dir / "launch.json").read_text())["error"]
