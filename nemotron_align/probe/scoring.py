"""Scoring the good and the wrong answer of each row with the verifier the run will use:
math-verify in this process, or NeMo-Gym's math_with_judge server over /verify."""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from nemotron_align.probe.answers import good_answer, wrong_answer
from nemotron_align.probe.gym_verifier import GymAvailability, GymVerifyClient, Score
from nemotron_align.probe.rows import ProbeRow


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
