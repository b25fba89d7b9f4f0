"""NeMo-RL's own `load_config` on recipe files, as its example scripts call it.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree (first on PYTHONPATH):
    python recipe_load_driver.py OUT_JSON RECIPE...

Registers NeMo-RL's resolvers (register_omegaconf_resolvers, as run_grpo.py does), then for each
recipe writes to OUT_JSON, keyed by the path as given: `unresolved`
(OmegaConf.to_container(resolve=False)) and `resolved` (resolve=True), or `load_error` /
`resolve_error` (the exception's type and message) where NeMo-RL fails.
"""

from __future__ import annotations

import json
import sys

from nemo_rl.utils.config import load_config, register_omegaconf_resolvers
from omegaconf import OmegaConf


def _failure(err: Exception) -> str:
    return f"{type(err).__name__}: {err}"


def load(path: str) -> dict[str, object]:
    try:
        config = load_config(path)
    except Exception as err:  # recorded for the comparison, which names it
        return {"load_error": _failure(err)}
    result: dict[str, object] = {"unresolved": OmegaConf.to_container(config, resolve=False)}
    try:
        result["resolved"] = OmegaConf.to_container(config, resolve=True)
    except Exception as err:
        result["resolve_error"] = _failure(err)
    return result


def main() -> None:
    out, *paths = sys.argv[1:]
    register_omegaconf_resolvers()
    with open(out, "w") as f:
        json.dump({path: load(path) for path in paths}, f)


if __name__ == "__main__":
    main()
