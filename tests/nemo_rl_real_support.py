"""The real NeMo-RL for tests marked `nemo_rl_real`: where it is, and how to run code there.

`NEMO_RL_TREES` names NeMo-RL source trees (space-separated; CI builds v0.6.0, v0.7.0 and main
from ../shared/nemo-rl, a user points it at a checkout or the container's /opt/nemo-rl) and
`NEMO_RL_VENV_PYTHON` an interpreter that imports them (the tree goes first on PYTHONPATH, as in
the container). Each tree's release is detected from its content, as the launcher does. Where
either is unset, these tests skip and say why.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from nemotron_align.config.release import detect_release
from nemotron_align.config.resolvers import TINY_DATA_DIR

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_SIDE = Path(__file__).resolve().parent / "nemo_rl_real"
UNSET = (
    "NEMO_RL_TREES and NEMO_RL_VENV_PYTHON (real NeMo-RL trees, a Python importing them) are unset"
)


# The algos run by our Gym runner rather than a NeMo-RL example script.
GYM_ALGOS = frozenset({"grpo_gym", "rlhf"})
# Each algo runs on `tiny` and on its local-file data option pointed at the bundled tiny files.
LOCAL_FILE_DATA = {
    "dpo": "preference_jsonl",
    "rlvr": "response_jsonl",
    "grpo_gym": "nemo_gym_jsonl",
    "rlhf": "nemo_gym_jsonl",
}
# The key that sizes one train batch: preference pairs for DPO, prompts for GRPO.
GLOBAL_BATCH = {
    "dpo": "policy.train_global_batch_size",
    "rlvr": "grpo.num_prompts_per_step",
    "grpo_gym": "grpo.num_prompts_per_step",
    "rlhf": "grpo.num_prompts_per_step",
}


def jsonl_row_count(path: Path) -> int:
    return sum(1 for line in path.read_text().splitlines() if line.strip())


def data_overrides(algo: str, data: str) -> list[str]:
    """`data=<option>`; for a local-file option, the tiny files and a batch they fill."""
    if data == "tiny":
        return ["data=tiny"]
    train = TINY_DATA_DIR / f"{algo}_train.jsonl"
    return [
        f"data={data}",
        f"data.train.data_path={train}",
        f"data.validation.data_path={TINY_DATA_DIR / f'{algo}_validation.jsonl'}",
        f"{GLOBAL_BATCH[algo]}={jsonl_row_count(train)}",
    ]


def venv_python() -> str:
    python = os.environ.get("NEMO_RL_VENV_PYTHON", "")
    if not python or not os.environ.get("NEMO_RL_TREES"):
        pytest.skip(UNSET)
    return python


def real_trees() -> dict[str, Path]:
    """release -> tree, for every tree in NEMO_RL_TREES."""
    trees = {}
    for raw in os.environ.get("NEMO_RL_TREES", "").split():
        tree = Path(raw).resolve()
        release = detect_release(tree)
        if release is None:
            raise AssertionError(f"NEMO_RL_TREES names {tree}, which is not a NeMo-RL tree")
        trees[release] = tree
    return trees


def real_tree(release: str) -> Path:
    venv_python()
    tree = real_trees().get(release)
    if tree is None:
        pytest.skip(f"NEMO_RL_TREES has no NeMo-RL {release} tree")
    return tree


def venv_env(tree: Path, scratch: Path) -> dict[str, str]:
    """Environment of a child in the NeMo-RL venv: the tree (and this repo) importable, no hub,
    and a Ray of its own that never attaches to another Ray on the machine.

    NeMo-RL's init_ray first tries `ray.init(address="auto")`, and "auto" attaches to any raylet
    Ray finds in the process table, whatever its temp dir (ray._private.services
    .get_ray_address_from_environment): a temp dir of its own does not keep a child off another
    cluster. RAY_ADDRESS=local makes that call start a fresh local cluster instead (Ray's
    documented meaning of "local"). RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray take
    127.0.0.1 as its node address; HOME in `scratch` keeps the auth token Ray generates
    (~/.ray/auth_token, which turns token auth on for the user's later clusters) out of the real
    home. `scratch` must be a short path: Ray's socket paths under it must stay < 107 chars.
    """
    env = dict(os.environ)
    env.update(
        PYTHONPATH=f"{tree}{os.pathsep}{REPO_ROOT}",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_HOME=str(scratch / "hf"),
        HOME=str(scratch),
        RAY_ADDRESS="local",
        RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0",
        RAY_TMPDIR=str(scratch),
        TMPDIR=str(scratch),
        NRL_LOG_LEVEL="INFO",
    )
    return env


def run_in_venv(
    tree: Path, argv: list[str], scratch: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`NEMO_RL_VENV_PYTHON *argv` with cwd = the tree, as NeMo-RL's scripts run."""
    return subprocess.run(
        [venv_python(), *argv],
        cwd=tree,
        env=venv_env(tree, scratch),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE tokenizer with a chat template, built here (no hub), that NeMo-RL's
    get_tokenizer loads from its folder."""
    dest = tmp_path_factory.mktemp("tiny_tokenizer")
    result = subprocess.run(
        [venv_python(), str(VENV_SIDE / "make_tiny_tokenizer.py"), str(dest)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dest
