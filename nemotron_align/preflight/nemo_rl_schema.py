"""Validate the rendered config with the installed NeMo-RL's own schema, when it is importable.

v0.7.0 and later: `MasterConfig` is a pydantic model (`MasterConfig(**config)`); v0.6.0: a
TypedDict, checked through a pydantic TypeAdapter. Importing it pulls in torch and friends, so
this runs only where NeMo-RL is installed (its container), never on a bare login node.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.preflight.pairing import Trainer

log = logging.getLogger("nemotron_align")

_MODULES = {
    Trainer.dpo: "nemo_rl.algorithms.dpo",
    Trainer.grpo: "nemo_rl.algorithms.grpo",
    Trainer.grpo_nemo_gym: "nemo_rl.algorithms.grpo",
}


def nemo_rl_importable() -> bool:
    try:
        return importlib.util.find_spec("nemo_rl") is not None
    except (ImportError, ValueError):
        return False


def schema_problems(config: dict[str, Any], trainer: Trainer) -> list[LaunchRejected]:
    if not nemo_rl_importable():
        return []
    try:
        master = importlib.import_module(_MODULES[trainer]).MasterConfig
        import pydantic
    except (ImportError, AttributeError) as err:
        return [
            LaunchRejected(
                "nemo_rl",
                f"cannot load NeMo-RL's MasterConfig: {err}",
                "check the NeMo-RL installation this interpreter sees",
            )
        ]
    try:
        if isinstance(master, type) and issubclass(master, pydantic.BaseModel):
            master(**config)
        else:
            pydantic.TypeAdapter(master).validate_python(config)
    except pydantic.PydanticUserError as err:
        # e.g. typing.TypedDict below Python 3.12: pydantic cannot build a validator from it.
        log.warning("NeMo-RL's schema could not be applied here: %s", str(err).splitlines()[0])
        return []
    except pydantic.ValidationError as err:
        return [
            LaunchRejected(
                ".".join(str(part) for part in error["loc"]),
                f"NeMo-RL's schema says: {error['msg']} (got {error.get('input')!r})"
                if error["type"] != "missing"
                else "NeMo-RL's schema requires this key",
                "fix the value, or set the key",
            )
            for error in err.errors()
        ]
    return []
