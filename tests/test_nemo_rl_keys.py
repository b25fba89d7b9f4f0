"""Config keys checked against the committed key snapshots of NeMo-RL releases (no NeMo-RL
needed): the bundled configs, typos, keys of another release, and a launch for a target release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import ALGOS, compose_config, run_cli, snapshot_sections
from nemo_rl_real_support import real_tree, run_in_venv

from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.preflight.nemo_rl_keys import (
    RELEASES,
    SNAPSHOT_DIR,
    TRAINERS,
    problems,
    rename_candidates,
    renames,
)

REPO = Path(__file__).resolve().parent.parent


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


@pytest.mark.parametrize("release", RELEASES)
def test_committed_snapshot_parses_and_has_the_must_have_keys(release: str) -> None:
    text = (SNAPSHOT_DIR / f"{release}.txt").read_text()
    assert text.startswith(f"# Config keys NeMo-RL {release} knows")
    sections = snapshot_sections(text)
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
