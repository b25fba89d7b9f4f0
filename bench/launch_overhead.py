"""How long a dry run takes, against baselines measured in the same run.

  python bench/launch_overhead.py [--repeats N]

Baselines:
- `imports`: a Python process that only imports hydra, omegaconf and yaml (what any Hydra app pays);
- `hydra_app`: a minimal `@hydra.main` app in a fresh process that composes the algo's rendered
  config from one YAML file and dumps it with OmegaConf (what the least any Hydra app doing this
  job pays). Goal: every algo's dry run at most 2x this;
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
from dataclasses import dataclass
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
GOAL_RATIO = 2.0

# The baseline app: composes <config_dir>/<config_name>.yaml and dumps it, nothing else.
MINIMAL_HYDRA_APP = """\
import sys

import hydra
from omegaconf import OmegaConf

config_dir, config_name = sys.argv.pop(1), sys.argv.pop(1)


@hydra.main(version_base=None, config_path=config_dir, config_name=config_name)
def main(cfg):
    print(OmegaConf.to_yaml(cfg, resolve=True))


main()
"""


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


def dry_run_argv(algo: str, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "nemotron_align",
        f"algo={algo}",
        "data=tiny",
        "launch.dry_run=true",
        f"hydra.run.dir={run_dir}/{time.monotonic_ns()}",
    ]


def hydra_app_argv(app: Path, rendered: Path, run_dir: Path) -> list[str]:
    return [
        sys.executable,
        str(app),
        str(rendered.parent),
        rendered.stem,
        f"hydra.run.dir={run_dir}/app-{time.monotonic_ns()}",
    ]


@dataclass(frozen=True)
class AlgoTimes:
    dry_run: float
    hydra_app: float
    compose_render: float
    nemo_rl_load: float


def measure(algo: str, work: Path, app: Path, repeats: int) -> AlgoTimes:
    """The dry run and the Hydra app alternate, so that both see the same load on the machine."""
    run_dir = work / algo
    run(dry_run_argv(algo, run_dir), work)  # writes the rendered config the app composes
    rendered = next(run_dir.glob("*/nemo_rl.yaml"))
    dry_runs, apps = [], []
    for _ in range(repeats):
        dry_runs.append(median_seconds(lambda: run(dry_run_argv(algo, run_dir), work), 1))
        apps.append(median_seconds(lambda: run(hydra_app_argv(app, rendered, run_dir), work), 1))
    return AlgoTimes(
        dry_run=statistics.median(dry_runs),
        hydra_app=statistics.median(apps),
        compose_render=median_seconds(lambda: compose_render(algo, run_dir), repeats),
        nemo_rl_load=median_seconds(
            lambda: OmegaConf.to_container(OmegaConf.load(rendered), resolve=True), repeats
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    register_resolvers()
    register_schemas()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = work / "minimal_hydra_app.py"
        app.write_text(MINIMAL_HYDRA_APP)
        imports = median_seconds(
            lambda: run([sys.executable, "-c", "import hydra, omegaconf, yaml"], work), repeats
        )
        print(f"baseline imports-only process: {imports * 1000:.0f} ms (median of {repeats})")
        print(
            f"{'algo':<9} {'dry_run ms':>10} {'hydra_app ms':>12} {'x app':>6} {'x imports':>9} "
            f"{'compose+render ms':>18} {'nemo_rl load ms':>15} {'ratio':>6}"
        )
        over_goal = []
        for algo in ALGOS:
            t = measure(algo, work, app, repeats)
            if t.dry_run / t.hydra_app > GOAL_RATIO:
                over_goal.append(algo)
            print(
                f"{algo:<9} {t.dry_run * 1000:>10.0f} {t.hydra_app * 1000:>12.0f} "
                f"{t.dry_run / t.hydra_app:>6.2f} {t.dry_run / imports:>9.2f} "
                f"{t.compose_render * 1000:>18.1f} {t.nemo_rl_load * 1000:>15.1f} "
                f"{t.compose_render / t.nemo_rl_load:>6.1f}"
            )
        if over_goal:
            print(f"over {GOAL_RATIO:g}x the Hydra app: {', '.join(over_goal)}")
        else:
            print(f"every dry run within {GOAL_RATIO:g}x the Hydra app")


if __name__ == "__main__":
    main()
