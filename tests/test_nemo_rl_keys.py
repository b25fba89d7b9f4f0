"""Config keys checked against the key snapshots of NeMo-RL releases (no NeMo-RL needed), and the
script that makes the snapshots."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ALGOS, compose_config, run_cli
from nemo_rl_real_support import real_tree, run_in_venv

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight import nemo_rl_keys
from nemotron_align.preflight.nemo_rl_keys import (
    RELEASES,
    SNAPSHOT_DIR,
    TRAINERS,
    problems,
    rename_candidates,
    renames,
)

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "snapshot_nemo_rl_keys.py"


def rendered(algo: str, tmp_path: Path) -> dict[str, Any]:
    return to_nemo_rl_dict(compose_config([f"algo={algo}", "data=tiny"], tmp_path))


def trainer_of(algo: str) -> str:
    return "dpo" if algo == "dpo" else "grpo"


def ignored_keys(config: dict[str, Any], release: str, trainer: str) -> list[str]:
    """Paths `problems` reports as keys the release would ignore: errors (no release knows them)
    and warnings (another release or trainer does)."""
    errors, warnings = problems(config, release, trainer)
    unknown = [e.where for e in errors if "has no such key" in e.problem]
    return unknown + [warning.split(":", 1)[0] for warning in warnings]


@pytest.mark.parametrize("algo", ALGOS)
def test_bundled_configs_have_no_key_v070_does_not_know(algo: str, tmp_path: Path) -> None:
    assert ignored_keys(rendered(algo, tmp_path), "v0.7.0", trainer_of(algo)) == []


def test_typo_is_reported_with_the_key_meant(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["dpo"]["refrence_policy_kl_penalty"] = 0.1

    [problem], _ = problems(config, "v0.7.0", "dpo")
    assert problem.where == "dpo.refrence_policy_kl_penalty"
    assert problem.problem == "NeMo-RL v0.7.0 has no such key (it would ignore it silently)"
    assert problem.fix == "did you mean dpo.reference_policy_kl_penalty?"


def test_key_new_in_v070_is_reported_for_v060(tmp_path: Path) -> None:
    config = rendered("rlvr", tmp_path)
    config["data_plane"] = {"enabled": False, "impl": "transfer_queue"}
    errors, warnings = problems(config, "v0.6.0", "grpo")

    new_in_v070 = ("cluster.segment_size", "data_plane")
    assert not [e for e in errors if e.where.startswith(new_in_v070)]
    reported = {w.split(":", 1)[0]: w for w in warnings if w.startswith(new_in_v070)}
    # A section the release lacks is one warning, not one per key inside it.
    assert list(reported) == list(new_in_v070)
    for warning in reported.values():
        assert "NeMo-RL v0.6.0 (grpo) does not know this key and will ignore it" in warning
        assert "v0.7.0 grpo" in warning


def test_unknown_key_without_a_close_sibling_gets_a_plain_fix(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["cluster"]["zzz"] = 1

    [problem], _ = problems(config, "v0.7.0", "dpo")
    assert problem.where == "cluster.zzz"
    assert "did you mean" not in problem.fix and "v0.7.0" in problem.fix


def test_open_paths_accept_any_sub_key(tmp_path: Path) -> None:
    config = rendered("rlvr", tmp_path)
    policy = config["policy"]
    policy["generation"]["vllm_kwargs"] = {"any_vllm_arg": {"nested": [{"deep": 1}]}}
    policy["optimizer"]["kwargs"]["amsgrad"] = True
    policy["dtensor_cfg"]["automodel_kwargs"] = {"attn_implementation": "sdpa"}
    policy["hf_config_overrides"] = {"rope_scaling": {"type": "yarn"}}
    config["env"]["my_env"] = {"anything": 1}

    for release in RELEASES:
        assert not [k for k in ignored_keys(config, release, "grpo") if "vllm_kwargs" in k]
    assert problems(config, "v0.7.0", "grpo") == ([], [])


def test_list_elements_are_checked_against_the_element_keys(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["policy"]["scheduler"] = [
        {"name": "torch.optim.lr_scheduler.LinearLR", "kwargs": {"start_factor": 0.1}},
        {"milestones": [10]},
        {"nmae": "torch.optim.lr_scheduler.ConstantLR"},
    ]

    [problem], _ = problems(config, "v0.7.0", "dpo")
    assert problem.where == "policy.scheduler[2].nmae"
    assert problem.fix == "did you mean policy.scheduler[2].name?"


def test_a_mapping_of_sections_checks_each_entry() -> None:
    teachers = {"teacher_overrides": {"big": {"num_nodes": 2, "num_nodse": 2}}}
    config = {"on_policy_distillation": {"non_colocated_teachers": teachers}}

    prefix = "on_policy_distillation.non_colocated_teachers.teacher_overrides.big"
    assert ignored_keys(config, "v0.7.0", "grpo") == [f"{prefix}.num_nodse"]


MUST_HAVE_OF = {
    "dpo": ["dpo.reference_policy_kl_penalty"],
    "grpo": ["grpo.num_generations_per_prompt", "loss_fn.reference_policy_kl_penalty"],
}
MUST_HAVE = [
    "policy.dtensor_cfg.enabled",
    "policy.megatron_cfg.enabled",
    "policy.generation.vllm_cfg.gpu_memory_utilization",
    "checkpointing.keep_top_k",
    "data.num_workers",
    "logger.num_val_samples_to_print",
    "cluster.gpus_per_node",
]


def _config_with(paths: list[str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for path in paths:
        *parents, leaf = path.split(".")
        node = config
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = 1
    return config


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("["):
            current = sections.setdefault(line[1:-1], [])
        elif line and not line.startswith("#"):
            current.append(line)
    return sections


@pytest.mark.parametrize("release", RELEASES)
def test_committed_snapshot_parses_and_has_the_must_have_keys(release: str) -> None:
    text = (SNAPSHOT_DIR / f"{release}.txt").read_text()
    assert text.startswith(f"# Config keys NeMo-RL {release} knows")
    sections = _sections(text)
    assert list(sections) == list(TRAINERS)
    for lines in sections.values():
        paths = [line.split(" ")[0] for line in lines]
        assert paths == sorted(set(paths)) and len(paths) > 300
        assert "policy.train_global_batch_size required int" in lines
    assert "env.* optional any" in sections["grpo"]
    for trainer in TRAINERS:
        keys = MUST_HAVE + MUST_HAVE_OF[trainer]
        assert ignored_keys(_config_with(keys), release, trainer) == []


def test_releases_are_those_of_the_nemo_rl_config_group() -> None:
    assert RELEASES == ("v0.6.0", "v0.7.0", "main")
    assert sorted(RELEASES) == sorted(p.stem for p in (REPO / "conf" / "nemo_rl").glob("*.yaml"))


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
        for trainer, lines in _sections(out.read_text()).items()
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


def test_generator_requires_nothing_a_subclass_adds(
    fake_snapshot: dict[str, dict[str, str]],
) -> None:
    dpo = fake_snapshot["dpo"]
    # NeMo-RL narrows policy.generation to VllmConfig at run time; pydantic checks the declared
    # GenerationConfig only.
    assert dpo["policy.generation.vllm_cfg"] == "optional dict"
    assert dpo["policy.generation.vllm_cfg.skip_tokenizer_init"] == "optional bool"
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


@pytest.fixture
def snapshot_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty folder the checker reads its snapshots from, instead of the committed ones."""
    folder = tmp_path / "snapshots"
    folder.mkdir()
    monkeypatch.setattr(nemo_rl_keys, "SNAPSHOT_DIR", folder)
    _clear_snapshot_caches()
    yield folder
    _clear_snapshot_caches()


