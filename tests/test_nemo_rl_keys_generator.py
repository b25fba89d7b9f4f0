"""The script that makes the key snapshots (scripts/snapshot_nemo_rl_keys.py), run on a made-up
NeMo-RL source tree, and on the real releases where present."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import snapshot_sections
from nemo_rl_real_support import real_tree

from nemotron_align.preflight.nemo_rl_keys import (
    RELEASES,
    SNAPSHOT_DIR,
    TRAINERS,
    rename_candidates,
)

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "snapshot_nemo_rl_keys.py"


FAKE_NEMO_RL = {
    "nemo_rl/__init__.py": "",
    "nemo_rl/algorithms/dpo.py": """
        from typing import Optional

        from pydantic import BaseModel, Field

        from nemo_rl.data_plane import DataPlaneConfig
        from nemo_rl.models.policy import PolicyConfig

        from ..utils.logger import LoggerConfig


        class DPOConfig(BaseModel, extra="allow"):
            beta: float = 0.1
            _private: int = 0
            max_num_steps: int
            name: str = Field(...)
            teachers: list[str] = Field(min_length=1)
            tags: list[str] = Field(default_factory=list)


        class MasterConfig(BaseModel, extra="allow"):
            policy: PolicyConfig
            dpo: DPOConfig
            logger: LoggerConfig
            data_plane: Optional[DataPlaneConfig] = None
        """,
    "nemo_rl/algorithms/grpo.py": """
        from typing import Any, Required, TypedDict

        from nemo_rl.models.policy import PolicyConfig


        class GRPOExtras(TypedDict, total=False):
            note: str
            seed: Required[int]


        class GRPOConfig(TypedDict):
            num_generations_per_prompt: int
            extras: "NotRequired[GRPOExtras]"


        class MasterConfig(TypedDict):
            policy: PolicyConfig
            grpo: GRPOConfig
            env: dict[str, Any]
        """,
    "nemo_rl/data_plane/__init__.py": """
        from typing import Literal, NotRequired, TypedDict


        class DataPlaneConfig(TypedDict):
            enabled: bool
            impl: Literal["transfer_queue"]
            poll_interval_s: float
            address: NotRequired[str]
        """,
    "nemo_rl/models/policy/__init__.py": """
        from typing import Any, Literal, NotRequired, TypedDict

        from nemo_rl.models.generation.interfaces import GenerationConfig

        Milestones = dict[str, list[int]]


        class SchedulerConfig(TypedDict):
            name: str
            kwargs: dict[str, Any]


        class DTensorConfigDisabled(TypedDict):
            enabled: Literal[False]


        class DTensorConfig(TypedDict):
            enabled: Literal[True]
            tensor_parallel_size: int
            _v2: NotRequired[bool]
            automodel_kwargs: NotRequired["AutomodelKwargs"]


        class AutomodelKwargs(TypedDict):
            use_liger_kernel: bool


        class PolicyConfig(TypedDict):
            model_name: str
            dtensor_cfg: DTensorConfig | DTensorConfigDisabled
            generation: NotRequired[GenerationConfig]
            scheduler: NotRequired[list[SchedulerConfig] | Milestones | None]
        """,
    "nemo_rl/models/generation/interfaces.py": """
        from typing import TypedDict


        class GenerationConfig(TypedDict):
            backend: str
            top_k: int | None
        """,
    "nemo_rl/models/generation/vllm/config.py": """
        from typing import Any, NotRequired, TypedDict

        from nemo_rl.models.generation.interfaces import GenerationConfig


        class VllmSpecificArgs(TypedDict):
            skip_tokenizer_init: bool


        class VllmConfig(GenerationConfig):
            vllm_cfg: VllmSpecificArgs
            vllm_kwargs: NotRequired[dict[str, Any]]
        """,
    "nemo_rl/utils/logger.py": """
        from typing import TypedDict


        class LoggerConfig(TypedDict):
            log_dir: str
        """,
    "examples/configs/dpo.yaml": """
        policy: {model_name: m, read_but_undeclared: 1}
        dpo: {beta: 0.1}
        logger: {log_dir: logs}
        """,
    "examples/configs/recipes/llm/dpo-small.yaml": """
        defaults: ../../dpo.yaml
        dpo: {from_recipe: 1}
        """,
    "examples/configs/grpo.yaml": """
        grpo: {num_generations_per_prompt: 4, grpo_only: 1}
        """,
    "examples/configs/sft.yaml": """
        sft: {max_num_steps: 1}
        policy: {sft_only: 1}
        """,
}


def _write_fake_nemo_rl(root: Path, files: dict[str, str] = FAKE_NEMO_RL) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _generate(root: Path, tag: str, out: Path) -> dict[str, dict[str, str]]:
    """trainer -> path -> `<presence> <types>` of the snapshot the script writes."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(root), tag, str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return {
        trainer: dict(line.split(" ", 1) for line in lines)  # type: ignore[misc]
        for trainer, lines in snapshot_sections(out.read_text()).items()
    }


@pytest.fixture
def fake_snapshot(tmp_path: Path) -> dict[str, dict[str, str]]:
    root = tmp_path / "nemo-rl"
    _write_fake_nemo_rl(root)
    return _generate(root, "v9.9.9", tmp_path / "v9.9.9.txt")


def test_generator_keeps_the_trainers_apart(fake_snapshot: dict[str, dict[str, str]]) -> None:
    dpo, grpo = fake_snapshot["dpo"], fake_snapshot["grpo"]
    assert "dpo.beta" in dpo and "dpo.beta" not in grpo
    assert "grpo.num_generations_per_prompt" in grpo and "grpo" not in dpo
    # From the example YAMLs, each to its trainer; the recipe through its defaults chain.
    assert dpo["policy.read_but_undeclared"] == "optional any"
    assert dpo["dpo.from_recipe"] == "optional any"
    assert grpo["grpo.grpo_only"] == "optional any" and "grpo.grpo_only" not in dpo
    for absent in ["dpo._private", "sft", "policy.sft_only", "defaults"]:
        assert absent not in dpo and absent not in grpo


