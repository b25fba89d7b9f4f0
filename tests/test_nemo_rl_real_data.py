"""The real NeMo-RL (v0.6.0, v0.7.0, main) on the configs we render and the data we bundle.

For every release x algo x data (`tiny`, and the algo's local-file option pointed at the bundled
tiny files, batch sizes set so those files fill one batch), the rendered nemo_rl.yaml goes to a
child in NeMo-RL's venv (tests/nemo_rl_real/data_setup_driver.py, one child per release) that
runs NeMo-RL's own code on it:

- its `load_config` and `MasterConfig` accept the file (Gym configs with the validation sizes the
  Gym runner fills in);
- its own data setup (`setup_preference_data` / `setup_response_data`; for Gym, NemoGymDataset
  as our Gym runner's own GymDriver calls it) loads every row and processes it with the tiny
  tokenizer, and the train dataloader that its real `setup()` builds (run until it first needs
  Ray, so no Ray starts) yields one full global batch (DPO: pairs, GRPO: prompts).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ALGOS, compose_config
from nemo_rl_real_support import (
    GLOBAL_BATCH,
    GYM_ALGOS,
    LOCAL_FILE_DATA,
    VENV_SIDE,
    data_overrides,
    real_tree,
    run_in_venv,
)

from nemotron_align.config.release import RELEASES
from nemotron_align.config.render import NEMO_RL_YAML, dump_yaml, to_nemo_rl_dict

pytestmark = pytest.mark.nemo_rl_real

DRIVER = VENV_SIDE / "data_setup_driver.py"
DRIVER_TIMEOUT_S = 900


@dataclass(frozen=True)
class Case:
    algo: str
    data: str

    @property
    def id(self) -> str:
        return f"{self.algo}-{self.data}"

    @property
    def gym(self) -> bool:
        return self.algo in GYM_ALGOS


CASES = [Case(algo, data) for algo in ALGOS for data in ("tiny", LOCAL_FILE_DATA[algo])]


def lookup(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        node = node[key]
    return node


def jsonl_rows(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def split_rows(config: dict[str, Any], split: str) -> list[Any]:
    """The rows NeMo-RL should load for a split: the file's, `repeat` times (NemoGymDataset)."""
    settings = {**(config["data"].get("default") or {}), **config["data"][split]}
    return jsonl_rows(Path(settings["data_path"])) * settings.get("repeat", 1)


def overrides(case: Case, release: str, tokenizer: Path) -> list[str]:
    return [
        f"algo={case.algo}",
        *data_overrides(case.algo, case.data),
        f"nemo_rl={release}",
        f"policy.tokenizer.name={tokenizer}",
        # The logger's GPU monitor needs a running Ray; data setup needs none.
        "logger.monitor_gpus=false",
    ]


def read_back_paths(case: Case) -> list[str]:
    paths = ["policy.tokenizer.name", "data.train.data_path", GLOBAL_BATCH[case.algo]]
    return [*paths, "grpo.max_val_samples"] if case.gym else paths


@dataclass
class ReleaseRun:
    """The configs rendered for one release and what NeMo-RL's code made of each."""

    configs: dict[str, dict[str, Any]]
    report: dict[str, dict[str, Any]]

    def stage(self, case: Case, name: str) -> Any:
        outcome = self.report[case.id][name]
        assert "error" not in outcome, f"{case.id}: {outcome['error']}"
        return outcome["result"]


def run_release(release: str, tree: Path, tokenizer: Path, work: Path) -> ReleaseRun:
    configs: dict[str, dict[str, Any]] = {}
    cases = []
    for case in CASES:
        run_dir = work / case.id
        run_dir.mkdir()
        config = to_nemo_rl_dict(compose_config(overrides(case, release, tokenizer), run_dir))
        (run_dir / NEMO_RL_YAML).write_text(dump_yaml(config))
        configs[case.id] = config
        cases.append(
            {
                "id": case.id,
                "algo": case.algo,
                "config": str(run_dir / NEMO_RL_YAML),
                "validation_rows": len(split_rows(config, "validation")),
                "read_back": read_back_paths(case),
            }
        )
    cases_file, report_file = work / "cases.json", work / "report.json"
    cases_file.write_text(json.dumps(cases, indent=1))
    scratch = work / "scratch"
    scratch.mkdir()
    result = run_in_venv(
        tree,
        [str(DRIVER), str(cases_file), str(report_file)],
        scratch,
        timeout=DRIVER_TIMEOUT_S,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return ReleaseRun(configs, json.loads(report_file.read_text()))


@pytest.fixture(scope="module")
def release_run(
    tiny_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], ReleaseRun]:
    """One venv child per release, for all its cases, run when a test first asks for it."""
    runs: dict[str, ReleaseRun] = {}

    def run(release: str) -> ReleaseRun:
        if release not in runs:
            tree = real_tree(release)  # skips the test where NEMO_RL_TREES has no such tree
            work = tmp_path_factory.mktemp(f"nemo_rl_{release}")
            runs[release] = run_release(release, tree, tiny_tokenizer, work)
        return runs[release]

    return run


release_and_case = pytest.mark.parametrize(
    ("release", "case"),
    [
        pytest.param(release, case, id=f"{release}-{case.id}")
        for release in RELEASES
        for case in CASES
    ],
)


@release_and_case
def test_nemo_rl_master_config_accepts_the_rendered_yaml(
    release: str, case: Case, release_run: Callable[[str], ReleaseRun]
) -> None:
    run = release_run(release)
    config = run.configs[case.id]
    expected = {path: lookup(config, path) for path in read_back_paths(case)}
    if case.gym:
        expected["grpo.max_val_samples"] = len(split_rows(config, "validation"))
    assert run.stage(case, "validated") == expected


@release_and_case
def test_nemo_rl_data_setup_processes_every_row_and_batches_one_global_batch(
    release: str, case: Case, release_run: Callable[[str], ReleaseRun]
) -> None:
    run = release_run(release)
    config = run.configs[case.id]
    data = run.stage(case, "data")
    for split in ("train", "validation"):
        rows = data[f"{split}_rows"]
        expected = split_rows(config, split)
        assert len(rows) == len(expected), f"{split}: NeMo-RL loaded {len(rows)} rows"
        if case.gym:
            # Gym rows reach NeMo-Gym as they are (Gym tokenizes them server-side).
            assert [row["extra_env_info"] for row in rows] == expected
        else:
            # Every row tokenized, none dropped for exceeding data.max_input_seq_length.
            assert all(min(row["tokens"]) > 0 for row in rows), rows
            assert all(row["loss_multiplier"] == 1.0 for row in rows), rows
    if case.algo == "rlvr":
        env_name = config["data"]["default"]["env_name"]
        assert data["environments"] == [{"name": env_name, "registered": True}]
    global_batch = lookup(config, GLOBAL_BATCH[case.algo])
    assert data["train_batches"] >= 1, (
        f"the train dataloader setup() builds yields no batch: {len(data['train_rows'])} rows, "
        f"{GLOBAL_BATCH[case.algo]}={global_batch}, last partial batch dropped"
    )
    assert data["first_batch"] == global_batch
