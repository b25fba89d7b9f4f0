"""Preflighting a 64-job Slurm sweep on the login node, against 64 single dry runs.

  python bench/sweep_preflight.py [--repeats N]

The sweep: algo=rlvr data=tiny, 8 KL coefficients (β, loss_fn.reference_policy_kl_penalty) x
8 GRPO group sizes (grpo.num_generations_per_prompt), with `cluster=slurm launch.dry_run=true`:
every job is composed, checked and rendered into its run folder, and the sbatch script printed,
in one process. The baseline, measured in the same run: one single job of that sweep as its own
dry run (one process start, as a per-job launcher would pay), median of N, times 64.
Goal: ratio <= 0.15 and the sweep under 15 s on the 2-core CI machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BETAS = [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
# Multiples of 8, so that 4 prompts x group fill the 8-GPU data-parallel batch of the tiny config.
GROUPS = [8, 16, 24, 32, 40, 48, 56, 64]
COMMON = ["cluster=slurm", "launch.dry_run=true", "algo=rlvr", "data=tiny"]
GOAL_RATIO = 0.15
GOAL_S = 15.0


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{argv} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    cli = [sys.executable, "-m", "nemotron_align", *COMMON]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        single = statistics.median(
            timed(
                [
                    *cli,
                    f"grpo.num_generations_per_prompt={GROUPS[0]}",
                    f"hydra.sweep.dir={work}/s{i}",
                ],
                work,
            )
            for i in range(repeats)
        )
        sweep = timed(
            [
                *cli,
                "loss_fn.reference_policy_kl_penalty=" + ",".join(map(str, BETAS)),
                "grpo.num_generations_per_prompt=" + ",".join(map(str, GROUPS)),
                f"hydra.sweep.dir={work}/sweep",
            ],
            work,
        )
        jobs = len(list((work / "sweep").glob("*/nemo_rl.yaml")))
    baseline = single * len(BETAS) * len(GROUPS)
    ratio = sweep / baseline
    print(f"single dry run (median of {repeats}): {single:.2f} s; x64 baseline: {baseline:.1f} s")
    print(f"64-job sweep, one process: {sweep:.2f} s for {jobs} rendered jobs")
    print(
        f"ratio {ratio:.3f} (goal <= {GOAL_RATIO}: {'met' if ratio <= GOAL_RATIO else 'MISSED'}); "
        f"sweep {sweep:.1f} s (goal < {GOAL_S:.0f} s: {'met' if sweep < GOAL_S else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