def test_generator_learns_required_keys(fake_snapshot: dict[str, dict[str, str]]) -> None:
    dpo, grpo = fake_snapshot["dpo"], fake_snapshot["grpo"]
    # pydantic: no default, Field(...) and Field(min_length=1) are required; defaults are not.
    assert dpo["dpo.max_num_steps"] == "required int"
    assert dpo["dpo.name"] == "required str"
    assert dpo["dpo.teachers"] == "required list"
    assert dpo["dpo.beta"] == "optional float"
    assert dpo["dpo.tags"] == "optional list"
    # TypedDict: NotRequired, total=False and Required.
    assert grpo["grpo.num_generations_per_prompt"] == "required int"
    assert grpo["grpo.extras"] == "optional dict"
    assert grpo["grpo.extras.note"] == "optional str"
    assert grpo["grpo.extras.seed"] == "required int"
    assert dpo["policy.generation"] == "optional dict"
    assert dpo["policy.generation.backend"] == "required str"


def test_generator_reads_an_optional_section_as_required_once_present(
    fake_snapshot: dict[str, dict[str, str]],
) -> None:
    dpo = fake_snapshot["dpo"]
    assert dpo["data_plane"] == "optional None|dict"
    assert dpo["data_plane.impl"] == 'required "transfer_queue"'
    assert dpo["data_plane.poll_interval_s"] == "required float"
    assert dpo["data_plane.address"] == "optional str"


def test_generator_tells_union_variants_apart_by_their_literal_field(
    fake_snapshot: dict[str, dict[str, str]],
) -> None:
    dpo = fake_snapshot["dpo"]
    assert dpo["policy.dtensor_cfg.enabled"] == "required false|true"
    assert dpo["policy.dtensor_cfg.tensor_parallel_size"] == "required-if:enabled=true int"
    assert dpo["policy.dtensor_cfg._v2"] == "optional bool"


def test_generator_requires_and_types_nothing_a_subclass_adds(
    fake_snapshot: dict[str, dict[str, str]],
) -> None:
    dpo = fake_snapshot["dpo"]
    # NeMo-RL narrows policy.generation to VllmConfig at run time; pydantic checks the declared
    # GenerationConfig only.
    # Keys known, types not checked (what pydantic does not validate may be anything).
    assert dpo["policy.generation.vllm_cfg"] == "optional any"
    assert dpo["policy.generation.vllm_cfg.skip_tokenizer_init"] == "optional any"
    assert dpo["policy.generation.vllm_kwargs.*"] == "optional any"


def test_generator_learns_scalar_types_lists_and_open_paths(
    fake_snapshot: dict[str, dict[str, str]],
) -> None:
    dpo, grpo = fake_snapshot["dpo"], fake_snapshot["grpo"]
    assert dpo["policy.generation.top_k"] == "required None|int"
    assert dpo["policy.scheduler"] == "optional None|dict|list"
    assert dpo["policy.scheduler[].name"] == "required str"
    assert dpo["policy.scheduler[].kwargs.*"] == "optional any"
    assert dpo["policy.scheduler.*[]"] == "optional int"
    assert grpo["env.*"] == "optional any"
    # Passed on as **kwargs: open whatever the TypedDict says.
    assert dpo["policy.dtensor_cfg.automodel_kwargs.*"] == "optional any"
    assert [path for path in dpo if path.startswith("policy.dtensor_cfg.automodel_kwargs.")] == [
        "policy.dtensor_cfg.automodel_kwargs.*"
    ]


def test_generator_reads_a_git_checkout_at_the_tag(tmp_path: Path) -> None:
    root = tmp_path / "nemo-rl"
    _write_fake_nemo_rl(root)
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "release"], check=True)
    subprocess.run([*git, "tag", "v9.9.9"], check=True)
    grpo = root / "nemo_rl" / "algorithms" / "grpo.py"
    grpo.write_text(grpo.read_text().replace("num_generations_per_prompt", "after_the_tag"))

    out = tmp_path / "v9.9.9.txt"
    snapshot = _generate(root, "v9.9.9", out)
    assert "grpo.num_generations_per_prompt" in snapshot["grpo"]
    assert "grpo.after_the_tag" not in snapshot["grpo"]
    assert "commit " in out.read_text().splitlines()[0]


def test_renames_are_found_between_two_generated_snapshots(
    snapshot_dir: Path, tmp_path: Path
) -> None:
    older, newer = tmp_path / "older", tmp_path / "newer"
    _write_fake_nemo_rl(older)
    renamed = dict(FAKE_NEMO_RL)
    renamed["nemo_rl/models/generation/interfaces.py"] = FAKE_NEMO_RL[
        "nemo_rl/models/generation/interfaces.py"
    ].replace("backend: str", "backend_name: str\n            unrelated: bool")
    _write_fake_nemo_rl(newer, renamed)
    _generate(older, "v0.7.0", snapshot_dir / "v0.7.0.txt")
    _generate(newer, "main", snapshot_dir / "main.txt")

    for trainer in TRAINERS:
        assert rename_candidates("v0.7.0", "main", trainer) == [
            ("policy.generation.backend", "policy.generation.backend_name")
        ]


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_committed_snapshot_is_what_the_generator_makes(release: str, tmp_path: Path) -> None:
    out = tmp_path / f"{release}.txt"
    _generate(real_tree(release), release, out)
    assert out.read_text() == (SNAPSHOT_DIR / f"{release}.txt").read_text()