def _clear_snapshot_caches() -> None:
    for cached in (nemo_rl_keys._snapshot, renames):
        cached.cache_clear()


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


MADE_UP_SNAPSHOTS = {
    "v0.6.0": """
        [dpo]
        dpo required dict
        dpo.beta required float
        dpo.old_name optional bool
        [grpo]
        grpo required dict
        """,
    "v0.7.0": """
        [dpo]
        dpo required dict
        dpo.beta required float
        dpo.new_name optional bool
        dpo.mode optional "fast"|"slow"
        dpo.plane optional None|dict
        dpo.plane.impl required "tq"
        dpo.plane.size required int
        dpo.cfg optional dict
        dpo.cfg.enabled required false|true
        dpo.cfg.size required-if:enabled=true int
        dpo.env optional dict
        dpo.env.* optional any
        dpo.items optional list
        dpo.items[] optional dict
        dpo.items[].name required str
        [grpo]
        grpo required dict
        grpo.v07_only optional int
        """,
}


@pytest.fixture
def made_up(snapshot_dir: Path) -> None:
    for release in RELEASES:
        text = MADE_UP_SNAPSHOTS.get(release, MADE_UP_SNAPSHOTS["v0.7.0"])
        (snapshot_dir / f"{release}.txt").write_text(textwrap.dedent(text))
    (snapshot_dir / "renames.txt").write_text("# made up\nv0.7.0 dpo.old_name dpo.new_name\n")


