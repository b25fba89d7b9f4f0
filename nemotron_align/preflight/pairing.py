"""Which NeMo-RL entry point a rendered config needs, and whether its data fits that algo."""

from __future__ import annotations

from enum import Enum
from typing import Any

from nemotron_align.errors import LaunchRejected


class Trainer(str, Enum):
    dpo = "dpo"
    grpo = "grpo"
    grpo_nemo_gym = "grpo_nemo_gym"

    @property
    def script(self) -> str | None:
        """NeMo-RL example script, relative to its root; None for the in-process Gym runner."""
        return {
            Trainer.dpo: "examples/run_dpo.py",
            Trainer.grpo: "examples/run_grpo.py",
            Trainer.grpo_nemo_gym: None,
        }[self]

    @property
    def schema(self) -> str:
        """Which of NeMo-RL's MasterConfigs the config must satisfy: "dpo" or "grpo"."""
        return "dpo" if self is Trainer.dpo else "grpo"


PREFERENCE_DATASETS = frozenset(
    {"BinaryPreferenceDataset", "PreferenceDataset", "HelpSteer3", "Tulu3Preference"}
)
GYM_DATASET = "NemoGymDataset"
# The dataset entries of NeMo-RL's data section.
DATASET_ENTRIES = ("train", "validation", "default")
# Bundled data options per trainer, for the "pick one of" hint.
DATA_OPTIONS = {
    Trainer.dpo: ["preference_jsonl", "helpsteer3", "tiny"],
    Trainer.grpo: ["response_jsonl", "openmathinstruct2", "tiny"],
    Trainer.grpo_nemo_gym: ["nemo_gym_jsonl", "tiny"],
}


def trainer_for(config: dict[str, Any]) -> Trainer:
    if "dpo" in config:
        return Trainer.dpo
    if "grpo" in config:
        env = config.get("env") or {}
        return Trainer.grpo_nemo_gym if env.get("should_use_nemo_gym") else Trainer.grpo
    # Reached when `~algo` deleted the choice: nothing else in the defaults names the algo.
    raise LaunchRejected(
        "algo",
        "the config needs a choice of algo; without one it has neither a `dpo` nor a `grpo` "
        "section, so no NeMo-RL trainer fits it",
        "pick one, algo=<option>; options: dpo, grpo_gym, rlhf, rlvr",
    )


def dataset_names(data: dict[str, Any]) -> dict[str, str]:
    """data.<split>.dataset_name per split; data.default fills gaps, as NeMo-RL merges it."""
    default = (data.get("default") or {}).get("dataset_name")
    names = {}
    for split in ("train", "validation"):
        entries = data.get(split)
        if entries is None:
            continue
        for i, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            key = f"data.{split}" + (f"[{i}]" if isinstance(entries, list) else "")
            name = entry.get("dataset_name", default) if isinstance(entry, dict) else None
            if name is not None:
                names[f"{key}.dataset_name"] = str(name)
    return names


def _fits(trainer: Trainer, name: str) -> bool:
    if trainer is Trainer.dpo:
        return name in PREFERENCE_DATASETS
    if trainer is Trainer.grpo_nemo_gym:
        return name == GYM_DATASET
    return name not in PREFERENCE_DATASETS and name != GYM_DATASET


_NEEDS = {
    Trainer.dpo: "DPO trains on preference pairs (" + ", ".join(sorted(PREFERENCE_DATASETS)) + ")",
    Trainer.grpo: "GRPO without NeMo-Gym (env.should_use_nemo_gym=false) needs prompts with "
    "reference answers for a NeMo-RL environment (e.g. ResponseDataset), not preference pairs "
    f"or {GYM_DATASET}",
    Trainer.grpo_nemo_gym: "GRPO with NeMo-Gym (env.should_use_nemo_gym=true) needs "
    f"{GYM_DATASET} rows",
}


def check_data_fits(config: dict[str, Any], algo: str | None, data: str | None) -> Trainer:
    trainer = trainer_for(config)
    names = dataset_names(config.get("data") or {})
    wrong = {key: name for key, name in names.items() if not _fits(trainer, name)}
    if wrong:
        key, name = next(iter(wrong.items()))
        options = ", ".join(f"data={o}" for o in DATA_OPTIONS[trainer])
        raise LaunchRejected(
            key,
            f"data={data} does not fit algo={algo}: {_NEEDS[trainer]}, but {key} is '{name}'",
            f"pick data that fits algo={algo}: {options}",
        )
    return trainer
