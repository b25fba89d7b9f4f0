"""recipe=<path of a NeMo-RL recipe> on the command line, end to end against the stand-in NeMo-RL:
hand-made DPO, GRPO and GRPO+Gym recipes (tests/recipe_support.py), dry runs and launches (the
Gym one through our in-process runner against the stand-in Gym), overrides and did-you-mean
against the recipe's keys, a sweep over a recipe key, Slurm's dry run, refusals, the record and a
relaunch from it. The same recipes on the real local Slurm: tests/test_recipe_slurm.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import DRY, STAND_IN_ROOT, read_json, run_cli
from gym_runner_support import STAND_IN_GYM
from recipe_support import RECIPE_ON_TOP, write_recipe

from nemotron_align.config.recipe_args import with_recipe
from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.errors import LaunchRejected


@pytest.fixture(scope="module")
def recipes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("recipes")
    return {algo: write_recipe(folder, algo) for algo in RECIPE_ON_TOP}


def _rendered(run_dir: Path) -> dict:
    return yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())


def _env() -> dict[str, str]:
    return {"NEMO_RL_ROOT": str(STAND_IN_ROOT)}


def test_dry_run_of_a_dpo_recipe_by_relative_path(recipes: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cwd = recipes["dpo"].parents[1]
    relative = recipes["dpo"].relative_to(cwd)
    result = run_cli(
        [
            f"recipe={relative}",
            "policy.max_total_sequence_length=512",
            DRY,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=cwd,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    config = _rendered(run_dir)
    assert config["dpo"]["reference_policy_kl_penalty"] == 0.2  # the recipe's
    assert config["policy"]["max_total_sequence_length"] == 512  # the override
    assert config["data"]["max_input_seq_length"] == 512  # its interpolation, resolved
    assert config["checkpointing"]["checkpoint_dir"] == str(run_dir / "checkpoints")
    assert config["logger"]["log_dir"] == str(run_dir / "logs")
    record = read_json(run_dir / "launch.json")
    assert record["recipe"] == str(recipes["dpo"])
    assert record["argv"][1] == "examples/run_dpo.py"
    assert record["nemo_rl_release"] == "v0.7.0"


def test_a_grpo_recipe_launches_on_the_stand_in(
    recipes: dict[str, Path], tmp_path: Path, stand_in_env: dict[str, str]
) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [f"recipe={recipes['rlvr']}", f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=stand_in_env
    )
    assert result.returncode == 0, result.stderr
    got = read_json(Path(stand_in_env["STAND_IN_RECORD"]))
    assert got["script"] == "examples/run_grpo.py" and "failure" not in got
    assert got["config"]["grpo"]["seed"] == 7


def test_a_grpo_gym_recipe_runs_in_process_on_the_stand_in_gym(
    recipes: dict[str, Path], tmp_path: Path
) -> None:
    """env.should_use_nemo_gym makes it GRPO with NeMo-Gym: our runner, in the launcher's own
    process, against the stand-in NeMo-RL package and the stand-in Gym."""
    calls = tmp_path / "calls"
    calls.mkdir()
    env = {
        **_env(),
        "PYTHONPATH": str(STAND_IN_ROOT),
        "STAND_IN_NEMO_RL_API": "v0.7",
        "STAND_IN_CALLS": str(calls),
        "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM),
    }
    run_dir = tmp_path / "run"
    result = run_cli([f"recipe={recipes['grpo_gym']}", f"hydra.run.dir={run_dir}"], tmp_path, env)
    assert result.returncode == 0, result.stderr
    (call_file,) = calls.glob("*.json")
    names = [c["call"] for c in json.loads(call_file.read_text())]
    assert names[-1] == "grpo_train" and "setup_nemo_gym_config" in names
    record = read_json(run_dir / "launch.json")
    assert record["recipe"] == str(recipes["grpo_gym"])
    assert record["mode"] == "in-process" and record["exit_code"] == 0
    assert _rendered(run_dir)["grpo"]["seed"] == 7
    gym = yaml.safe_load((run_dir / "nemo_gym.yaml").read_text())
    judge = gym["math_with_judge"]["resources_servers"]["math_with_judge"]
    assert judge["domain"] == "recipe_math"  # the recipe's, over the stand-in Gym's file
    assert judge["should_use_judge"] is False  # the recipe's base, over the file


def test_a_typo_is_named_against_the_recipes_keys(recipes: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    result = run_cli(
        [
            f"recipe={recipes['dpo']}",
            "dpo.reference_policy_kl_penaltyy=0.1",
            DRY,
            f"hydra.run.dir={run_dir}",
        ],
        cwd=tmp_path,
        env=_env(),
    )
    assert result.returncode == 2, result.stderr
    assert "error: dpo.reference_policy_kl_penaltyy" in result.stderr
    assert "dpo.reference_policy_kl_penalty" in result.stderr.split("fix:")[1]
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_a_sweep_over_a_recipe_key(recipes: dict[str, Path], tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "-m",
            f"recipe={recipes['dpo']}",
            "dpo.reference_policy_kl_penalty=0.05,0.1",
            DRY,
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    betas = [_rendered(sweep_dir / str(n))["dpo"]["reference_policy_kl_penalty"] for n in (0, 1)]
    assert betas == [0.05, 0.1]
    assert _rendered(sweep_dir / "1")["checkpointing"]["checkpoint_dir"] == str(
        sweep_dir / "1" / "checkpoints"
    )


def test_slurm_dry_run_keeps_the_recipes_cluster_size_and_sets_the_save_by(
    recipes: dict[str, Path], tmp_path: Path
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    sweep_dir = tmp_path / "sweep"
    result = run_cli(
        [
            "cluster=slurm",
            f"recipe={recipes['dpo']}",
            DRY,
            "cluster.gpus_per_node=2",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env={"PATH": str(empty), **_env()},
    )
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --gpus-per-node=2" in result.stderr
    config = _rendered(sweep_dir / "0")
    assert config["cluster"]["gpus_per_node"] == 2
    # The recipe's null (no deadline) yields to the save-by of the job's time limit.
    assert config["checkpointing"]["checkpoint_must_save_by"] == "00:03:28:00"
    node = json.loads((sweep_dir / "0" / "slurm_job.json").read_text())
    assert node["args"][0] == "examples/run_dpo.py"


def test_data_tiny_replaces_the_recipes_datasets(recipes: dict[str, Path], tmp_path: Path) -> None:
    """data=<option> swaps in our datasets; the rest of the recipe's data section stays."""
    recipe = recipes["dpo"].parent / "hub.yaml"
    recipe.write_text(
        "defaults: dpo-small.yaml\ndata:\n  num_workers: 3\n"
        "  train: {dataset_name: HelpSteer3, split: train}\n"
        "  validation: {dataset_name: HelpSteer3, split: validation}\n"
    )
    run_dir = tmp_path / "run"
    result = run_cli(
        [f"recipe={recipe}", "data=tiny", DRY, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env=_env(),
    )
    assert result.returncode == 0, result.stderr
    data = _rendered(run_dir)["data"]
    assert data["num_workers"] == 3
    assert data["train"]["data_path"].endswith("dpo_train.jsonl")
    assert "dataset_name" not in data["train"]


# A recipe's own data, written as NeMo-RL's recipes write theirs: relative to the NeMo-RL root.
ROOT_DATA = "data/pairs/train.jsonl"


@pytest.fixture
def root_relative(recipes: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(recipe whose train and validation data_path is ROOT_DATA, a copy of the stand-in NeMo-RL
    root holding that file)."""
    recipe = tmp_path / "recipes" / "root-data.yaml"
    recipe.parent.mkdir()
    recipe.write_text(
        f"defaults: {recipes['dpo']}\n"
        f"data:\n  train: {{data_path: {ROOT_DATA}}}\n  validation: {{data_path: {ROOT_DATA}}}\n"
    )
    root = tmp_path / "nemo-rl"
    shutil.copytree(STAND_IN_ROOT, root)
    (root / ROOT_DATA).parent.mkdir(parents=True)
    shutil.copy(TINY_DATA_DIR / "dpo_train.jsonl", root / ROOT_DATA)
    return recipe, root


def _dry_run(
    recipe: Path, root: Path, cwd: Path, *extra: str
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    run_dir = cwd / "run"
    result = run_cli(
        [f"recipe={recipe}", *extra, DRY, f"hydra.run.dir={run_dir}"],
        cwd=cwd,
        env={"NEMO_RL_ROOT": str(root)},
    )
    return run_dir, result


def test_a_recipes_relative_data_path_is_read_from_the_nemo_rl_root(
    root_relative: tuple[Path, Path], tmp_path: Path
) -> None:
    recipe, root = root_relative
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    run_dir, result = _dry_run(recipe, root, cwd)
    assert result.returncode == 0, result.stderr
    data = _rendered(run_dir)["data"]
    # As written: NeMo-RL reads it from its root (the preflight read the file there).
    assert data["train"]["data_path"] == data["validation"]["data_path"] == ROOT_DATA
    consumed = read_json(run_dir / "launch.json")["consumed"]["data"]
    assert consumed[0]["path"] == str((root / ROOT_DATA).resolve())


def test_a_recipes_data_path_missing_under_the_root_is_refused(
    root_relative: tuple[Path, Path], tmp_path: Path
) -> None:
    recipe, _ = root_relative
    run_dir, result = _dry_run(recipe, STAND_IN_ROOT, tmp_path)
    assert result.returncode == 2, result.stderr
    assert f"error: data.train.data_path: {STAND_IN_ROOT / ROOT_DATA} does not exist" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_an_override_naming_a_file_here_is_made_absolute(
    root_relative: tuple[Path, Path], tmp_path: Path
) -> None:
    recipe, root = root_relative
    cwd = tmp_path / "mine"
    cwd.mkdir()
    shutil.copy(TINY_DATA_DIR / "dpo_train.jsonl", cwd / "pairs.jsonl")
    run_dir, result = _dry_run(recipe, root, cwd, "data.train.data_path=pairs.jsonl")
    assert result.returncode == 0, result.stderr
    data = _rendered(run_dir)["data"]
    assert data["train"]["data_path"] == str(cwd / "pairs.jsonl")
    assert data["validation"]["data_path"] == ROOT_DATA


def test_a_root_not_on_this_machine_warns_instead_of_refusing(
    root_relative: tuple[Path, Path], tmp_path: Path
) -> None:
    """A container's /opt/nemo-rl seen from a login node: the file cannot be checked here."""
    recipe, _ = root_relative
    nowhere = tmp_path / "opt" / "nemo-rl"
    run_dir, result = _dry_run(recipe, nowhere, tmp_path, "nemo_rl=v0.7.0")
    assert result.returncode == 0, result.stderr
    assert (
        f"warning: data.train.data_path: {ROOT_DATA} is read from the NeMo-RL root {nowhere}, "
        "which is not on this machine" in result.stderr
    )
    assert _rendered(run_dir)["data"]["train"]["data_path"] == ROOT_DATA


@pytest.mark.parametrize(
    ("recipe_text", "extra", "said"),
    [
        (None, [], "no such recipe"),
        ("sft: {max_num_steps: 1}\npolicy: {}\n", [], "is a SFT recipe"),
        ("defaults: nope.yaml\n", [], "nope.yaml"),
        ("defaults: '???'\ndpo: {}\n", [], "defaults: is ??? (no value)"),
        ("dpo: {}\n", [], "error: checkpointing: NeMo-RL v0.7.0 requires this key"),
        ("dpo: {}\n", ["algo=dpo"], "cannot be combined with algo=dpo"),
    ],
)
def test_refused_recipes_leave_no_run_folder(
    recipe_text: str | None, extra: list[str], said: str, tmp_path: Path
) -> None:
    recipe = tmp_path / "recipe.yaml"
    if recipe_text is not None:
        recipe.write_text(recipe_text)
    run_dir = tmp_path / "run"
    result = run_cli(
        [f"recipe={recipe}", *extra, DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=_env()
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and "\n  fix: " in result.stderr
    assert said in result.stderr
    assert "Traceback" not in result.stderr
    assert not run_dir.exists()


def test_relaunch_from_the_record_needs_no_recipe(recipes: dict[str, Path], tmp_path: Path) -> None:
    """The record holds the composed config: the relaunch renders the same, recipe file gone."""
    source = tmp_path / "mine.yaml"
    source.write_text(
        recipes["dpo"].read_text().replace("../base", str(recipes["dpo"].parents[1] / "base"))
    )
    run_dir = tmp_path / "run"
    first = run_cli([f"recipe={source}", DRY, f"hydra.run.dir={run_dir}"], cwd=tmp_path, env=_env())
    assert first.returncode == 0, first.stderr
    original = (run_dir / "nemo_rl.yaml").read_text()
    source.unlink()
    relaunch = read_json(run_dir / "launch.json")["relaunch"]
    assert relaunch[:3] == [sys.executable, "-m", "nemotron_align"]
    again = run_cli(relaunch[3:], cwd=tmp_path, env=_env())
    assert again.returncode == 0, again.stderr
    assert (run_dir / "nemo_rl.yaml").read_text() == original
    assert read_json(run_dir / "launch.json")["recipe"] == str(source)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["recipe={r}", "recipe={r}"], "is given more than once"),
        (["recipe={r},{r}"], "needs one path"),
        (["recipe={r}", "~algo"], "cannot be combined with ~algo"),
        (["recipe={r}", "data=tiny,default"], "cannot be swept together with recipe="),
    ],
)
def test_command_lines_refused_before_hydra(
    args: list[str], said: str, recipes: dict[str, Path]
) -> None:
    with pytest.raises(LaunchRejected, match=said):
        with_recipe([a.format(r=recipes["dpo"]) for a in args])


def test_the_command_line_hydra_gets(recipes: dict[str, Path]) -> None:
    args = with_recipe(["nemo_rl=main", f"recipe={recipes['dpo']}", "data=tiny", DRY])
    assert args == ["data=tiny", DRY, "recipe=loaded", "algo=recipe", "~nemo_rl"]
    assert with_recipe(["algo=dpo", DRY]) == ["algo=dpo", DRY]
