"""A sampled point checked before its job exists: composed as its job will be, then put through
every check of a launch (nemotron_align.launchers.plan.check), writing nothing. A point the
checks refuse is a failed trial at once, with the reason, and no process is started for it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from nemotron_align.config.diagnose import fault
from nemotron_align.errors import LaunchRejected
from nemotron_align.launchers.context import LaunchContext
from nemotron_align.launchers.plan import check


def refusal(loader: Any, master: DictConfig, overrides: list[str], job_dir: Path) -> str | None:
    """Why the job of these overrides would be refused (error/fix lines), or None."""
    try:
        # A copy: HydraConfig makes what it is given read-only, and the Slurm launcher takes
        # the composition as made (nemotron_align.slurm.compose.JobComposer).
        config = copy.deepcopy(loader.load_sweep_config(master, overrides))
    except Exception as err:  # an override that does not compose is this point's failure
        return LaunchRejected(
            "overrides", str(err).strip().splitlines()[0], "narrow the search space"
        ).render()
    with read_write(config.hydra.runtime), open_dict(config.hydra.runtime):
        config.hydra.runtime.output_dir = str(job_dir.resolve())
    choices = config.hydra.runtime.choices
    ctx = LaunchContext(
        run_dir=job_dir,
        multirun=True,
        algo=choices.get("algo"),
        data=choices.get("data"),
        overrides=overrides,
        composed_config_dir=None,
    )
    previous = HydraConfig.instance().cfg
    HydraConfig.instance().set_config(config)
    try:
        check(OmegaConf.masked_copy(config, [k for k in config if k != "hydra"]), ctx, show=False)
    except LaunchRejected as err:
        return err.render()
    except Exception as err:  # what the launch would refuse as a fault
        return fault(err, str(job_dir)).render()
    finally:
        HydraConfig.instance().cfg = previous
    return None
