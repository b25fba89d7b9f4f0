"""How fast the JSONL data check reads a large DPO file, against baselines in the same run.

  python bench/data_preflight.py [--size-mb 1024] [--repeats 3] [--workers N]

Writes a DPO JSONL file of --size-mb MiB to a temporary folder (deleted afterwards): prompts a
few hundred characters long, a quarter of them message lists, one in 200 repeating an earlier
prompt; chosen and rejected responses of 50-250 words; some non-ASCII text. Then times, each run
in its own child process, median of --repeats:
- `data_check`: nemotron_align.preflight.data_check.check_file(path, "preference");
- `json.loads`: a plain `json.loads(line)` loop over the file, checking nothing;
- `datasets`: datasets.load_dataset("json", data_files=path, split="train") into a fresh cache
  folder each run (skipped, with a message, when `datasets` is not installed).
Times exclude interpreter start and imports. CPU s: user + system time of the child and its
workers while timed; on a busy machine it says what idle cores would give. Peak RSS comes from
the child's getrusage: the largest process, and the sum of its own peak and its workers' (an
upper bound for all of them together: forked workers share pages with their parent that this
counts twice).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

METHODS = ["data_check", "json.loads", "datasets"]
SEED = 0
WORDS = 5000
PARAGRAPHS = 3000
DUPLICATE_EVERY = 200


def generate(path: Path, size_bytes: int) -> int:
    """Write DPO rows until the file reaches size_bytes; returns the row count."""
    rng = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(WORDS)]
    words += ["naïve", "café", "数学", "über", "→", "x²", '"quoted"', "back\\slash", "tab\there"]

    def paragraph(low: int, high: int) -> str:
        return " ".join(rng.choices(words, k=rng.randint(low, high)))

    responses = [paragraph(50, 250) for _ in range(PARAGRAPHS)]
    prompts = [paragraph(20, 120) for _ in range(PARAGRAPHS)]
    written = rows = 0
    with path.open("wb") as f:
        while written < size_bytes:
            n = rows - 999 if rows % DUPLICATE_EVERY == 0 and rows >= 1000 else rows
            prompt: str | list[dict[str, str]] = f"Question {n}: {prompts[n % PARAGRAPHS]}"
            if n % 4 == 0:
                prompt = [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": prompt},
                ]
            row = {
                "prompt": prompt,
                "chosen": responses[rows * 7 % PARAGRAPHS],
                "rejected": responses[(rows * 13 + 1) % PARAGRAPHS],
            }
            line = (json.dumps(row, ensure_ascii=False) + "\n").encode()
            f.write(line)
            written += len(line)
            rows += 1
    return rows


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child(method: str, path: str, cache_dir: str, workers: int | None) -> None:
    """Time one method in this process (imports excluded) and print its result as JSON."""
    if method == "data_check":
        from nemotron_align.preflight.data_check import check_file

        def work() -> tuple[int, str]:
            report = check_file(path, "preference", workers=workers)
            return report.rows, report.render().splitlines()[0]

    elif method == "json.loads":

        def work() -> tuple[int, str]:
            rows = 0
            with open(path, "rb") as f:
                for line in f:
                    if line.strip():
                        json.loads(line)
                        rows += 1
            return rows, ""

    else:
        import datasets

        datasets.disable_progress_bars()

        def work() -> tuple[int, str]:
            data = datasets.load_dataset(
                "json", data_files=path, split="train", cache_dir=cache_dir
            )
            return len(data), ""

    cpu_before = cpu_seconds(resource.RUSAGE_SELF)
    start = time.perf_counter()
    rows, summary = work()
    seconds = time.perf_counter() - start
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu_before + cpu_seconds(resource.RUSAGE_CHILDREN)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "rows": rows,
        "rss_largest_kib": max(own, workers_peak),
        "rss_sum_kib": own + workers_peak,
        "summary": summary,
    }
    print(json.dumps(result))


def run_child(method: str, path: Path, work: Path, workers: int | None) -> dict:
    cache = work / "hf_cache"
    env = {
        **os.environ,
        "HF_HOME": str(work / "hf_home"),
        "HF_DATASETS_CACHE": str(cache),
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
    }
    argv = [sys.executable, __file__, "--child", method, str(path), str(cache)]
    if workers is not None:
        argv += ["--workers", str(workers)]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return json.loads(done.stdout.splitlines()[-1])


def measure(
    size_mb: int, repeats: int, methods: list[str], workers: int | None
) -> tuple[int, dict[str, list[dict]]]:
    """Write the file, time each method on it `repeats` times; the file's size in bytes and the
    runs' results per method."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "dpo.jsonl"
        start = time.perf_counter()
        rows = generate(path, size_mb << 20)
        size = path.stat().st_size
        print(
            f"file: {size / 1e9:.2f} GB, {rows:,} DPO rows, written in "
            f"{time.perf_counter() - start:.1f} s; {len(os.sched_getaffinity(0))} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}"
        )
        results: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(repeats):
            for method in methods:
                results[method].append(run_child(method, path, work, workers))
    return size, results


def report(size: int, results: dict[str, list[dict]]) -> None:
    """The table of medians, data_check's speed-up over each baseline, and every time."""
    print(results["data_check"][-1]["summary"])
    print(
        f"{'method':<12} {'median s':>9} {'GB/s':>6} {'CPU s':>6} {'rows':>10} "
        f"{'peak RSS MiB (largest / all processes)':>40}"
    )
    seconds = {}
    for method, runs in results.items():
        seconds[method] = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu_seconds"] for r in runs)
        largest = max(r["rss_largest_kib"] for r in runs) / 1024
        total = max(r["rss_sum_kib"] for r in runs) / 1024
        print(
            f"{method:<12} {seconds[method]:>9.2f} {size / seconds[method] / 1e9:>6.2f} "
            f"{cpu:>6.2f} {runs[0]['rows']:>10,} {largest:>24.0f} / {total:.0f}"
        )
    for baseline in list(results)[1:]:
        ratio = seconds[baseline] / seconds["data_check"]
        print(f"data_check is {ratio:.1f}x faster than {baseline}")
    times = (
        f"{m} " + ", ".join(f"{r['seconds']:.2f}" for r in runs) for m, runs in results.items()
    )
    print("all times (s): " + "; ".join(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None, help="data_check processes")
    parser.add_argument("--child", nargs=3, metavar=("METHOD", "PATH", "CACHE"), help="internal")
    args = parser.parse_args()
    if args.child:
        child(*args.child, workers=args.workers)
        return
    methods = METHODS
    if importlib.util.find_spec("datasets") is None:
        print("datasets is not installed: skipping the datasets.load_dataset column")
        methods = METHODS[:-1]
    size, results = measure(args.size_mb, args.repeats, methods, args.workers)
    report(size, results)


if __name__ == "__main__":
    main()
