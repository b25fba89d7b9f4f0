"""The bad-input catalogue (README): each entry exits with status 2, says what is wrong where and
how to fix it, shows no traceback, and writes no nemo_rl.yaml."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import run_cli, start_cli, start_lock_holder, wait_for_file

from nemotron_align.records.run_lock import LOCK_FILE

STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"
# Carries NeMo-RL v0.7.0's release marker (see its README).
STAND_IN_NEMO_RL = Path(__file__).resolve().parent / "stand_in_nemo_rl"


def _pairs(tmp_path: Path, *rows: str) -> list[str]:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(row + "\n" for row in rows))
    return [
        "algo=dpo",
        "data=preference_jsonl",
        f"data.train.data_path={path}",
        f"data.validation.data_path={path}",
    ]


GOOD_PAIR = json.dumps({"prompt": "q", "chosen": "a", "rejected": "b"})

# id → (arguments, expected pieces of the message); {tmp} is the test's folder.
# Set for every test here: whatever a case makes the launcher write or print, this never appears.
CATALOGUE_SECRET = ("NA_CATALOGUE_API_KEY", "catalogue-secret-4f1b9c")


@pytest.fixture(autouse=True)
def no_secret_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(*CATALOGUE_SECRET)
    yield
    secret = CATALOGUE_SECRET[1].encode()
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert not leaks, leaks


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
        ["policy.dtensor_cfg.tensor_parallel_size:", "does not divide the 8 GPUs"],
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
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece.format(tmp=tmp_path) in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
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
        [*_pairs(tmp_path, *rows), "launch.dry_run=true", f"hydra.run.dir={run_dir}"], cwd=tmp_path
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


GOOD_GYM = json.dumps(
    {
        "responses_create_params": {"input": [{"role": "user", "content": "2+2?"}]},
        "agent_ref": {"type": "responses_api_agents", "name": "math_with_judge_simple_agent"},
    }
)


def _dpo_file(name: str) -> list[str]:
    # Relative on purpose: checked, and written, against the launcher's working directory.
    return [
        "algo=dpo",
        "data=preference_jsonl",
        f"data.train.data_path={name}",
        f"data.validation.data_path={name}",
    ]


def _gym_file(name: str) -> list[str]:
    return ["algo=grpo_gym", "data=tiny", f"data.train.data_path={name}"]


# id → (file name, its bytes, arguments, expected pieces); {tmp} is the test's folder and cwd.
FILE_CATALOGUE = {
    # Paths: relative paths resolve against the launcher's cwd; NeMo-RL picks its reader by
    # the extension.
    "relative data path missing": (
        "other.jsonl",
        GOOD_PAIR.encode(),
        _dpo_file("nope.jsonl"),
        ["data.train.data_path: {tmp}/nope.jsonl does not exist"],
    ),
    "JSON Lines named .txt": (
        "pairs.txt",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.txt"),
        [
            "data.train.data_path: {tmp}/pairs.txt: NeMo-RL loads a .txt file as plain text",
            "no row has `prompt`, `chosen`, `rejected`",
            "name the file pairs.jsonl",
        ],
    ),
    "JSON Lines named .csv": (
        "pairs.csv",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.csv"),
        ["{tmp}/pairs.csv holds JSON Lines, but NeMo-RL reads a .csv file with its csv reader"],
    ),
    "CSV without the key columns": (
        "pairs.csv",
        b"prompt,chosen\nq,a\n",
        _dpo_file("pairs.csv"),
        ["{tmp}/pairs.csv: the CSV header has no column rejected"],
    ),
    "not Parquet named .parquet": (
        "pairs.parquet",
        b"prompt\tchosen\n",
        _dpo_file("pairs.parquet"),
        ["{tmp}/pairs.parquet is not a Parquet file"],
    ),
    "data file with an unknown extension": (
        "pairs.data",
        GOOD_PAIR.encode(),
        _dpo_file("pairs.data"),
        ["NeMo-RL picks a file's reader by its extension and has none for the extension .data"],
    ),
    "BOM in preference data": (
        "pairs.jsonl",
        b"\xef\xbb\xbf" + GOOD_PAIR.encode() + b"\n",
        _dpo_file("pairs.jsonl"),
        ["{tmp}/pairs.jsonl:1: starts with a UTF-8 byte-order mark (BOM)", "without a BOM"],
    ),
    # NeMo-Gym rows get the same file-level checks as DPO/RLVR rows.
    "empty Gym file": (
        "gym.jsonl",
        b"",
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl: has no rows"],
    ),
    "BOM in Gym data": (
        "gym.jsonl",
        b"\xef\xbb\xbf" + GOOD_GYM.encode() + b"\n",
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: starts with a UTF-8 byte-order mark (BOM)"],
    ),
    "invalid UTF-8 in Gym data": (
        "gym.jsonl",
        GOOD_GYM.encode() + b'\n{"question": "caf\xe9"}\n',
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:2: not valid UTF-8 (byte 0xe9 at column 18)", "re-encode"],
    ),
    "JSON array as Gym data": (
        "gym.jsonl",
        f"[\n{GOOD_GYM},\n{GOOD_GYM}\n]\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: not valid JSON", "the file looks like one JSON array"],
    ),
    "blank line in Gym data": (
        "gym.jsonl",
        f"{GOOD_GYM}\n\n{GOOD_GYM}\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:2: a blank line; NeMo-RL's NeMo-Gym dataset parses every line"],
    ),
    "text after the object in Gym data": (
        "gym.jsonl",
        f"{GOOD_GYM} trailing\n".encode(),
        _gym_file("gym.jsonl"),
        ["{tmp}/gym.jsonl:1: not valid JSON (unexpected content after document"],
    ),
}


@pytest.mark.parametrize("entry", list(FILE_CATALOGUE))
def test_catalogue_file_entry(entry: str, tmp_path: Path) -> None:
    name, body, args, expected = FILE_CATALOGUE[entry]
    (tmp_path / name).write_bytes(body)
    run_dir = tmp_path / "run"
    result = run_cli(
        [*args, "launch.dry_run=true", f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env={"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
    )
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece.format(tmp=tmp_path) in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists()


BOUNDS = {
    "prompts per step past int32": (
        ["algo=rlvr", "data=tiny", "grpo.num_prompts_per_step=100000000000000000000"],
        [
            "grpo.num_prompts_per_step: is 100,000,000,000,000,000,000; it must be at most "
            "2**31 - 1 = 2,147,483,647",
            "set grpo.num_prompts_per_step to 2,147,483,647 or less",
        ],
    ),
    "sequence length past int32": (
        ["algo=dpo", "data=tiny", "policy.max_total_sequence_length=4294967296"],
        ["policy.max_total_sequence_length: is 4,294,967,296; it must be at most 2**31 - 1"],
    ),
    "rollouts per step past int32": (
        [
            "algo=rlvr",
            "data=tiny",
            "grpo.num_prompts_per_step=65536",
            "grpo.num_generations_per_prompt=65536",
        ],
        [
            "grpo.num_prompts_per_step: x grpo.num_generations_per_prompt = 65,536 x 65,536 = "
            "4,294,967,296 rollouts per step; it must be at most 2**31 - 1",
        ],
    ),
    "any integer past int64": (
        ["algo=rlvr", "data=tiny", "grpo.seed=100000000000000000000"],
        ["grpo.seed: is 100,000,000,000,000,000,000; it must be at most 2**63 - 1"],
    ),
}


@pytest.mark.parametrize("entry", list(BOUNDS))
def test_catalogue_bounds_entry(entry: str, tmp_path: Path) -> None:
    args, expected = BOUNDS[entry]
    run_dir = tmp_path / "run"
    result = run_cli([*args, "launch.dry_run=true", f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists()


def test_relative_data_path_is_checked_and_written_against_the_launcher_cwd(
    tmp_path: Path,
) -> None:
    """NeMo-RL runs from its own root: a relative path in nemo_rl.yaml would name another
    file."""
    (tmp_path / "pairs.jsonl").write_text(GOOD_PAIR + "\n")
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            *_dpo_file("pairs.jsonl"),
            "policy.train_global_batch_size=1",
            "policy.train_micro_batch_size=1",
            "launch.dry_run=true",
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    data = yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())["data"]
    assert data["train"]["data_path"] == str(tmp_path / "pairs.jsonl")
    assert data["validation"]["data_path"] == str(tmp_path / "pairs.jsonl")


@pytest.mark.parametrize(
    "args",
    [
        ["algo=dpo", "data=tiny", "launch.dry_run=true"],
        ["algo=dpo", "data=tiny"],
        ["algo=rlvr", "data=tiny", "launch.mode=subprocess"],
    ],
    ids=["dry run", "run", "another config, subprocess"],
)
def test_catalogue_run_folder_in_use(args: list[str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    record = tmp_path / "record.json"
    holder = start_lock_holder(run_dir)
    try:
        result = run_cli(
            [*args, f"hydra.run.dir={run_dir}"],
            cwd=tmp_path,
            env={"NEMO_RL_ROOT": str(STAND_IN_NEMO_RL), "STAND_IN_RECORD": str(record)},
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 2
    assert f"hydra.run.dir: {run_dir} is in use by another launch (pid {holder.pid} on host " in (
        result.stderr
    )
    assert "fix: wait for that run to end" in result.stderr and "Traceback" not in result.stderr
    assert not (run_dir / "nemo_rl.yaml").exists() and not record.exists()  # no trainer started


@pytest.mark.parametrize(
    "args",
    [["algo=dpo"], ["algo=rlvr"], ["algo=dpo", "+launch.env.NA_TEST_RUN=3"]],
    ids=["dpo", "rlvr", "with launch.env"],
)
def test_catalogue_killed_launcher(args: list[str], tmp_path: Path) -> None:
    """SIGKILL of a subprocess-mode launcher: NeMo-RL gets SIGTERM and ends (PR_SET_PDEATHSIG),
    and the next launch into the folder records the killed run as crashed."""
    run_dir = tmp_path / "run"
    record = tmp_path / "record.json"
    args = [*args, "data=tiny", "launch.mode=subprocess", f"hydra.run.dir={run_dir}"]
    env = {"NEMO_RL_ROOT": str(STAND_IN_NEMO_RL), "STAND_IN_RECORD": str(record)}
    waiting = {**env, "STAND_IN_WAIT_FOR_SIGNAL": "1", "STAND_IN_WAIT_S": "60"}
    proc = start_cli(args, cwd=tmp_path, env=waiting)
    try:
        wait_for_file(Path(f"{record}.ready"), proc=proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 30
        while json.loads(record.read_text())["signals"] != ["SIGTERM"]:
            assert time.monotonic() < deadline, "NeMo-RL never got SIGTERM"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    again = run_cli(args, cwd=tmp_path, env=env)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    killed = json.loads((run_dir / "launch.json").read_text())["previous_launches"][-1]
    assert killed["status"] == "crashed" and killed["pid"] == proc.pid


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _assert_refused(result: subprocess.CompletedProcess[str], expected: list[str]) -> None:
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr


DRY_DPO = ["algo=dpo", "data=tiny", "launch.dry_run=true"]

# An interpolation that cannot be resolved, checked when the config is rendered.
INTERPOLATIONS = {
    "key that does not exist": (
        "+x=${does.not.exist}",
        ["error: x: cannot be resolved: Interpolation key 'does.not.exist' not found"],
    ),
    "self-reference": (
        "+a=${a}",
        ["error: a: cannot be resolved: Recursive interpolation", "a refers to itself"],
    ),
    "unset environment variable": (
        "+y=${oc.env:UNSET_VAR_XYZ}",
        [
            "error: y: cannot be resolved:",
            "Environment variable 'UNSET_VAR_XYZ' not found",
            "export UNSET_VAR_XYZ, or give the value a default: ${oc.env:UNSET_VAR_XYZ,<default>}",
        ],
    ),
    "NeMo-RL key pointing nowhere": (
        "policy.model_name=${nope}",
        ["error: policy.model_name: cannot be resolved: Interpolation key 'nope' not found"],
    ),
}


@pytest.mark.parametrize("entry", list(INTERPOLATIONS))
def test_catalogue_interpolation_entry(entry: str, tmp_path: Path) -> None:
    override, expected = INTERPOLATIONS[entry]
    run_dir = tmp_path / "run"
    result = run_cli([*DRY_DPO, override, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    _assert_refused(result, expected)
    assert not run_dir.exists()


# Overrides the grammar refuses, and a config group left without a choice.
GRAMMAR = {
    "unicode in an unquoted value": (
        "+note=héllo wörld",
        ["error: note: '+note=héllo wörld' is not valid override grammar", "quote the value"],
    ),
    "spaces and parentheses in an unquoted value": (
        "policy.model_name=my model (v2)",
        [
            "'policy.model_name=my model (v2)' is not valid override grammar",
            "expecting <EOF>",
            "\"policy.model_name='my model (v2)'\"",
        ],
    ),
    "unclosed parenthesis": (
        "+z=f(x",
        ["error: z: '+z=f(x' is not valid override grammar", "quote it: \"+z='f(x'\""],
    ),
    "unclosed interpolation": (
        "+z=${oops",
        ["error: z: '+z=${oops' is not valid override grammar", "quote"],
    ),
    "empty group choice": (
        "algo=",
        ["error: algo=: names no option", "options: dpo, grpo_gym, rlhf, rlvr"],
    ),
}


@pytest.mark.parametrize("entry", list(GRAMMAR))
def test_catalogue_grammar_entry(entry: str, tmp_path: Path) -> None:
    override, expected = GRAMMAR[entry]
    run_dir = tmp_path / "run"
    result = run_cli([*DRY_DPO, override, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    _assert_refused(result, expected)
    assert not run_dir.exists()


# A run folder that cannot be made: {tmp} is the test's folder, which holds a file `afile`.
RUN_DIR_FAULTS = {
    "parent is a file": (
        "{tmp}/afile/run",
        ["error: {tmp}/afile/run: a part of this path is a file, not a folder"],
    ),
    "run folder is a file": (
        "{tmp}/afile",
        ["error: {tmp}/afile: is a file, not a folder", "move the file away"],
    ),
    "name too long": (
        "{tmp}/" + "a" * 300,
        ["the path is too long", "choose a shorter hydra.run.dir"],
    ),
}


@pytest.mark.parametrize("entry", list(RUN_DIR_FAULTS))
def test_catalogue_run_dir_entry(entry: str, tmp_path: Path) -> None:
    run_dir, expected = RUN_DIR_FAULTS[entry]
    (tmp_path / "afile").write_text("not a folder\n")
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir.format(tmp=tmp_path)}"], cwd=tmp_path)
    _assert_refused(result, [piece.format(tmp=tmp_path) for piece in expected])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
    assert (tmp_path / "afile").read_text() == "not a folder\n"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 100 KiB tmpfs (mounting needs root and a sandbox that allows it)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100k", "tmpfs", str(disk)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


# Free space left on the disk: none (Hydra cannot write its record), then enough for the record
# but not for nemo_rl.yaml, then for nemo_rl.yaml but not launch.json (at the time of writing).
@pytest.mark.parametrize("free_kib", [0, 16, 28, 36])
def test_catalogue_disk_full(free_kib: int, small_disk: Path, tmp_path: Path) -> None:
    (small_disk / "fill").write_bytes(b"\0" * (100 - free_kib) * 1024)
    run_dir = small_disk / "run"
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    _assert_refused(result, ["no space left on the device", "free space there"])
    assert [p.name for p in small_disk.iterdir()] == ["fill"]


def test_fault_shows_the_traceback_with_hydra_full_error(small_disk: Path, tmp_path: Path) -> None:
    """Set by the user, HYDRA_FULL_ERROR shows where a fault came from; the folder still goes."""
    (small_disk / "fill").write_bytes(b"\0" * 72 * 1024)
    result = run_cli(
        [*DRY_DPO, f"hydra.run.dir={small_disk / 'run'}"],
        cwd=tmp_path,
        env={"HYDRA_FULL_ERROR": "1"},
    )
    assert "Traceback" in result.stderr and "No space left on device" in result.stderr
    assert [p.name for p in small_disk.iterdir()] == ["fill"]


def test_catalogue_read_only_file_system(small_disk: Path, tmp_path: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    run_dir = small_disk / "run"
    result = run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    _assert_refused(result, [f"error: {run_dir}: the file system is read-only"])
    assert not run_dir.exists()


def _record(run_dir: Path) -> dict[str, bytes]:
    """A run's record: all but its log (a refused launch adds its lines) and its lock file."""
    return {k: v for k, v in _files(run_dir).items() if k not in ("nemotron_align.log", LOCK_FILE)}


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run"
    assert run_cli([*DRY_DPO, f"hydra.run.dir={run_dir}"], cwd=tmp_path).returncode == 0
    return run_dir


