"""NeMo-RL's own `load_config` + resolve of each recipe, and the real MasterConfig on it and on
the config nemotron_align rendered from it.

Run with the NeMo-RL venv's interpreter, cwd = a NeMo-RL tree (first on PYTHONPATH, this repo
second):
    python recipe_render_driver.py IN_JSON OUT_JSON

IN_JSON: [{"path", "trainer", "ours"}]. OUT_JSON, keyed by path: `theirs` (resolved) or
`load_error`, and `theirs_schema` / `ours_schema`: NeMo-RL's schema problems (empty: accepted;
null: not checked, where the release's MasterConfig is not a pydantic model: v0.6.0 has
TypedDicts only).
"""

from __future__ import annotations

import json
import sys

import pydantic
from nemo_rl.algorithms import dpo, grpo
from nemo_rl.utils.config import load_config, register_omegaconf_resolvers
from omegaconf import OmegaConf

from nemotron_align.preflight.nemo_rl_schema import schema_problems
from nemotron_align.preflight.pairing import Trainer


def has_pydantic_schema() -> bool:
    """Whether this release's MasterConfigs are pydantic models (v0.7.0 on), which validate a
    config as NeMo-RL does; v0.6.0's are TypedDicts, never validated by NeMo-RL itself."""
    return all(
        isinstance(module.MasterConfig, type)
        and issubclass(module.MasterConfig, pydantic.BaseModel)
        for module in (dpo, grpo)
    )


def _problems(config: dict, trainer: Trainer, schema: bool) -> list[str] | None:
    return [p.render() for p in schema_problems(config, trainer)] if schema else None


def check(entry: dict, schema: bool) -> dict[str, object]:
    trainer = Trainer(entry["trainer"])
    result: dict[str, object] = {"ours_schema": _problems(entry["ours"], trainer, schema)}
    try:
        theirs = OmegaConf.to_container(load_config(entry["path"]), resolve=True)
    except Exception as err:  # recorded for the comparison, which names it
        result["load_error"] = f"{type(err).__name__}: {err}"
        return result
    result["theirs"] = theirs
    result["theirs_schema"] = _problems(theirs, trainer, schema)
    return result


def main() -> None:
    source, out = sys.argv[1:]
    register_omegaconf_resolvers()
    schema = has_pydantic_schema()
    with open(source) as f:
        entries = json.load(f)
    with open(out, "w") as f:
        json.dump({e["path"]: check(e, schema) for e in entries}, f)


if __name__ == "__main__":
    main()
