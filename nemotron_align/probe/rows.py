"""The rows a reward probe scores: NeMo-Gym rows (`expected_answer`, `responses_create_params`)
and RLVR rows (`input`, `output`), each read with its file:line, and a seeded sample of them."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected
from nemotron_align.io.jsonl import read_json_lines


@dataclass(frozen=True)
class ProbeRow:
    where: str  # file:line
    question: str
    expected: str
    responses_create_params: dict[str, Any]


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


_ROW_SHAPES = (
    "NeMo-Gym rows need responses_create_params.input and expected_answer; RLVR rows need input "
    "and output"
)


def row_from_record(record: Any, where: str) -> ProbeRow:
    if not isinstance(record, dict):
        raise LaunchRejected(
            where, f"is not a JSON object but {type(record).__name__}", _ROW_SHAPES
        )
    if "expected_answer" in record:
        expected, question, params = _gym_row(record, where)
    elif "output" in record:
        expected, question, params = _rlvr_row(record, where)
    else:
        raise LaunchRejected(
            where,
            "has neither expected_answer (NeMo-Gym rows) nor output (RLVR rows)",
            _ROW_SHAPES,
        )
    if isinstance(expected, bool) or not isinstance(expected, str | int | float):
        raise LaunchRejected(
            where,
            f"expected answer is {type(expected).__name__}, not text or a number",
            _ROW_SHAPES,
        )
    if not str(expected).strip():
        raise LaunchRejected(where, "expected answer is empty", _ROW_SHAPES)
    return ProbeRow(where, question, str(expected), params)


def _gym_row(record: dict[str, Any], where: str) -> tuple[Any, str, dict[str, Any]]:
    """(expected answer, question, responses_create_params) of a NeMo-Gym row."""
    params = record.get("responses_create_params")
    if not isinstance(params, dict) or not params.get("input"):
        raise LaunchRejected(
            where, "has expected_answer but no responses_create_params.input", _ROW_SHAPES
        )
    question = record.get("question")
    if not isinstance(question, str) or not question:
        question = _prompt_text(params["input"])
    return record["expected_answer"], question, params


def _rlvr_row(record: dict[str, Any], where: str) -> tuple[Any, str, dict[str, Any]]:
    """(expected answer, question, responses_create_params) of an RLVR row."""
    question = record.get("input")
    if not isinstance(question, str) or not question:
        raise LaunchRejected(where, "has output but no input text", _ROW_SHAPES)
    return record["output"], question, {"input": [{"role": "user", "content": question}]}


def read_rows(path: Path) -> list[ProbeRow]:
    if not path.is_file():
        raise LaunchRejected(str(path), "no such file", "give the path of a JSONL data file")
    rows = [row_from_record(record, f"{path}:{n}") for n, record in read_json_lines(path)]
    if not rows:
        raise LaunchRejected(str(path), "has no rows", "give a JSONL file with at least one row")
    return rows


def sample_rows(rows: Sequence[ProbeRow], n: int, seed: int = 0) -> list[ProbeRow]:
    """n rows chosen by `seed` alone (all rows when there are no more than n), in file order."""
    if n >= len(rows):
        return list(rows)
    picked = random.Random(seed).sample(range(len(rows)), n)
    return [rows[i] for i in sorted(picked)]