# A second launch into a finished run's folder, refused: its record stays as it was.
INTO_A_RUN = {
    "different config": (
        ["dpo.reference_policy_kl_penalty=0.2"],
        ["already holds a different nemo_rl.yaml"],
    ),
    "refused by a check": (
        ["policy.train_global_batch_size=10", "policy.train_micro_batch_size=4"],
        ["policy.train_global_batch_size: is 10, not a multiple of train_micro_batch_size"],
    ),
    "unresolvable interpolation": (
        ["+x=${does.not.exist}"],
        ["error: x: cannot be resolved"],
    ),
}


@pytest.mark.parametrize("entry", list(INTO_A_RUN))
def test_refused_launch_keeps_the_runs_record(
    entry: str, finished_run: Path, tmp_path: Path
) -> None:
    overrides, expected = INTO_A_RUN[entry]
    before = _record(finished_run)
    result = run_cli([*DRY_DPO, *overrides, f"hydra.run.dir={finished_run}"], cwd=tmp_path)
    _assert_refused(result, expected)
    assert _record(finished_run) == before
    relaunch = json.loads((finished_run / "launch.json").read_text())["relaunch"]
    again = subprocess.run(relaunch, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert (finished_run / "nemo_rl.yaml").read_bytes() == before["nemo_rl.yaml"]


def test_launch_turned_away_from_a_busy_run_keeps_its_record(
    finished_run: Path, tmp_path: Path
) -> None:
    before = _record(finished_run)
    holder = start_lock_holder(finished_run)
    try:
        result = run_cli(
            [*DRY_DPO, "dpo.reference_policy_kl_penalty=0.2", f"hydra.run.dir={finished_run}"],
            cwd=tmp_path,
        )
    finally:
        holder.kill()
        holder.wait()
    _assert_refused(result, ["is in use by another launch"])
    assert _record(finished_run) == before


def test_relaunch_refused_into_another_run_keeps_its_record(
    finished_run: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    launched = run_cli(
        [*DRY_DPO, "dpo.reference_policy_kl_penalty=0.2", f"hydra.run.dir={other}"], cwd=tmp_path
    )
    assert launched.returncode == 0, launched.stderr
    before = _record(finished_run)
    relaunch = json.loads((other / "launch.json").read_text())["relaunch"]
    result = subprocess.run(
        [*relaunch[:-1], f"hydra.run.dir={finished_run}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    _assert_refused(result, ["already holds a different nemo_rl.yaml"])
    assert _record(finished_run) == before
