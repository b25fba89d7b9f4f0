"""The Gym runner against the real NeMo-RL source, on the configs this launcher renders: one child
per tree in NEMO_RL_TREES, in the NeMo-RL venv (see nemo_rl_real/gym_runner_probe.py for what it
does).

Per release, for `algo=grpo_gym` and `algo=rlhf` with `data=tiny`, in each mode the launcher's
overrides select (sync GRPO, async GRPO, trajectory collection, and a VLM policy): the real
MasterConfig and Gym gate accept the config as the runner loads it; every call the runner makes
into NeMo-RL binds to the real signature with the exact arguments the runner passes; setup()
returns as many values as the runner unpacks (read from setup's own source and return annotation).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import start_cli
from nemo_rl_real_support import VENV_SIDE, real_tree, real_trees, venv_env, venv_python

from nemotron_align.config.release import RELEASES

pytestmark = pytest.mark.nemo_rl_real

PROBE = VENV_SIDE / "gym_runner_probe.py"
STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"
PROBE_TIMEOUT_S = 300
RENDER_TIMEOUT_S = 120
ALGOS = ("grpo_gym", "rlhf")
# The launcher overrides that select each mode of the runner. Each is a sweep of one value
# (`choice`) so that Hydra's multirun applies it per job, once the job's algo is chosen.
MODES = {
    "sync": [],
    "async": ["grpo.async_grpo.enabled=choice(true)"],
    "collect": ["+env.nemo_gym.is_trajectory_collection=choice(true)"],
    "vlm": ["+policy.is_vlm=choice(true)"],
}
# The VLM path (a processor in place of the tokenizer) does not depend on the Gym environment.
MODE_ALGOS = {"vlm": ("grpo_gym",)}
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


def _render(folder: Path, releases: list[str]) -> dict[str, dict[str, dict[str, str]]]:
    """release -> algo -> mode -> the nemo_rl.yaml the launcher's dry run wrote (one multirun per
    mode, over algos and releases, all at once)."""
    folder.mkdir()
    env = {"NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)}
    sweeps = {
        mode: start_cli(
            [
                "-m",
                f"algo={','.join(MODE_ALGOS.get(mode, ALGOS))}",
                "data=tiny",
                f"nemo_rl={','.join(releases)}",
                *knobs,
                "launch.dry_run=true",
                f"hydra.sweep.dir={folder / mode}",
            ],
            cwd=folder,
            env=env,
        )
        for mode, knobs in MODES.items()
    }
    configs: dict[str, dict[str, dict[str, str]]] = {}
    for mode, sweep in sweeps.items():
        _, stderr = sweep.communicate(timeout=RENDER_TIMEOUT_S)
        assert sweep.returncode == 0, f"{mode}: {stderr[-4000:]}"
        for job in json.loads((folder / mode / "sweep.json").read_text()):
            choice = dict(o.split("=", 1) for o in job["overrides"] if "=" in o)
            config = Path(job["job_folder"]) / "nemo_rl.yaml"
            configs.setdefault(choice["nemo_rl"], {}).setdefault(choice["algo"], {})[mode] = str(
                config
            )
    return configs


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, Path, Path]]:
    """All trees probed at once: each child imports NeMo-RL's GRPO (~10 s) while the launcher
    renders the configs, then reads them from its stdin."""
    python = venv_python()
    trees = real_trees()
    folder = tmp_path_factory.mktemp("real_gym")
    children = {}
    try:
        for release, tree in trees.items():
            scratch = folder / release
            scratch.mkdir()
            with (scratch / "stderr").open("w") as stderr:
                child = subprocess.Popen(
                    [python, str(PROBE), str(scratch / "report.json")],
                    cwd=tree,
                    env={**venv_env(tree, scratch), "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM)},
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    text=True,
                )
            children[release] = (child, scratch)
        configs = _render(folder / "rendered", list(trees))
        for release, (child, _) in children.items():
            try:
                child.stdin.write(json.dumps(configs[release]) + "\n")
                child.stdin.flush()
            except BrokenPipeError:  # it failed already: its status and stderr say why
                pass
        results = {}
        for release, (child, scratch) in children.items():
            child.communicate(timeout=PROBE_TIMEOUT_S)
            results[release] = (child.returncode, scratch / "stderr", scratch / "report.json")
    finally:
        for child, _ in children.values():
            if child.poll() is None:
                child.kill()
                child.wait()
    return results


def _report(probes: dict[str, tuple[int, Path, Path]], release: str) -> dict:
    real_tree(release)
    returncode, stderr, out = probes[release]
    assert returncode == 0, stderr.read_text()[-4000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("release", RELEASES)
def test_every_runner_call_binds_to_the_real_signature(release: str, probes: dict) -> None:
    report = _report(probes, release)
    assert report["unbound"] == []
    for algo, modes in report["runs"].items():
        for mode, calls in modes.items():
            for call in calls:
                assert call["target"].startswith(("nemo_rl.", "ray.")), (algo, mode, call)


@pytest.mark.parametrize("release", RELEASES)
def test_setup_returns_what_the_runner_unpacks(release: str, probes: dict) -> None:
    report = _report(probes, release)
    in_source = report["setup_returns_in_source"]
    assert in_source and set(in_source) == {report["setup_return_annotation"]}
    assert report["runner_unpacks"] == report["setup_return_annotation"]


def _expected_calls(release: str) -> dict[str, list[str]]:
    """mode -> the NeMo-RL calls, in order, that the release's own Gym script makes."""
    model_config = ["MasterConfig"] if release != "v0.6.0" else []
    video = ["materialize_vllm_video_config"] if release == "main" else []
    start = START[:1] + model_config + video + START[1:]
    start_gym = ["NemoGymConfig", "create_env", "ray.get"] if release == "v0.6.0" else []
    shutdown = ["shutdown_environments", "policy_generation.shutdown"] if release == "main" else []
    sync = [*start, *start_gym, "grpo_train", *shutdown]
    return {
        "sync": sync,
        "async": [*start, *start_gym, "async_grpo_train", *shutdown],
        "collect": [*start, *start_gym, *COLLECT, *shutdown],
        # Before main, the Gym script runs text models only: the runner says so after the
        # tokenizer step instead of passing a processor nowhere.
        "vlm": sync if release == "main" else start[: start.index("get_tokenizer")],
    }


