"""Stand-in for NeMo-RL's Python package (tests only), NOT NeMo-RL.

`STAND_IN_NEMO_RL_API` picks the API generation it imitates: `v0.6` (MasterConfig a TypedDict,
setup() returns 10 values, the caller starts the Gym actor), `v0.7` (pydantic MasterConfig,
setup() returns 13 values and starts the actor) or `main` (as v0.7, with a pydantic grpo section,
the Gym gate in nemo_rl.environments.nemo_gym, the streaming rollout behind a sync wrapper, and
shutdown_environments / generation shutdown). Every call is appended to `CALLS` and, when
`STAND_IN_CALLS` names a folder, written there as <pid>.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

API = os.environ.get("STAND_IN_NEMO_RL_API", "v0.7")
__version__ = {"v0.6": "0.6.0", "v0.7": "0.7.0", "main": "0.6.0"}[API]
CALLS: list[dict[str, Any]] = []


def record(call: str, **details: Any) -> None:
    CALLS.append({"call": call, "pid": os.getpid(), **details})
    folder = os.environ.get("STAND_IN_CALLS")
    if folder:
        path = Path(folder) / f"{os.getpid()}.json"
        path.write_text(json.dumps(CALLS, indent=1, default=str))


class StandInError(RuntimeError):
    """What the real NeMo-RL would fail with, in a word."""
