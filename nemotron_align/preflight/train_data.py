"""Refuse a config that names no training data: each algo wires its own `default` and `tiny`
data in its defaults list (conf/data/for_algo/<algo>_<data>.yaml), and one that lacks them
would otherwise hand NeMo-RL a `data` section with nothing to train on."""

from __future__ import annotations

from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import DATA_OPTIONS, Trainer


def check_train_data(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    if (config.get("data") or {}).get("train"):
        return []
    options = ", ".join(f"data={option}" for option in DATA_OPTIONS[trainer])
    return [
        LaunchRejected(
            "data.train",
            "is empty: the config names no training data (an algo without its "
            "conf/data/for_algo/<algo>_<data>.yaml, or data that sets no `train`)",
            f"pick data that sets data.train ({options}); for a new algo, end its defaults "
            "list with `- optional /data/for_algo@_global_: <algo>_${data}` and add "
            "conf/data/for_algo/<algo>_default.yaml and <algo>_tiny.yaml",
        )
    ]
