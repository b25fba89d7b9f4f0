"""OmegaConf resolvers available to every config.

NeMo-RL's own four (`add`, `mul`, `div`, `max`, two arguments each) so that configs written for
NeMo-RL compose here too, `tiny_data`, the absolute path of a bundled tiny dataset file, and
`nemo_rl_root`, the NeMo-RL checkout used unless launch.nemo_rl_root names one, and
`from_run`, the Hugging Face export of an earlier run
(`policy.model_name=${from_run:<run folder>}`).
"""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from nemotron_align.config.release import default_root
from nemotron_align.records.lineage import run_hf_export

TINY_DATA_DIR = Path(__file__).resolve().parents[1] / "tiny_data"


def tiny_data_path(name: str) -> str:
    path = TINY_DATA_DIR / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in TINY_DATA_DIR.glob("*.jsonl")))
        raise ValueError(f"no bundled tiny data file '{name}' (bundled: {known})")
    return str(path)


def register_resolvers() -> None:
    resolvers = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "max": lambda a, b: max(a, b),
        "tiny_data": tiny_data_path,
        "nemo_rl_root": default_root,
        "from_run": run_hf_export,
    }
    for name, fn in resolvers.items():
        if not OmegaConf.has_resolver(name):
            OmegaConf.register_new_resolver(name, fn)
