"""The launcher itself starts the real NeMo-RL (marker nemo_rl_real), no dry run.

For each release (v0.6.0, v0.7.0, main), algo and data option (`tiny`, and the algo's local-file
option on the tiny files), this repo's interpreter runs
`python -m nemotron_align ... launch.mode=subprocess` with `launch.python` the NeMo-RL venv; the
launcher starts NeMo-RL's own `examples/run_dpo.py` / `examples/run_grpo.py` (the Gym algos: our
`python -m nemotron_align.gym.runner`) with the tree as working directory. On a machine without
GPUs the furthest NeMo-RL can get is GPU placement: the test asserts NeMo-RL's own progress lines
(config read, datasets loaded with every row of the tiny files, dataloaders built, Ray up) come
first, in order, and then "Not enough GPUs available" / ResourceInsufficientError, with no other
error before it.

Each case gets a Ray of its own (see `venv_env`: a fresh local cluster on 127.0.0.1, temp dir and
auth token in a short scratch folder). NRL_VIRTUAL_CLUSTER_MAX_RETRIES=1 (read by every release's
RayVirtualCluster) ends placement after one try and a 1 s wait instead of ~60 s. Every process
of the case carries a marker in its environment; afterwards the launcher's process group and
every marked process are stopped, and none may remain.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from conftest import ALGOS
from nemo_rl_real_support import (
    GYM_ALGOS,
    LOCAL_FILE_DATA,
    REPO_ROOT,
    data_overrides,
    jsonl_row_count,
    real_tree,
    venv_env,
    venv_python,
)
from scoped_ray import MARKER_VAR, marked_pids, stop

from nemotron_align.config.release import RELEASES

pytestmark = pytest.mark.nemo_rl_real
STAND_IN_GYM = REPO_ROOT / "tests" / "stand_in_gym"

# What the launcher runs in the NeMo-RL venv, per algo.
TRAINER_ARGV = {
    "dpo": ["examples/run_dpo.py"],
    "rlvr": ["examples/run_grpo.py"],
    "grpo_gym": ["-m", "nemotron_align.gym.runner"],
    "rlhf": ["-m", "nemotron_align.gym.runner"],
}
# A case takes 15-40 s on a 2-core machine; this only bounds a hang.
CASE_TIMEOUT_S = 240
# Ray's longest socket path is about 70 chars below its temp dir; AF_UNIX allows 107.
MAX_SCRATCH_CHARS = 30
PLACEMENT_REFUSED = "Not enough GPUs available"


@dataclass
class LaunchOutcome:
    exit_code: int
    output: str
    seconds: float
    # Processes of the case still alive once the launcher had exited (then stopped here).
    left_running: list[int]
    # Processes of the case alive after stopping them: must be none.
    survivors: list[int]

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


@pytest.fixture
def ray_scratch() -> Iterator[Path]:
    """A short private folder for Ray's temp dir, HOME and caches (pytest's are too long for
    Ray's socket paths); removed afterwards."""
    scratch = Path(tempfile.mkdtemp(prefix="nrl-", dir="/tmp"))
    assert len(str(scratch)) <= MAX_SCRATCH_CHARS, scratch
    yield scratch
    shutil.rmtree(scratch)


def launcher_argv(algo: str, data: str, tree: Path, model: Path, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "nemotron_align",
        f"algo={algo}",
        *data_overrides(algo, data),
        f"launch.nemo_rl_root={tree}",
        f"launch.python=[{venv_python()}]",
        "launch.mode=subprocess",
        f"policy.model_name={model}",
        f"hydra.run.dir={run_dir}",
        # The child imports NeMo-RL from the tree (and the Gym runner from this repo); the
        # launcher itself must not see the tree, or it would import NeMo-RL into this venv.
        f"+launch.env.PYTHONPATH={tree}{os.pathsep}{REPO_ROOT}",
    ]


def launcher_env(tree: Path, scratch: Path, marker: str) -> dict[str, str]:
    env = venv_env(tree, scratch)
    del env["PYTHONPATH"]
    env.update(
        {
            "NRL_VIRTUAL_CLUSTER_MAX_RETRIES": "1",
            MARKER_VAR: marker,
            # NeMo-Gym's server configs, which the container has in 3rdparty/Gym-workspace/Gym:
            # nemo-gym cannot be installed in this Python 3.11 venv (see the stand-in's README).
            "NEMO_GYM_EXTRA_ROOTS": str(STAND_IN_GYM),
        }
    )
    return env


