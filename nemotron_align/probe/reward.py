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
import importlib.metadata
import importlib.util
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, TextIO

from nemotron_align.config.launch_schema import ProbeMode
from nemotron_align.errors import EXIT_REJECTED, LaunchRejected, LaunchRejectedMany
from nemotron_align.probe.gym_verifier import (
    READY_TIMEOUT_S,
    REQUEST_TIMEOUT_S,
    GymAvailability,
    GymVerifyClient,
    Score,
    gym_availability,
    running_gym_server,
)

DEFAULT_ROWS = 8
# The wrong answer for anything that is not a plain number or a single letter: a negative
# non-integer no symbolic, textual or set-valued answer equals.
WRONG_SENTINEL = "-987654.5"
TABLE_CELL_WIDTH = 24


@dataclass(frozen=True)
class ProbeRow:
    where: str  # file:line
    question: str
    expected: str
    responses_create_params: dict[str, Any]


@dataclass(frozen=True)
class ProbeOutcome:
    row: ProbeRow
    good_answer: str
    good: Score
    wrong_answer: str
    wrong: Score

    @property
    def good_ok(self) -> bool:
        return self.good.reward == 1.0

    @property
    def wrong_ok(self) -> bool:
        return self.wrong.reward == 0.0

    @property
    def ok(self) -> bool:
        return self.good_ok and self.wrong_ok


@dataclass
class ProbeResult:
    mode: str
    outcomes: list[ProbeOutcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.ok for o in self.outcomes)

    @property
    def failures(self) -> list[ProbeOutcome]:
        return [o for o in self.outcomes if not o.ok]


class Scorer(Protocol):
    description: str

    def score(self, row: ProbeRow, answer: str) -> Score: ...


# ---- rows


def _prompt_text(prompt: Any) -> str:
    """The last user message of a Responses `input` (a string or a list of messages)."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        for message in reversed(prompt):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, list):
                    return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
                return str(content or "")
    return ""


def row_from_record(record: Any, where: str) -> ProbeRow:
    def reject(problem: str) -> LaunchRejected:
        return LaunchRejected(
            where,
            problem,
            "NeMo-Gym rows need responses_create_params.input and expected_answer; RLVR rows "
            "need input and output",
        )

    if not isinstance(record, dict):
        raise reject(f"is not a JSON object but {type(record).__name__}")
    if "expected_answer" in record:
        expected = record["expected_answer"]
        params = record.get("responses_create_params")
        if not isinstance(params, dict) or not params.get("input"):
            raise reject("has expected_answer but no responses_create_params.input")
        question = record.get("question")
        if not isinstance(question, str) or not question:
            question = _prompt_text(params["input"])
    elif "output" in record:
        expected = record["output"]
        question = record.get("input")
        if not isinstance(question, str) or not question:
            raise reject("has output but no input text")
        params = {"input": [{"role": "user", "content": question}]}
    else:
        raise reject("has neither expected_answer (NeMo-Gym rows) nor output (RLVR rows)")
    if isinstance(expected, bool) or not isinstance(expected, str | int | float):
        raise reject(f"expected answer is {type(expected).__name__}, not text or a number")
    if not str(expected).strip():
        raise reject("expected answer is empty")
    return ProbeRow(where, question, str(expected), params)


def read_rows(path: Path) -> list[ProbeRow]:
    if not path.is_file():
        raise LaunchRejected(str(path), "no such file", "give the path of a JSONL data file")
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise LaunchRejected(
                    where, f"is not JSON: {err.msg}", "one JSON object per line"
                ) from err
            rows.append(row_from_record(record, where))
    if not rows:
        raise LaunchRejected(str(path), "has no rows", "give a JSONL file with at least one row")
    return rows


def sample_rows(rows: Sequence[ProbeRow], n: int, seed: int = 0) -> list[ProbeRow]:
    """n rows chosen by `seed` alone (all rows when there are no more than n), in file order."""
    if n >= len(rows):
        return list(rows)
    picked = random.Random(seed).sample(range(len(rows)), n)
    return [rows[i] for i in sorted(picked)]


# ---- answers


def strip_math_delimiters(text: str) -> str:
    """Drop outer \\( \\) or $ $, as math_with_judge does before boxing the expected answer."""
    text = text.strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        text = text[2:-2].strip()
    if text.startswith("$") and text.endswith("$") and len(text) > 1:
        text = text[1:-1].strip()
    return text


_DECIMAL = re.compile(r"\d+(\.\d*)?|\.\d+")
_SLASH = re.compile(r"(\d+)\s*/\s*(\d+)")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}")
_LETTER = re.compile(r"\(?([A-Za-z])\)?")


def as_number(text: str) -> Fraction | None:
    """The exact value of a plain number: 42, -3.5, 3/4, \\frac{3}{4}; None for anything else."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-").strip()
    if _DECIMAL.fullmatch(body):
        return sign * Fraction(body)
    fraction = _SLASH.fullmatch(body) or _FRAC.fullmatch(body)
    if fraction and int(fraction.group(2)) != 0:
        return sign * Fraction(int(fraction.group(1)), int(fraction.group(2)))
    return None


