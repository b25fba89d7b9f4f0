"""Reward probe: validate rewards before scale.

Takes a few rows of the run's own data (NeMo-Gym rows: `expected_answer` and
`responses_create_params`; RLVR rows: `input` and `output`), answers each twice, once with the
row's own expected answer (`\\boxed{<expected>}`, known good) and once with an answer that cannot
be equivalent (known wrong), and scores both with the verifier the run will use. Every good answer
must score 1.0 and every wrong one 0.0; otherwise the launch is refused, naming the rows.

Two modes: `gym` starts NeMo-Gym's math_with_judge resources server (judge off) and POSTs
/verify to it; `math-verify` scores in-process with the math-verify package, the verifier behind
both NeMo-RL's math environment and math_with_judge. `auto` takes `gym` when the interpreter
given for Gym has nemo-gym, else `math-verify`.

    python -m nemotron_align.probe.reward data/train.jsonl [--n 8] [--mode auto|gym|math-verify]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from nemotron_align.config.launch_schema import ProbeMode
from nemotron_align.errors import LaunchRejected, exit_status
from nemotron_align.probe.gym_verifier import (
    READY_TIMEOUT_S,
    REQUEST_TIMEOUT_S,
    GymAvailability,
    gym_availability,
)
from nemotron_align.probe.rows import ProbeRow, read_rows, sample_rows
from nemotron_align.probe.scoring import (
    GymScorer,
    MathVerifyScorer,
    ProbeResult,
    math_verify_available,
    score_rows,
)
from nemotron_align.probe.verdict import format_table, reject_if_failed

DEFAULT_ROWS = 8


def choose_mode(mode: ProbeMode, gym_python: str) -> tuple[ProbeMode, GymAvailability | None]:
    """The mode to run and, for gym, what the Gym interpreter offers."""
    if mode is ProbeMode.math_verify:
        if not math_verify_available():
            raise LaunchRejected(
                "reward probe",
                f"math-verify is not installed in {sys.executable}",
                "pip install 'nemotron-align[probe]' (or math-verify)",
            )
        return mode, None
    availability = gym_availability(gym_python)
    if availability.ok:
        return ProbeMode.gym, availability
    if mode is ProbeMode.gym:
        raise LaunchRejected(
            "reward probe",
            f"NeMo-Gym's math_with_judge server cannot run: {availability.why_not()}",
            "in Python >= 3.12: pip install 'nemotron-align[gym]', and pass that interpreter "
            "as --gym-python; or use --mode math-verify",
        )
    if math_verify_available():
        return ProbeMode.math_verify, None
    raise LaunchRejected(
        "reward probe",
        f"no verifier to probe with: {availability.why_not()}, and math-verify is not "
        f"installed in {sys.executable}",
        "pip install 'nemotron-align[probe]' for the in-process probe, or nemo-gym in "
        "Python >= 3.12 ('nemotron-align[gym]') for the real server",
    )


def run_probe(
    paths: Sequence[Path],
    n: int = DEFAULT_ROWS,
    seed: int = 0,
    mode: ProbeMode = ProbeMode.auto,
    gym_python: str | None = None,
    out: TextIO | None = None,
    ready_timeout_s: float = READY_TIMEOUT_S,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
) -> ProbeResult:
    """Sample n rows per file, score a good and a wrong answer for each, print the table.

    Returns the result; `reject_if_failed` turns a failing one into a refused launch.
    """
    rows = [row for path in paths for row in sample_rows(read_rows(Path(path)), n, seed)]
    chosen, availability = choose_mode(mode, gym_python or sys.executable)
    if chosen is ProbeMode.gym:
        assert availability is not None
        result, timing = _score_on_gym_server(
            rows, availability, ready_timeout_s, request_timeout_s
        )
    else:
        started = time.monotonic()
        result = score_rows(rows, MathVerifyScorer())
        timing = f"scored in {time.monotonic() - started:.1f} s"
    print(f"{format_table(result)} ({timing})", file=out or sys.stdout)
    return result


def _score_on_gym_server(
    rows: list[ProbeRow],
    availability: GymAvailability,
    ready_timeout_s: float,
    request_timeout_s: float,
) -> tuple[ProbeResult, str]:
    """(result, timing) of scoring on a math_with_judge server started for it."""
    # Imported here: process-tree handling (psutil) is needed by this mode only.
    from nemotron_align.probe.gym_server import running_gym_server

    started = time.monotonic()
    with running_gym_server(
        availability.python, ready_timeout_s=ready_timeout_s, request_timeout_s=request_timeout_s
    ) as server:
        ready = time.monotonic()
        result = score_rows(rows, GymScorer(server.client, availability))
        scored = time.monotonic()
    return result, f"server up in {ready - started:.1f} s, scored in {scored - ready:.1f} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nemotron_align.probe.reward",
        description="Check that the verifier gives known-good answers 1.0 and wrong ones 0.0.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="JSONL files (NeMo-Gym or RLVR rows)")
    parser.add_argument("--n", type=int, default=DEFAULT_ROWS, help="rows sampled per file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mode",
        type=ProbeMode,
        choices=list(ProbeMode),
        default=ProbeMode.auto,
        metavar="{auto,gym,math-verify}",
    )
    parser.add_argument(
        "--gym-python", default=None, help="interpreter with nemo-gym (default: this one)"
    )
    parser.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT_S)
    parser.add_argument("--request-timeout", type=float, default=REQUEST_TIMEOUT_S)
    args = parser.parse_args(argv)
    return exit_status(
        lambda: reject_if_failed(
            run_probe(
                args.paths,
                n=args.n,
                seed=args.seed,
                mode=args.mode,
                gym_python=args.gym_python,
                ready_timeout_s=args.ready_timeout,
                request_timeout_s=args.request_timeout,
            )
        )
    )


if __name__ == "__main__":
    sys.exit(main())
