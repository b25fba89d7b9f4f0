"""The Gym runner against the real NeMo-RL source, one child process per tree in NEMO_RL_TREES,
run by NEMO_RL_VENV_PYTHON (see real_nemo_rl_gym_probe.py for what the child does).

Proves, per release: every call the runner makes into NeMo-RL, in each mode (sync GRPO, async GRPO,
trajectory collection, a VLM policy), binds to the real signature with the exact arguments the
runner passes; setup() returns as many values as the runner unpacks (read from setup's own source
and return annotation); the real MasterConfig and Gym gate accept the config the runner builds.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import compose_config

from nemotron_align import gym_runner
from nemotron_align.render import to_nemo_rl_dict

pytestmark = pytest.mark.nemo_rl_real

REPO_ROOT = Path(__file__).resolve().parent.parent
PROBE = Path(__file__).resolve().parent / "real_nemo_rl_gym_probe.py"
STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"
VENV_PYTHON = os.environ.get("NEMO_RL_VENV_PYTHON", "")
TREES = os.environ.get("NEMO_RL_TREES", "").split()
PROBE_TIMEOUT_S = 300
SKIP = "needs the real NeMo-RL source: set NEMO_RL_VENV_PYTHON and NEMO_RL_TREES"
TREE_PARAMS = [pytest.param(tree, id=Path(tree).name) for tree in TREES] or [
    pytest.param("", marks=pytest.mark.skip(reason=SKIP), id="no-trees")
]
START = [
    "register_omegaconf_resolvers",
    "get_next_experiment_dir",
    "get_tokenizer",
    "configure_generation_config",
    "setup_nemo_gym_config",
    "should_use_nemo_gym",
    "setup_response_data",
    "init_ray",
    "setup",
]
COLLECT = [
    "refit_policy_generation",
    "rollout",
    "logger.log_string_list_as_jsonl",
    "policy_generation.finish_generation",
]


def release_of(tree: Path) -> str:
    """By content, as NeMo-RL main's package_info still says 0.6.0 (nemo_rl_install has no
    detect_release on this branch yet)."""
    interfaces = tree / "nemo_rl" / "models" / "generation" / "interfaces.py"
    if "val_temperature" in interfaces.read_text():
        return "main"
    if (tree / "nemo_rl" / "data_plane" / "interfaces.py").is_file():
        return "v0.7.0"
    return "v0.6.0"


def _prepared_config(folder: Path) -> Path:
    """The bundled grpo_gym config as the runner prepares it (Gym block inlined, rows in shape)."""
    run_dir = folder / "run"
    run_dir.mkdir()
    config = to_nemo_rl_dict(compose_config(["algo=grpo_gym", "data=tiny"], run_dir))
    gym_runner.prepare_config(config, STAND_IN_GYM, run_dir)
    path = run_dir / "nemo_rl.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, Path]]:
    """All trees probed at once (each child spends ~10 s importing NeMo-RL's GRPO)."""
    if not (VENV_PYTHON and TREES):
        pytest.skip(SKIP)
    folder = tmp_path_factory.mktemp("real_gym")
    config = _prepared_config(folder)
    children = {}
    for index, tree in enumerate(TREES):
        out = folder / f"probe{index}.json"
        children[tree] = (
            subprocess.Popen(
                [VENV_PYTHON, str(PROBE), str(config), str(out)],
                cwd=tree,
                env={**os.environ, "PYTHONPATH": os.pathsep.join([tree, str(REPO_ROOT)])},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            ),
            out,
        )
    results = {}
    for tree, (child, out) in children.items():
        _, stderr = child.communicate(timeout=PROBE_TIMEOUT_S)
        results[tree] = (child.returncode, stderr, out)
    return results


def _report(probes: dict[str, tuple[int, str, Path]], tree: str) -> dict:
    returncode, stderr, out = probes[tree]
    assert returncode == 0, stderr[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("tree", TREE_PARAMS)
def test_every_runner_call_binds_to_the_real_signature(tree: str, probes: dict) -> None:
    report = _report(probes, tree)
    assert report["unbound"] == []
    for mode, calls in report["modes"].items():
        for call in calls:
            assert call["target"].startswith(("nemo_rl.", "ray.")), (mode, call)


@pytest.mark.parametrize("tree", TREE_PARAMS)
def test_setup_returns_what_the_runner_unpacks(tree: str, probes: dict) -> None:
    report = _report(probes, tree)
    in_source = report["setup_returns_in_source"]
    assert in_source and set(in_source) == {report["setup_return_annotation"]}
    assert report["runner_unpacks"] == report["setup_return_annotation"]


@pytest.mark.parametrize("tree", TREE_PARAMS)
def test_runner_follows_the_releases_own_gym_script(tree: str, probes: dict) -> None:
    report = _report(probes, tree)
    release = release_of(Path(tree))
    model_config = ["MasterConfig"] if release != "v0.6.0" else []
    video = ["materialize_vllm_video_config"] if release == "main" else []
    start = START[:1] + model_config + video + START[1:]
    start_gym = ["NemoGymConfig", "create_env", "ray.get"] if release == "v0.6.0" else []
    shutdown = ["shutdown_environments", "policy_generation.shutdown"] if release == "main" else []
    modes = {mode: [c["name"] for c in calls] for mode, calls in report["modes"].items()}
    sync = [*start, *start_gym, "grpo_train", *shutdown]
    assert modes == {
        "sync": sync,
        "async": [*start, *start_gym, "async_grpo_train", *shutdown],
        "collect": [*start, *start_gym, *COLLECT, *shutdown],
        # Before main, the Gym script runs text models only: the runner says so after the
        # tokenizer step instead of passing a processor nowhere.
        "vlm": sync if release == "main" else start[: start.index("get_tokenizer")],
    }
    assert report["rejected"] == ({} if release == "main" else {"vlm": "policy.is_vlm"})
    targets = {c["name"]: c["target"] for c in report["modes"]["collect"]}
    gate_home = "environments.nemo_gym" if release == "main" else "algorithms.grpo"
    assert targets["should_use_nemo_gym"].startswith(f"nemo_rl.{gate_home}.")
    rollout = "run_nemo_gym_rollout_sync" if release == "main" else "run_async_nemo_gym_rollout"
    assert targets["rollout"] == f"nemo_rl.experience.rollouts.{rollout}"
    assert targets["logger.log_string_list_as_jsonl"].startswith("nemo_rl.utils.logger.Logger.")
