"""Stand-in for nemo_rl.experience.rollouts (tests only).

Up to v0.7.0 run_async_nemo_gym_rollout returns one result; on main it is an async generator
(new required arguments) and the script calls its sync wrapper, run_nemo_gym_rollout_sync.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import SimpleNamespace
from typing import Any

from nemo_rl import API, record


def _result() -> SimpleNamespace:
    table = SimpleNamespace(data=[['{"reward": 1.0}']])
    return SimpleNamespace(rollout_metrics={"full_result": table, "reward": 1.0})


if API == "main":

    async def run_async_nemo_gym_rollout(
        *, num_generations: int, log_full_result_tables: bool, **kwargs: Any
    ) -> AsyncGenerator[SimpleNamespace, None]:
        yield _result()

    def run_nemo_gym_rollout_sync(*, log_full_result_tables: bool, **kwargs: Any) -> Any:
        record("run_async_nemo_gym_rollout", batch=kwargs["input_batch"], sync_wrapper=True)
        return _result()

else:

    def run_async_nemo_gym_rollout(**kwargs: Any) -> SimpleNamespace:
        record("run_async_nemo_gym_rollout", batch=kwargs["input_batch"])
        return _result()
