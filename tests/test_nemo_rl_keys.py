"""Config keys checked against the key snapshots of NeMo-RL releases (no NeMo-RL needed), and the
script that makes the snapshots."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import ALGOS, compose_config, run_cli

from nemotron_align.errors import LaunchRejected
from nemotron_align.nemo_rl_keys import (
    SNAPSHOT_DIR,
    check,
    known_releases,
    pick_release,
    unknown_keys,
)
from nemotron_align.render import to_nemo_rl_dict

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "snapshot_nemo_rl_keys.py"


def rendered(algo: str, tmp_path: Path) -> dict[str, Any]:
    return to_nemo_rl_dict(compose_config([f"algo={algo}", "data=tiny"], tmp_path))


@pytest.mark.parametrize("algo", ALGOS)
def test_bundled_configs_have_no_key_v070_does_not_know(algo: str, tmp_path: Path) -> None:
    assert unknown_keys(rendered(algo, tmp_path), "v0.7.0") == []


def test_typo_is_reported_with_the_key_meant(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["dpo"]["refrence_policy_kl_penalty"] = 0.1

    [problem] = check(config, "v0.7.0")
    assert problem.where == "dpo.refrence_policy_kl_penalty"
    assert problem.problem == "NeMo-RL v0.7.0 has no such key (it would ignore it silently)"
    assert problem.fix == "did you mean dpo.reference_policy_kl_penalty?"


def test_key_new_in_v070_is_reported_for_v060(tmp_path: Path) -> None:
    config = rendered("rlvr", tmp_path)
    config["data_plane"] = {"enabled": False, "impl": "transfer_queue"}
    problems = {p.where: p for p in check(config, "v0.6.0")}

    for key in ("cluster.segment_size", "data_plane"):
        assert "NeMo-RL v0.6.0 has no such key" in problems[key].problem
    # A section the release lacks is one problem, not one per key inside it.
    assert not [key for key in problems if key.startswith("data_plane.")]


def test_unknown_key_without_a_close_sibling_gets_a_plain_fix(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["cluster"]["zzz"] = 1

    [problem] = check(config, "v0.7.0")
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

    for release in known_releases():
        assert not [k for k in unknown_keys(config, release) if "vllm_kwargs" in k]
    assert unknown_keys(config, "v0.7.0") == []


def test_list_elements_are_checked_against_the_element_keys(tmp_path: Path) -> None:
    config = rendered("dpo", tmp_path)
    config["policy"]["scheduler"] = [
        {"name": "torch.optim.lr_scheduler.LinearLR", "kwargs": {"start_factor": 0.1}},
        {"milestones": [10]},
        {"nmae": "torch.optim.lr_scheduler.ConstantLR"},
    ]

    [problem] = check(config, "v0.7.0")
    assert problem.where == "policy.scheduler[2].nmae"
    assert problem.fix == "did you mean policy.scheduler[2].name?"


def test_a_mapping_of_sections_checks_each_entry() -> None:
    teachers = {"teacher_overrides": {"big": {"num_nodes": 2, "num_nodse": 2}}}
    config = {"on_policy_distillation": {"non_colocated_teachers": teachers}}

    prefix = "on_policy_distillation.non_colocated_teachers.teacher_overrides.big"
    assert unknown_keys(config, "v0.7.0") == [f"{prefix}.num_nodse"]


@pytest.mark.parametrize(
    ("detected", "requested", "release"),
    [
        ("0.6.0", None, "v0.6.0"),
        ("0.6.2rc1", None, "v0.6.0"),
        ("0.7.0", None, "v0.7.0"),
        ("0.7.0.dev0+abc123", None, "v0.7.0"),
        ("0.9.1", None, "v0.7.0"),
        ("1.0.0", None, "v0.7.0"),
        (None, None, "v0.7.0"),
        ("unknown", None, "v0.7.0"),
        ("0.5.0", None, "v0.6.0"),
        ("0.7.0", "v0.6.0", "v0.6.0"),
        (None, "0.6.0", "v0.6.0"),
        ("0.6.0", "v0.7.0", "v0.7.0"),
    ],
)
def test_pick_release(detected: str | None, requested: str | None, release: str) -> None:
    assert pick_release(detected, requested) == release


def test_unknown_requested_release_names_the_known_ones() -> None:
    with pytest.raises(LaunchRejected) as err:
        pick_release("0.7.0", "v0.5.0")
    assert "v0.5.0" in err.value.problem
    assert "v0.6.0" in err.value.fix and "v0.7.0" in err.value.fix


MUST_HAVE = [
    "dpo.reference_policy_kl_penalty",
    "grpo.num_generations_per_prompt",
    "loss_fn.reference_policy_kl_penalty",
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


@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0"])
def test_committed_snapshot_parses_and_has_the_must_have_keys(release: str) -> None:
    text = (SNAPSHOT_DIR / f"{release}.txt").read_text()
    assert text.startswith(f"# Config keys NeMo-RL {release} knows")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert lines == sorted(set(lines)) and len(lines) > 300
    assert "env.*" in lines
    assert unknown_keys(_config_with(MUST_HAVE), release) == []


def test_known_releases() -> None:
    assert known_releases() == ["v0.6.0", "v0.7.0"]


FAKE_NEMO_RL = {
    "nemo_rl/__init__.py": "",
    "nemo_rl/algorithms/dpo.py": """
        from pydantic import BaseModel

        from nemo_rl.models.policy import PolicyConfig

        from ..utils.logger import LoggerConfig


        class DPOConfig(BaseModel, extra="allow"):
            beta: float = 0.1
            _private: int = 0


        class MasterConfig(BaseModel, extra="allow"):
            policy: PolicyConfig
            dpo: DPOConfig
            logger: LoggerConfig
        """,
    "nemo_rl/algorithms/grpo.py": """
        from typing import Any, TypedDict

        from nemo_rl.models.policy import PolicyConfig


        class GRPOConfig(TypedDict):
            num_generations_per_prompt: int


        class MasterConfig(TypedDict):
            policy: PolicyConfig
            grpo: GRPOConfig
            env: dict[str, Any]
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
        """,
    "nemo_rl/models/generation/vllm/config.py": """
        from typing import Any, NotRequired

        from nemo_rl.models.generation.interfaces import GenerationConfig


        class VllmConfig(GenerationConfig):
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
    "examples/configs/sft.yaml": """
        sft: {max_num_steps: 1}
        policy: {sft_only: 1}
        """,
}


