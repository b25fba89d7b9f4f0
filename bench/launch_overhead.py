"""How long a dry run takes, against baselines measured in the same run.

  python bench/launch_overhead.py [--repeats N]

Baselines:
- `imports`: a Python process that only imports hydra, omegaconf and yaml (what any Hydra app pays);
- `nemo_rl_load`: loading and resolving the rendered nemo_rl.yaml with plain OmegaConf, in process
  (what NeMo-RL's own loader does at its start).
Measured:
- `dry_run`: a whole `python -m nemotron_align algo=<x> data=tiny launch.dry_run=true`;
- `compose_render`: composing and rendering the same config in process.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hydra import compose
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

from nemotron_align.config.location import initialize_app_config
from nemotron_align.config.render import to_nemo_rl_dict
from nemotron_align.config.resolvers import register_resolvers
from nemotron_align.config.store import register_schemas

ALGOS = ["dpo", "rlvr", "grpo_gym", "rlhf"]


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(argv: list[str], cwd: Path) -> None:
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


def compose_render(algo: str, run_dir: Path) -> dict:
    GlobalHydra.instance().clear()
    with initialize_app_config():
        cfg = compose("config", overrides=[f"algo={algo}", "data=tiny"], return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(run_dir)
    HydraConfig.instance().set_config(cfg)
    return to_nemo_rl_dict(cfg)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    register_resolvers()
    register_schemas()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        imports = median_seconds(
            lambda: run([sys.executable, "-c", "import hydra, omegaconf, yaml"], work), repeats
        )
        print(f"baseline imports-only process: {imports * 1000:.0f} ms (median of {repeats})")
        print(
            f"{'algo':<9} {'dry_run ms':>10} {'x imports':>9} {'compose+render ms':>18} "
            f"{'nemo_rl load ms':>15} {'ratio':>6}"
        )
        for algo in ALGOS:
            run_dir = work / algo
            dry = median_seconds(
                lambda algo=algo, run_dir=run_dir: run(
                    [
                        sys.executable,
                        "-m",
                        "nemotron_align",
                        f"algo={algo}",
                        "data=tiny",
                        "launch.dry_run=true",
                        f"hydra.run.dir={run_dir}/{time.monotonic_ns()}",
                    ],
                    work,
                ),
                repeats,
            )
            in_process = median_seconds(
                lambda algo=algo, run_dir=run_dir: compose_render(algo, run_dir), repeats
            )
            rendered = next(run_dir.glob("*/nemo_rl.yaml"))
            load = median_seconds(
                lambda rendered=rendered: OmegaConf.to_container(
                    OmegaConf.load(rendered), resolve=True
                ),
                repeats,
            )
            print(
                f"{algo:<9} {dry * 1000:>10.0f} {dry / imports:>9.2f} {in_process * 1000:>18.1f} "
                f"{load * 1000:>15.1f} {in_process / load:>6.1f}"
            )


if __name__ == "__main__":
    main()