def _rendered_problems(config: dict[str, Any], release: str, trainer: str) -> list[str]:
    errors, _ = problems(config, release, trainer)
    return [error.render() for error in errors]


@pytest.mark.usefixtures("made_up")
def test_a_config_the_release_accepts_has_no_problem() -> None:
    config = {
        "dpo": {
            "beta": 1,
            "mode": "fast",
            "plane": {"impl": "tq", "size": 2},
            "cfg": {"enabled": False},
            "env": {"anything": {"deep": [1]}},
            "items": [{"name": "a"}],
        }
    }
    assert problems(config, "v0.7.0", "dpo") == ([], [])
    assert problems({"dpo": {"beta": 0.1, "plane": None}}, "main", "dpo") == ([], [])


@pytest.mark.usefixtures("made_up")
def test_a_missing_required_key_names_the_key_the_release_and_the_fix() -> None:
    config = {"dpo": {"beta": 0.1, "plane": {"size": 2}, "cfg": {"enabled": True}}}

    assert _rendered_problems(config, "v0.7.0", "dpo") == [
        "error: dpo.plane.impl: NeMo-RL v0.7.0 requires this key once dpo.plane is present\n"
        "  fix: set it, or remove dpo.plane",
        "error: dpo.cfg.size: NeMo-RL v0.7.0 requires this key when dpo.cfg.enabled is true\n"
        "  fix: set it, or change dpo.cfg.enabled",
    ]
    assert _rendered_problems({"dpo": {"items": [{}]}}, "v0.7.0", "dpo") == [
        "error: dpo.items[0].name: NeMo-RL v0.7.0 requires this key once dpo.items[0] is "
        "present\n  fix: set it, or remove dpo.items[0]",
        "error: dpo.beta: NeMo-RL v0.7.0 requires this key once dpo is present\n"
        "  fix: set it, or remove dpo",
    ]
    assert _rendered_problems({}, "v0.7.0", "dpo") == [
        "error: dpo: NeMo-RL v0.7.0 requires this key\n  fix: set it"
    ]


@pytest.mark.usefixtures("made_up")
def test_a_value_of_the_wrong_type_is_an_error() -> None:
    config = {
        "dpo": {
            "beta": "abc",
            "mode": "medium",
            "plane": {"impl": "tq", "size": True},
            "items": [7],
        }
    }

    assert _rendered_problems(config, "v0.7.0", "dpo") == [
        'error: dpo.beta: is "abc" (str); NeMo-RL v0.7.0 expects float\n  fix: set it to float',
        'error: dpo.mode: is "medium" (str); NeMo-RL v0.7.0 expects "fast" or "slow"\n'
        '  fix: set it to "fast" or "slow"',
        "error: dpo.plane.size: is true (bool); NeMo-RL v0.7.0 expects int\n  fix: set it to int",
        "error: dpo.items[0]: is 7 (int); NeMo-RL v0.7.0 expects dict\n  fix: set it to dict",
    ]


