"""The installed CLI end to end, against the stand-in NeMo-RL tree (tests/stand_in_nemo_rl)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import CLI_TIMEOUT_S, STAND_IN_ROOT, run_cli, start_cli, wait_for_file
from hydra.core.global_hydra import GlobalHydra

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.relaunch import relaunch_args
from nemotron_align.config.store import register_schemas

DRY = "launch.dry_run=true"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


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
    assert (other / "nemo_rl.yaml").read_text() == original.replace(str(run_dir), str(other))

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


USER_GROUPS = ["algo", "data", "cluster", "nemo_rl", "sweep", "experiment"]
# Groups the configs are built from, not picked by users.
INTERNAL_GROUPS = {
    "components",
    "components/nemo_rl_grpo",
    "components/policy",
    "data/for_algo",
    "schema",
}


def _config_groups(loader: Any, parent: str = "") -> list[str]:
    found = []
    for name in loader.list_groups(parent):
        group = f"{parent}/{name}" if parent else name
        if group != "hydra":
            found += [group, *_config_groups(loader, group)]
    return found


def _help_entries(text: str) -> dict[str, str]:
    """`  group   description: options`, wrapped onto indented lines."""
    entries: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        start = re.match(r"^  (\w+) {2,}(.*)$", line)
        if start:
            current = start[1]
            entries[current] = start[2]
        elif current and line.startswith(" " * 6):
            entries[current] += " " + line.strip()
        else:
            current = None
    return entries


def _check_every_user_group_listed_with_its_options(text: str) -> None:
    register_schemas()
    GlobalHydra.instance().clear()
    with initialize_app_config():
        loader = GlobalHydra.instance().config_loader()
        groups = _config_groups(loader)
        options = {group: loader.get_group_options(group) for group in USER_GROUPS}
    # A new group is either listed for users or known as internal.
    assert set(groups) == set(USER_GROUPS) | INTERNAL_GROUPS
    entries = _help_entries(text)
    assert list(entries) == USER_GROUPS
    for group in USER_GROUPS:
        listed = [o.strip() for o in entries[group].rsplit(":", 1)[1].split(",")]
        assert sorted(listed) == sorted(options[group]), group


def test_help_lists_the_groups_a_user_picks(tmp_path: Path) -> None:
    helped = run_cli(["--help"], cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    text = helped.stdout
    assert text.startswith("nemotron-align: launch NVIDIA NeMo-RL alignment runs")
    _check_every_user_group_listed_with_its_options(text)
    for internal in ("components", "for_algo", "schema"):
        assert internal not in text
    assert len(re.findall(r"^  nemotron-align ", text, re.MULTILINE)) == 3
    # The config itself stays behind --cfg job.
    assert "reference_policy_kl_penalty:" not in text
    assert len(text.splitlines()) < 50
    assert not (tmp_path / "outputs").exists()


def _complete(line: str, bin_dir: Path, cwd: Path) -> list[str]:
    """What bash offers for `line` once Hydra's completion for nemotron-align is installed."""
    script = (
        'eval "$(nemotron-align -sc install=bash)"\n'
        f"COMP_LINE={shlex.quote(line)}; COMP_POINT=${{#COMP_LINE}}\n"
        "COMP_WORDS=($COMP_LINE); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        'hydra_bash_completion; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_tab_completion_of_the_installed_command(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "nemotron-align").is_file() or shutil.which("bash") is None:
        pytest.skip(f"needs bash and nemotron-align installed in {bin_dir} (pip install -e .)")
    assert _complete("nemotron-align alg", bin_dir, tmp_path) == ["algo="]
    assert _complete("nemotron-align algo=rl", bin_dir, tmp_path) == ["algo=rlhf", "algo=rlvr"]
    assert _complete("nemotron-align algo=rlvr grpo.num_gen", bin_dir, tmp_path) == [
        "grpo.num_generations_per_prompt="
    ]
    assert not (tmp_path / "outputs").exists()


# id → (arguments, pieces of the error and fix lines)
REFUSED = {
    "misspelled key": (
        ["dpo.betaa=0.1"],
        ["error: dpo.betaa: is not a key", "fix: did you mean dpo.reference_policy_kl_penalty?"],
    ),
    "misspelled option": (
        ["algo=dpoo"],
        ["error: algo=dpoo: no such option", "fix: did you mean algo=dpo? options: dpo, grpo_gym"],
    ),
    "no option": (["algo="], ["error: algo=: names no option", "options: dpo, grpo_gym"]),
    "unquoted '=' in a value": (
        ["policy.model_name=org/model=v2"],
        [
            "not valid override grammar (mismatched input '=' expecting <EOF>)",
            "fix: quote the value",
            """the whole override for the shell: "policy.model_name='org/model=v2'\"""",
        ],
    ),
    "unclosed list": (
        ["launch.python=[uv,run"],
        ["error: launch.python:", "fix: close the list or dict (launch.python=[a,b]"],
    ),
    "no value": (
        ["launch.dry_run"],
        ["missing EQUAL", "fix: give it a value, launch.dry_run=<value>, or delete it"],
    ),
    "not a number": (
        ["dpo.reference_policy_kl_penalty=abc"],
        [
            "could not be converted to Float",
            "fix: set dpo.reference_policy_kl_penalty to a number, "
            "e.g. dpo.reference_policy_kl_penalty=0.05",
        ],
    ),
    "not a bool": (
        ["launch.dry_run=maybe"],
        ["Value 'maybe' is not a valid bool", "fix: set launch.dry_run to true or false"],
    ),
    "not an allowed value": (
        ["launch.mode=fast"],
        ["Invalid value 'fast'", "fix: set launch.mode to one of: auto, exec, subprocess"],
    ),
    "not a list": (
        ["launch.python=python3"],
        ["fix: set launch.python to a list (or null), e.g. launch.python=[a,b]"],
    ),
    "not a mapping": (
        ["launch.env=3"],
        ["Cannot assign int to Dict[str, str]", "+launch.env.NAME=value"],
    ),
    "+ on a key that is there": (
        ["+dpo.reference_policy_kl_penalty=0.1"],
        ["fix: drop the +: dpo.reference_policy_kl_penalty=0.1"],
    ),
    "deleting a typed key": (
        ["~dpo.seed"],
        ["fix: set dpo.seed to a whole number, e.g. dpo.seed=42 instead of deleting it"],
    ),
    "deleting a key that is not there": (["~dpo.nope"], ["or drop ~dpo.nope"]),
    "deleting a group": (
        ["~algo"],
        ["error: algo: the config needs a choice of algo", "options: dpo, grpo_gym, rlhf, rlvr"],
    ),
    "+ on a chosen group": (["+algo=rlvr"], ["fix: drop the +: algo=rlvr"]),
    "a group the config does not pick": (["schema=dpo"], ["write +schema=dpo"]),
    "a list of options": (
        ["algo=[dpo,rlvr]"],
        ["options: dpo, grpo_gym, rlhf, rlvr", "-m algo=dpo,rlvr"],
    ),
    "several values without -m": (
        ["dpo.seed=1,2"],
        ["fix: add -m to run one job per value", """a string ("dpo.seed='1,2'")"""],
    ),
    "every problem at once": (
        ["dpo.betaa=0.1", "launch.mode=fast", "cluster=slurmm"],
        ["error: dpo.betaa:", "error: launch.mode:", "error: cluster=slurmm:"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_override_says_what_to_write(case: str, tmp_path: Path) -> None:
    args, expected = REFUSED[case]
    run_dir = tmp_path / "run"
    result = run_cli([*args, DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    # Only our lines: none of Hydra's message (its "To append ... use +key", its traceback hint).
    assert lines and all(line.startswith(("error: ", "  fix: ")) for line in lines), lines
    assert "fix: fix the override" not in result.stderr
    for piece in expected:
        assert piece in result.stderr
    assert not run_dir.exists()


def test_the_quoting_a_fix_gives_is_accepted(tmp_path: Path) -> None:
    refused = run_cli(["policy.model_name=org/model=v2", DRY], cwd=tmp_path)
    written = refused.stderr.rsplit("for the shell: ", 1)[1].strip()
    run_dir = tmp_path / "run"
    fixed = run_cli([*shlex.split(written), DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    rendered = yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())
    assert rendered["policy"]["model_name"] == "org/model=v2"


def test_hydra_full_error_still_gives_the_traceback(tmp_path: Path) -> None:
    result = run_cli(["dpo.betaa=0.1"], cwd=tmp_path, env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConfigCompositionException" in result.stderr