def stop_case(launcher: subprocess.Popen[str], marker: str) -> tuple[list[int], list[int]]:
    """Kill the launcher's process group, then every process carrying the case's marker (Ray's
    own processes may sit in other groups). Returns (left running, surviving)."""
    left_running = marked_pids(marker)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(launcher.pid, signal.SIGKILL)
    stop(marker)
    deadline = time.monotonic() + 10
    while marked_pids(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left_running, marked_pids(marker)


def run_launcher(argv: list[str], env: dict[str, str], cwd: Path, marker: str) -> LaunchOutcome:
    started = time.monotonic()
    launcher = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output, _ = launcher.communicate(timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_case(launcher, marker)
        output, _ = launcher.communicate()
        pytest.fail(f"no end within {CASE_TIMEOUT_S} s:\n{output[-6000:]}")
    seconds = time.monotonic() - started
    left_running, survivors = stop_case(launcher, marker)
    return LaunchOutcome(launcher.returncode, output, seconds, left_running, survivors)


def expected_progress(config: dict, gym: bool) -> list[str]:
    """NeMo-RL's own lines up to GPU placement, in the order it prints them."""
    train_rows = jsonl_row_count(Path(config["data"]["train"]["data_path"]))
    val_rows = jsonl_row_count(Path(config["data"]["validation"]["data_path"]))
    read_config = [] if gym else ["Loaded configuration from: ", "Final config:"]
    return [
        *read_config,
        "▶ Setting up data...",
        f"✓ Training dataset loaded with {train_rows} samples.",
        f"✓ Validation dataset loaded with {val_rows} samples.",
        "▶ Setting up compute cluster...",
        "▶ Setting up model",
        PLACEMENT_REFUSED,
    ]


def assert_in_order(output: str, lines: list[str]) -> None:
    position = 0
    for line in lines:
        found = output.find(line, position)
        assert found >= 0, f"missing (after what came before it): {line!r}"
        position = found + len(line)


def assert_launched_in_the_tree(
    run_dir: Path, algo: str, tree: Path, release: str, outcome: LaunchOutcome
) -> None:
    """The launcher ran NeMo-RL's script (or the Gym runner) in the tree, and passed on its
    code."""
    record = json.loads((run_dir / "launch.json").read_text())
    trainer = TRAINER_ARGV[algo]
    assert record["argv"][: 1 + len(trainer)] == [venv_python(), *trainer]
    assert record["cwd"] == str(tree)
    assert record["nemo_rl_release"] == release
    assert outcome.exit_code == 1 == record["exit_code"], outcome.tail()


def assert_a_training_batch(output: str) -> None:
    batches = re.search(r"✓ Training dataloader loaded with (\d+) samples", output)
    assert batches, "no training batch: tiny data trains nothing"
    assert int(batches.group(1)) > 0, "no training batch: tiny data trains nothing"


def assert_a_ray_of_its_own(output: str, before_placement: str, ray_scratch: Path) -> None:
    """Started fresh (before data on the scripts, after it in the Gym runner), in scratch."""
    assert "Started a local Ray instance." in before_placement
    assert "Connecting to existing Ray cluster" not in output
    assert (ray_scratch / "ray" / "session_latest").is_dir(), "Ray's session is not in scratch"


def assert_placement_refusal_ended_the_run(outcome: LaunchOutcome) -> None:
    lines = outcome.output.splitlines()
    exception_lines = [line for line in lines if re.match(r"\w[\w.]*Error: ", line)]
    assert exception_lines, outcome.tail()
    assert exception_lines[-1].startswith(
        "nemo_rl.distributed.virtual_cluster.ResourceInsufficientError: "
    ), outcome.tail()


@pytest.mark.parametrize(
    ("algo", "data"),
    [(algo, data) for algo in ALGOS for data in ("tiny", LOCAL_FILE_DATA[algo])],
)
@pytest.mark.parametrize("release", RELEASES)
def test_launcher_starts_real_nemo_rl_up_to_gpu_placement(
    release: str,
    algo: str,
    data: str,
    tiny_tokenizer: Path,
    ray_scratch: Path,
    tmp_path: Path,
) -> None:
    tree = real_tree(release)
    run_dir = tmp_path / "run"
    marker = f"nrl-launch-{uuid.uuid4().hex}"
    outcome = run_launcher(
        launcher_argv(algo, data, tree, tiny_tokenizer, run_dir),
        launcher_env(tree, ray_scratch, marker),
        tmp_path,
        marker,
    )
    print(
        f"{release} {algo} {data}: {outcome.seconds:.1f} s, exit {outcome.exit_code}, "
        f"{len(outcome.left_running)} process(es) of the case left running after it"
    )
    assert outcome.survivors == [], f"processes of this case survived: {outcome.survivors}"

    output = outcome.output
    before_placement = output[: output.find(PLACEMENT_REFUSED)]
    assert "Traceback" not in before_placement, outcome.tail()

    assert_launched_in_the_tree(run_dir, algo, tree, release, outcome)
    config = yaml.safe_load((run_dir / "nemo_rl.yaml").read_text())
    assert_in_order(output, expected_progress(config, gym=algo in GYM_ALGOS))
    if algo != "dpo":
        assert_a_training_batch(output)
    assert_a_ray_of_its_own(output, before_placement, ray_scratch)
    assert_placement_refusal_ended_the_run(outcome)