@pytest.mark.usefixtures("made_up")
def test_a_renamed_key_is_reported_with_the_name_of_the_release() -> None:
    [old_on_new] = problems({"dpo": {"beta": 0.1, "old_name": True}}, "main", "dpo")[0]
    assert old_on_new.where == "dpo.old_name"
    assert old_on_new.problem.startswith("renamed to dpo.new_name in NeMo-RL v0.7.0")
    assert old_on_new.fix == "use dpo.new_name"

    [new_on_old] = problems({"dpo": {"beta": 0.1, "new_name": True}}, "v0.6.0", "dpo")[0]
    assert new_on_old.where == "dpo.new_name"
    assert "NeMo-RL v0.6.0 calls this key dpo.old_name" in new_on_old.problem


@pytest.mark.usefixtures("made_up")
def test_a_key_only_another_release_knows_is_a_warning() -> None:
    errors, warnings = problems({"grpo": {"v07_only": 1}}, "v0.6.0", "grpo")

    assert errors == []
    assert warnings == [
        "grpo.v07_only: NeMo-RL v0.6.0 (grpo) does not know this key and will ignore it "
        "(known to v0.7.0 grpo, main grpo)"
    ]


@pytest.mark.usefixtures("made_up")
def test_a_key_no_release_knows_is_an_error_with_the_key_meant() -> None:
    [typo] = problems({"dpo": {"beta": 0.1, "betta": 0.2}}, "v0.7.0", "dpo")[0]

    assert typo.where == "dpo.betta"
    assert typo.problem == "NeMo-RL v0.7.0 has no such key (it would ignore it silently)"
    assert typo.fix == "did you mean dpo.beta?"


def test_problems_refuses_an_unknown_trainer() -> None:
    with pytest.raises(LaunchRejected, match="sft"):
        problems({}, "v0.7.0", "sft")


def test_data_plane_without_its_required_fields_is_refused_by_v070(tmp_path: Path) -> None:
    config = rendered("rlvr", tmp_path)
    config["data_plane"] = {"enabled": False}

    errors = [e.render() for e in problems(config, "v0.7.0", "grpo")[0]]
    for key in [
        "impl",
        "backend",
        "storage_capacity",
        "num_storage_units",
        "claim_meta_poll_interval_s",
        "global_segment_size",
        "local_buffer_size",
    ]:
        assert (
            f"error: data_plane.{key}: NeMo-RL v0.7.0 requires this key once data_plane is "
            "present\n  fix: set it, or remove data_plane"
        ) in errors
    assert not [e for e in errors if "data_plane" in e and "requires" not in e]
    assert not [e for e in problems(config, "v0.6.0", "grpo")[0] if "data_plane" in e.where]


def test_main_requires_the_validation_sampling_keys(tmp_path: Path) -> None:
    config = rendered("rlvr", tmp_path)
    generation = config["policy"]["generation"]
    for key in ("val_temperature", "val_top_p", "val_top_k"):
        generation.pop(key, None)

    missing = {e.where for e in problems(config, "main", "grpo")[0] if "requires" in e.problem}
    assert {
        "policy.generation.val_temperature",
        "policy.generation.val_top_p",
        "policy.generation.val_top_k",
    } <= missing
    v070 = problems(config, "v0.7.0", "grpo")[0]
    assert not [e for e in v070 if e.where.startswith("policy.generation.val_")]