def _latex_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def good_answer(expected: str) -> str:
    return f"\\boxed{{{strip_math_delimiters(expected)}}}"


def wrong_answer(expected: str) -> str:
    """An answer no verifier may accept for `expected`.

    A number x gets 2|x| + 7: never equal to x, and at least 7 and 100% away from it, so no
    rounding tolerance can match them. A single letter (a multiple-choice answer, a variable)
    gets the next letter. Anything else gets a fixed negative non-integer.
    """
    stripped = strip_math_delimiters(expected)
    value = as_number(stripped)
    if value is not None:
        return f"\\boxed{{{_latex_number(2 * abs(value) + 7)}}}"
    letter = _LETTER.fullmatch(stripped)
    if letter:
        char = letter.group(1)
        base = ord("A") if char.isupper() else ord("a")
        return f"\\boxed{{{chr(base + (ord(char) - base + 1) % 26)}}}"
    return f"\\boxed{{{WRONG_SENTINEL}}}"


# ---- scorers


def math_verify_available() -> bool:
    return importlib.util.find_spec("math_verify") is not None


class MathVerifyScorer:
    """math-verify in this process, called as NeMo-RL's math environment and math_with_judge do:
    the expected answer boxed as the gold, LaTeX or plain expressions extracted from the answer.
    math-verify bounds each parse and comparison with its own timeout."""

    def __init__(self) -> None:
        from math_verify.errors import TimeoutException
        from math_verify.metric import math_metric
        from math_verify.parser import ExprExtractionConfig, LatexExtractionConfig

        # math-verify's timeout derives from BaseException, so name it to catch it.
        self._failures: tuple[type[BaseException], ...] = (Exception, TimeoutException)

        self._verify = math_metric(
            gold_extraction_target=(LatexExtractionConfig(),),
            pred_extraction_target=(ExprExtractionConfig(), LatexExtractionConfig()),
        )
        version = importlib.metadata.version("math-verify")
        self.description = f"in-process math-verify {version}"

    def score(self, row: ProbeRow, answer: str) -> Score:
        gold = good_answer(row.expected)
        try:
            reward, extracted = self._verify([gold], [answer])
        except self._failures:
            return Score(0.0, None)
        predictions = extracted[1] if extracted else []
        return Score(float(reward), str(predictions[0]) if predictions else None)


class GymScorer:
    def __init__(self, client: GymVerifyClient, availability: GymAvailability) -> None:
        self._client = client
        self.description = (
            f"NeMo-Gym {availability.gym_version} math_with_judge server, judge off "
            f"(Python {availability.python_version}, {client.base_url})"
        )

    def score(self, row: ProbeRow, answer: str) -> Score:
        return self._client.verify(row.question, row.expected, row.responses_create_params, answer)


