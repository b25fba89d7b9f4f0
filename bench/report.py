"""How long `python -m nemotron_align.report` takes on a big sweep, against TensorBoard's plain
EventAccumulator reading the same events, measured in the same run.

  python bench/report.py [--jobs 64] [--steps 1000] [--repeats 3]

Generated once into a temporary folder: a DPO sweep of `--jobs` jobs, each with `job.json`,
`nemo_rl.yaml` and three checkpoints as a real sweep has them, listed in `sweep.json`; each job's
`logs/exp_001/tensorboard/` holds one event per scalar (as NeMo-RL's SummaryWriter writes them):
20 train/timing scalars every step and 9 validation scalars every 10 steps, for `--steps` steps.
Measured, alternating so both see the same load:
- `report`: the whole `python -m nemotron_align.report <sweep>` (a fresh process: imports, the
  table, report.json/csv and report.png);
- `accumulator`: in this process, for every event folder, `EventAccumulator(...).Reload()` and
  `Scalars(tag)` of every tag (no imports paid, nothing reported).
Goal: report under 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

GOAL_S = 5.0
BETA_KEY = "dpo.reference_policy_kl_penalty"
VAL_PERIOD = 10
TRAIN_TAGS = [
    *(
        f"train/{name}"
        for name in (
            "loss",
            "accuracy",
            "grad_norm",
            "lr",
            "wd",
            "rewards_chosen_mean",
            "rewards_rejected_mean",
            "num_valid_samples",
            "global_valid_seqs",
            "global_valid_toks",
            "sft_loss",
            "preference_loss",
            "mean_prompt_length",
            "total_num_tokens",
        )
    ),
    *(
        f"timing/train/{name}"
        for name in (
            "total_step_time",
            "policy_training",
            "data_processing",
            "logprob_inference",
            "checkpointing",
        )
    ),
    "performance/tokens_per_sec",
]
VALIDATION_TAGS = [
    *(
        f"validation-default/{name}"
        for name in (
            "loss",
            "accuracy",
            "rewards_chosen_mean",
            "rewards_rejected_mean",
            "num_valid_samples",
            "global_valid_seqs",
            "global_valid_toks",
        )
    ),
    "timing/validation-default/total_validation_time",
    "timing/validation/total_validation_time",
]


def beta(job: int) -> float:
    return round(0.01 * (job + 1), 2)


def validation_loss(job: int, step: int) -> float:
    return 0.3 + (beta(job) - 0.1) ** 2 + 1 / (step + 1)


def job_config(job_dir: Path, job: int) -> dict:
    return {
        "dpo": {BETA_KEY.split(".")[1]: beta(job), "val_period": VAL_PERIOD},
        "checkpointing": {
            "enabled": True,
            "checkpoint_dir": str(job_dir / "checkpoints"),
            "metric_name": "val:validation-default_loss",
            "higher_is_better": False,
            "keep_top_k": 3,
        },
        "logger": {"log_dir": str(job_dir / "logs"), "tensorboard_enabled": True},
    }


def write_job(args: tuple[Path, int, int]) -> dict:
    sweep, job, steps = args
    job_dir = sweep / str(job)
    (job_dir / "logs").mkdir(parents=True)
    (job_dir / "nemo_rl.yaml").write_text(yaml.safe_dump(job_config(job_dir, job)))
    writer = EventFileWriter(str(job_dir / "logs" / "exp_001" / "tensorboard"), 1 << 16)
    for step in range(1, steps + 1):
        tags = TRAIN_TAGS + (VALIDATION_TAGS if step % VAL_PERIOD == 0 else [])
        for i, tag in enumerate(tags):
            value = validation_loss(job, step) if tag == VALIDATION_TAGS[0] else i + 1 / step
            summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
            writer.add_event(Event(wall_time=time.time(), step=step, summary=summary))
    writer.close()
    for step in (steps - 2 * VAL_PERIOD, steps - VAL_PERIOD, steps):
        checkpoint = job_dir / "checkpoints" / f"step_{step}"
        (checkpoint / "policy" / "weights").mkdir(parents=True)
        loss = validation_loss(job, step)
        info = {"step": step, "val:validation-default_loss": loss}
        (checkpoint / "training_info.json").write_text(json.dumps(info))
    record = {
        "job": job,
        "overrides": [f"{BETA_KEY}={beta(job)}", "algo=dpo", "data=tiny"],
        "job_folder": str(job_dir),
        "exit_code": 0,
        "duration_s": 3600.0,
        "error": None,
        "status": "succeeded",
    }
    (job_dir / "job.json").write_text(json.dumps(record, indent=2))
    return record


def generate(sweep: Path, jobs: int, steps: int) -> None:
    with multiprocessing.Pool() as pool:
        records = pool.map(write_job, [(sweep, job, steps) for job in range(jobs)])
    (sweep / "sweep.json").write_text(json.dumps(records, indent=2))


def time_report(sweep: Path, out: Path) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nemotron_align.report", str(sweep), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def time_accumulator(sweep: Path) -> float:
    start = time.perf_counter()
    for folder in sorted({p.parent for p in sweep.rglob("*tfevents*")}):
        events = EventAccumulator(str(folder), size_guidance={SCALARS: 0})
        events.Reload()
        for tag in events.Tags()[SCALARS]:
            events.Scalars(tag)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_report_") as tmp:
        sweep, out = Path(tmp) / "sweep", Path(tmp) / "out"
        start = time.perf_counter()
        generate(sweep, args.jobs, args.steps)
        events = args.steps * len(TRAIN_TAGS) + args.steps // VAL_PERIOD * len(VALIDATION_TAGS)
        size = sum(p.stat().st_size for p in sweep.rglob("*tfevents*")) / 2**20
        print(
            f"generated {args.jobs} jobs x {args.steps} steps ({events} scalars per job, "
            f"{size:.0f} MiB of events) in {time.perf_counter() - start:.1f} s"
        )
        reports, accumulators = [], []
        for _ in range(args.repeats):
            reports.append(time_report(sweep, out))
            accumulators.append(time_accumulator(sweep))
        report, accumulator = statistics.median(reports), statistics.median(accumulators)
        best = json.loads((out / "report.json").read_text())["best_job"]
        print(f"report (whole CLI, best job {best}): {report:.2f} s (median of {args.repeats})")
        print(f"EventAccumulator, every tag:          {accumulator:.2f} s")
        print(f"ratio accumulator / report: {accumulator / report:.1f}x")
        print(f"goal report < {GOAL_S:g} s: {'met' if report < GOAL_S else 'MISSED'}")


if __name__ == "__main__":
    main()