def test_the_megatron_fused_logprob_keys_were_renamed_on_main(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["policy"]["megatron_cfg"]["use_linear_ce_fusion_loss"] = True

    [renamed] = [
        e for e in problems(config, "main", "dpo")[0] if e.where.endswith("linear_ce_fusion_loss")
    ]
    assert renamed.fix == "use policy.megatron_cfg.use_fused_linear_logprobs"
    assert not [e for e in problems(config, "v0.7.0", "dpo")[0] if e.where.endswith("fusion_loss")]


def test_committed_renames_are_rename_candidates_of_the_committed_snapshots() -> None:
    assert renames()
    for rename in renames():
        older = RELEASES[RELEASES.index(rename.release) - 1]
        for trainer in TRAINERS:
            assert (rename.old, rename.new) in rename_candidates(older, rename.release, trainer)


@pytest.mark.parametrize("release", RELEASES)
def test_the_bundled_dpo_config_has_no_problem_on_any_release(release: str, tmp_path: Path) -> None:
    assert problems(rendered("dpo", tmp_path), release, "dpo")[0] == []


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("release", RELEASES)
def test_committed_snapshot_is_what_the_generator_makes(release: str, tmp_path: Path) -> None:
    out = tmp_path / f"{release}.txt"
    _generate(real_tree(release), release, out)
    assert out.read_text() == (SNAPSHOT_DIR / f"{release}.txt").read_text()


LOAD_EXAMPLE = """
import json, sys
from omegaconf import OmegaConf
from nemo_rl.utils.config import load_config, register_omegaconf_resolvers
register_omegaconf_resolvers()
print(json.dumps(OmegaConf.to_container(load_config(sys.argv[1]), resolve=True)))
"""
EXAMPLES = {"dpo": "examples/configs/dpo.yaml", "grpo": "examples/configs/grpo_math_1B.yaml"}
# A required key of the example to remove, per (release, trainer), beside one every release has.
ALSO_REQUIRED = {
    ("v0.7.0", "grpo"): "data_plane.impl",
    ("main", "grpo"): "policy.generation.val_top_p",
}


def _upstream_example(release: str, trainer: str, scratch: Path) -> dict[str, Any]:
    """The example config of the release, as NeMo-RL's own load_config reads it."""
    result = run_in_venv(real_tree(release), ["-c", LOAD_EXAMPLE, EXAMPLES[trainer]], scratch)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.mark.nemo_rl_real
@pytest.mark.parametrize("trainer", TRAINERS)
@pytest.mark.parametrize("release", RELEASES)
def test_upstream_example_passes_and_a_removed_required_key_is_reported(
    release: str, trainer: str, tmp_path: Path
) -> None:
    config = _upstream_example(release, trainer, tmp_path)
    errors, _ = problems(config, release, trainer)
    assert [e.render() for e in errors] == []

    for path in ["policy.train_global_batch_size", ALSO_REQUIRED.get((release, trainer))]:
        if path is None:
            continue
        *parents, key = path.split(".")
        broken = json.loads(json.dumps(config))
        section = broken
        for name in parents:
            section = section[name]
        del section[key]
        [missing] = problems(broken, release, trainer)[0]
        assert missing.where == path
        assert f"NeMo-RL {release} requires this key" in missing.problem


def test_launch_checks_keys_against_the_target_release(tmp_path: Path) -> None:
    base = ["algo=rlvr", "data=tiny", "launch.dry_run=true"]
    typo = run_cli(
        [*base, "+loss_fn.ratio_clip_mn=0.1", f"hydra.run.dir={tmp_path / 'a'}"], cwd=tmp_path
    )
    assert typo.returncode == 2
    assert "error: loss_fn.ratio_clip_mn: NeMo-RL v0.7.0 has no such key" in typo.stderr
    assert "did you mean loss_fn.ratio_clip_min?" in typo.stderr
    # Composed for v0.6.0, the config holds no key of a later release.
    older = run_cli([*base, "nemo_rl=v0.6.0", f"hydra.run.dir={tmp_path / 'b'}"], cwd=tmp_path)
    assert older.returncode == 0, older.stderr
    assert "does not know" not in older.stderr
    assert "segment_size" not in (tmp_path / "b" / "nemo_rl.yaml").read_text()
    unknown = run_cli([*base, "nemo_rl=v9.9", f"hydra.run.dir={tmp_path / 'c'}"], cwd=tmp_path)
    assert unknown.returncode == 2 and "v0.6.0" in unknown.stderr and "v0.7.0" in unknown.stderr