def score_rows(rows: Sequence[ProbeRow], scorer: Scorer) -> ProbeResult:
    result = ProbeResult(scorer.description)
    for row in rows:
        good, wrong = good_answer(row.expected), wrong_answer(row.expected)
        result.outcomes.append(
            ProbeOutcome(row, good, scorer.score(row, good), wrong, scorer.score(row, wrong))
        )
    return result


# ---- report and verdict


def _cell(text: str, width: int = TABLE_CELL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(result: ProbeResult) -> str:
    header = ("row", "expected", "good answer", "reward", "wrong answer", "reward", "verdict")
    body = [
        (
            Path(o.row.where).name,
            _cell(o.row.expected),
            _cell(o.good_answer),
            f"{o.good.reward:.1f}",
            _cell(o.wrong_answer),
            f"{o.wrong.reward:.1f}",
            "ok" if o.ok else "FAIL",
        )
        for o in result.outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"reward probe: {result.mode}"]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *body]
    ]
    failed = len(result.failures)
    lines.append(
        f"{len(result.outcomes) - failed}/{len(result.outcomes)} rows ok"
        + ("" if result.ok else f", {failed} FAILED")
    )
    return "\n".join(line.rstrip() for line in lines)


def reject_if_failed(result: ProbeResult) -> None:
    """Refuse the launch, naming each row whose good answer missed 1.0 or wrong one missed 0.0."""
    if not result.outcomes:
        raise LaunchRejected("reward probe", "no rows were scored", "give rows to probe")
    problems = []
    for o in result.failures:
        what, fixes = [], []
        if not o.good_ok:
            what.append(
                f"its own expected answer {o.good_answer} scored {o.good.reward:g}, not 1.0 "
                f"(verifier extracted {o.good.extracted!r})"
            )
            fixes.append(
                "write the expected answer so the verifier parses it (a bare number or LaTeX "
                "expression, no surrounding words or units), or fix the verifier's config"
            )
        if not o.wrong_ok:
            what.append(
                f"the wrong answer {o.wrong_answer} scored {o.wrong.reward:g}, not 0.0 "
                f"(verifier extracted {o.wrong.extracted!r})"
            )
            fixes.append(
                "the verifier rewards wrong answers: check the reward setup (e.g. a judge that "
                "accepts everything, or a reward that ignores the answer) before training"
            )
        problems.append(
            LaunchRejected(
                o.row.where, f"reward probe ({result.mode}): " + "; ".join(what), "; ".join(fixes)
            )
        )
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise LaunchRejectedMany(problems)


# ---- running it


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
    started = time.monotonic()
    if chosen is ProbeMode.gym:
        assert availability is not None
        with running_gym_server(
            availability.python,
            ready_timeout_s=ready_timeout_s,
            request_timeout_s=request_timeout_s,
        ) as server:
            ready = time.monotonic()
            result = score_rows(rows, GymScorer(server.client, availability))
            scored = time.monotonic()
        timing = f"server up in {ready - started:.1f} s, scored in {scored - ready:.1f} s"
    else:
        result = score_rows(rows, MathVerifyScorer())
        timing = f"scored in {time.monotonic() - started:.1f} s"
    print(f"{format_table(result)} ({timing})", file=out or sys.stdout)
    return result


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
    try:
        result = run_probe(
            args.paths,
            n=args.n,
            seed=args.seed,
            mode=args.mode,
            gym_python=args.gym_python,
            ready_timeout_s=args.ready_timeout,
            request_timeout_s=args.request_timeout,
        )
        reject_if_failed(result)
    except LaunchRejected as err:
        print(err.render(), file=sys.stderr)
        return EXIT_REJECTED
    return 0


if __name__ == "__main__":
    sys.exit(main())