def _expected_runs(release: str) -> dict[str, dict[str, list[str]]]:
    """algo -> mode -> expected calls, for each mode that algo is rendered in."""
    expected = _expected_calls(release)
    return {
        algo: {mode: expected[mode] for mode in MODES if algo in MODE_ALGOS.get(mode, ALGOS)}
        for algo in ALGOS
    }


def _call_names(report: dict) -> dict[str, dict[str, list[str]]]:
    return {
        algo: {mode: [c["name"] for c in calls] for mode, calls in modes.items()}
        for algo, modes in report["runs"].items()
    }


def assert_collect_targets_are_the_releases_own(report: dict, release: str) -> None:
    """In trajectory collection, the Gym gate, the rollout and the logger are where the
    release keeps them."""
    gate_home = "environments.nemo_gym" if release == "main" else "algorithms.grpo"
    rollout = "run_nemo_gym_rollout_sync" if release == "main" else "run_async_nemo_gym_rollout"
    for algo in ALGOS:
        targets = {c["name"]: c["target"] for c in report["runs"][algo]["collect"]}
        assert targets["should_use_nemo_gym"].startswith(f"nemo_rl.{gate_home}.")
        assert targets["rollout"] == f"nemo_rl.experience.rollouts.{rollout}"
        assert targets["logger.log_string_list_as_jsonl"].startswith("nemo_rl.utils.logger.Logger.")


@pytest.mark.parametrize("release", RELEASES)
def test_runner_follows_the_releases_own_gym_script(release: str, probes: dict) -> None:
    report = _report(probes, release)
    assert _call_names(report) == _expected_runs(release), report["rejections"]
    vlm_refused = {} if release == "main" else {"grpo_gym": {"vlm": "policy.is_vlm"}}
    assert report["rejected"] == vlm_refused, report["rejections"]
    assert_collect_targets_are_the_releases_own(report, release)