def _write_fake_nemo_rl(root: Path) -> None:
    for name, text in FAKE_NEMO_RL.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


def _snapshot_lines(root: Path, tag: str, out: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), str(root), tag, str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in out.read_text().splitlines() if not line.startswith("#")]


def test_generator_follows_the_schema_and_the_algo_yamls(tmp_path: Path) -> None:
    root = tmp_path / "nemo-rl"
    _write_fake_nemo_rl(root)
    lines = _snapshot_lines(root, "v9.9.9", tmp_path / "v9.9.9.txt")

    for expected in [
        "dpo.beta",
        "grpo.num_generations_per_prompt",
        "env.*",
        "logger.log_dir",
        "policy.dtensor_cfg.enabled",
        "policy.dtensor_cfg._v2",
        # Passed on as **kwargs: open whatever the TypedDict says.
        "policy.dtensor_cfg.automodel_kwargs.*",
        # A subclass NeMo-RL narrows the section to.
        "policy.generation.backend",
        "policy.generation.vllm_kwargs.*",
        "policy.scheduler[].name",
        "policy.scheduler[].kwargs.*",
        "policy.scheduler.*[]",
        # From the example YAMLs, the recipe through its defaults chain.
        "policy.read_but_undeclared",
        "dpo.from_recipe",
    ]:
        assert expected in lines
    for absent in ["dpo._private", "sft", "policy.sft_only", "defaults"]:
        assert absent not in lines
    assert not [
        line
        for line in lines
        if line.startswith("policy.dtensor_cfg.automodel_kwargs.")
        and line != "policy.dtensor_cfg.automodel_kwargs.*"
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
    lines = _snapshot_lines(root, "v9.9.9", out)
    assert "grpo.num_generations_per_prompt" in lines
    assert "grpo.after_the_tag" not in lines
    assert "commit " in out.read_text().splitlines()[0]


def _has_release_tags(root: str) -> bool:
    return all(
        subprocess.run(
            ["git", "-C", root, "rev-parse", "--verify", "--quiet", f"{tag}^{{commit}}"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
        for tag in ("v0.6.0", "v0.7.0")
    )


NEMO_RL_GIT = os.environ.get("NEMO_RL_ROOT", "")


@pytest.mark.skipif(
    not NEMO_RL_GIT or not _has_release_tags(NEMO_RL_GIT),
    reason="NEMO_RL_ROOT is not a NeMo-RL git checkout with tags v0.6.0 and v0.7.0",
)
@pytest.mark.parametrize("release", ["v0.6.0", "v0.7.0"])
def test_committed_snapshot_is_what_the_generator_makes(release: str, tmp_path: Path) -> None:
    out = tmp_path / f"{release}.txt"
    _snapshot_lines(Path(NEMO_RL_GIT), release, out)
    assert out.read_text() == (SNAPSHOT_DIR / f"{release}.txt").read_text()


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
