"""What the CLI tells its user: --help, tab completion, the fix a refused override suggests, and
HYDRA_FULL_ERROR's traceback."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import (
    CLI_TIMEOUT_S,
    DRY,
    run_cli,
)
from hydra.core.global_hydra import GlobalHydra

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.store import register_schemas

USER_GROUPS = ["algo", "data", "cluster", "nemo_rl", "sweep", "search", "experiment"]
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
    assert len(re.findall(r"^  nemotron-align ", text, re.MULTILINE)) == 4
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
