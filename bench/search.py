"""What the search buys and what it costs, through the real CLI on the stand-in NeMo-RL (whose DPO
validation loss is 0.3 + (beta - 0.1)^2 + 1/(step + 1): the best beta is 0.1).

  python bench/search.py [--seeds 10] [--trials 12] [--jobs 2]

- Quality: for each seed, a study of `--trials` trials over log-uniform beta in [0.01, 0.5] with
  TPE and one with random search (the same seed): how often the best trial's beta is within 10%
  of 0.1, and its mean distance from it. Baseline: random search.
- Cost: the wall time of a TPE study against a plain Hydra multirun (basic sweeper) of the same
  number of jobs on the same data, measured in the same run: what asking, checking each point,
  reading the metrics and telling Optuna add per trial.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
STAND_IN = REPO / "tests" / "stand_in_nemo_rl"
BEST_BETA = 0.1
BETA_KEY = "dpo.reference_policy_kl_penalty"


def _cli(args: list[str], cwd: Path) -> float:
    env = {**os.environ, "NEMO_RL_ROOT": str(STAND_IN), "STAND_IN_TRAIN_STEPS": "3"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "nemotron_align", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def _study(folder: Path, sampler: str, seed: int, trials: int, jobs: int) -> tuple[float, float]:
    """(best beta, seconds) of one study."""
    from nemotron_align.records.study_record import load_study

    took = _cli(
        [
            "search=dpo_beta",
            "data=tiny",
            f"hydra.sweep.dir={folder}",
            f"hydra.sweeper.sampler={sampler}",
            f"hydra.sweeper.seed={seed}",
            f"hydra.sweeper.n_trials={trials}",
            f"hydra.sweeper.n_jobs={jobs}",
        ],
        folder.parent,
    )
    study = load_study(folder)
    assert study is not None
    return study.best_params[BETA_KEY], took


def _grid(folder: Path, trials: int) -> float:
    betas = ",".join(f"{0.01 * (i + 1):.2f}" for i in range(trials))
    return _cli(
        ["-m", "algo=dpo", "data=tiny", f"{BETA_KEY}={betas}", f"hydra.sweep.dir={folder}"],
        folder.parent,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    found: dict[str, list[float]] = {"tpe": [], "random": []}
    study_s, grid_s = [], []
    with tempfile.TemporaryDirectory(prefix="bench_search_") as tmp:
        for seed in range(args.seeds):
            for sampler in found:
                beta, took = _study(
                    Path(tmp) / f"{sampler}{seed}", sampler, seed, args.trials, args.jobs
                )
                found[sampler].append(beta)
                if sampler == "tpe":
                    study_s.append(took)
            grid_s.append(_grid(Path(tmp) / f"grid{seed}", args.trials))
            print(f"seed {seed}: tpe {found['tpe'][-1]:.4f}  random {found['random'][-1]:.4f}")
    hits = {s: sum(abs(b - BEST_BETA) <= 0.1 * BEST_BETA for b in found[s]) for s in found}
    print(f"\n{args.trials} trials, {args.jobs} at a time, {args.seeds} seeds:")
    for sampler, betas in found.items():
        distance = statistics.mean(abs(b - BEST_BETA) for b in betas)
        print(
            f"  {sampler:<6} best beta within 10% of 0.1: {hits[sampler]}/{args.seeds}"
            f"  mean |beta - 0.1| {distance:.4f}"
        )
    print(f"  tpe hits / random hits: {hits['tpe'] / max(hits['random'], 1):.2f}x")
    study, grid = statistics.median(study_s), statistics.median(grid_s)
    print(
        f"cost: a {args.trials}-trial study {study:.1f} s vs a {args.trials}-job grid multirun "
        f"{grid:.1f} s (median): {study / grid:.2f}x, "
        f"{(study - grid) / args.trials:.2f} s more per trial"
    )


if __name__ == "__main__":
    main()
