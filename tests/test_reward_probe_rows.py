"""The reward probe's rows, answers, table and verdict, with a fixed scorer."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from reward_probe_support import GYM_ROWS, RLVR_ROWS

from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.probe.answers import WRONG_SENTINEL, as_number, good_answer, wrong_answer
from nemotron_align.probe.gym_verifier import Score
from nemotron_align.probe.rows import ProbeRow, read_rows, row_from_record, sample_rows
from nemotron_align.probe.scoring import ProbeResult, score_rows
from nemotron_align.probe.verdict import format_table, reject_if_failed


def rlvr_row(expected: str, where: str = "rows.jsonl:1") -> ProbeRow:
    return row_from_record({"input": "Q?", "output": expected}, where)


class FixedScorer:
    """Scores every good answer `good` and every wrong one `wrong`."""

    description = "fixed scores"

    def __init__(self, good: float, wrong: float) -> None:
        self.good, self.wrong = good, wrong

    def score(self, row: ProbeRow, answer: str) -> Score:
        return Score(self.good if answer == good_answer(row.expected) else self.wrong, None)


# ---- rows


def test_gym_and_rlvr_rows_are_read_with_file_and_line() -> None:
    gym = read_rows(GYM_ROWS)
    assert gym[0].where == f"{GYM_ROWS}:1"
    assert (gym[0].question, gym[0].expected) == ("What is 2 + 3?", "5")
    assert gym[0].responses_create_params["input"][0]["role"] == "user"
    rlvr = read_rows(RLVR_ROWS)
    assert rlvr[6].where == f"{RLVR_ROWS}:7"
    assert rlvr[6].expected == "\\frac{3}{4}"
    assert rlvr[6].responses_create_params == {
        "input": [{"role": "user", "content": "What is 1/2 + 1/4? Give a fraction."}]
    }


def test_gym_row_without_question_uses_its_prompt() -> None:
    record = {
        "responses_create_params": {"input": [{"role": "user", "content": "What is 1 + 1?"}]},
        "expected_answer": 2,
    }
    row = row_from_record(record, "f.jsonl:3")
    assert (row.question, row.expected) == ("What is 1 + 1?", "2")


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"prompt": "x"}, "neither expected_answer"),
        ({"expected_answer": "1"}, "no responses_create_params.input"),
        ({"output": "1"}, "no input text"),
        ({"input": "Q?", "output": "  "}, "empty"),
        ({"input": "Q?", "output": ["1"]}, "not text or a number"),
        (["not", "a", "dict"], "not a JSON object"),
    ],
)
def test_unusable_rows_are_rejected_at_their_line(record: object, problem: str) -> None:
    with pytest.raises(LaunchRejected) as err:
        row_from_record(record, "data.jsonl:4")
    assert err.value.where == "data.jsonl:4"
    assert problem in err.value.problem


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"input": "Q?", "output": "1"}\n\n{oops\n')
    with pytest.raises(LaunchRejected) as err:
        read_rows(path)
    assert err.value.where == f"{path}:3"


def test_sampling_is_deterministic_subset_in_file_order() -> None:
    rows = read_rows(GYM_ROWS)
    first = sample_rows(rows, 3, seed=7)
    assert first == sample_rows(rows, 3, seed=7)
    assert len(first) == 3
    assert [rows.index(r) for r in first] == sorted(rows.index(r) for r in first)
    assert {tuple(r.where for r in sample_rows(rows, 3, seed=s)) for s in range(10)} != {
        tuple(r.where for r in first)
    }
    assert sample_rows(rows, 100) == rows


# ---- answers


@pytest.mark.parametrize(
    ("expected", "value"),
    [
        ("42", Fraction(42)),
        ("-3", Fraction(-3)),
        ("+0.5", Fraction(1, 2)),
        (".25", Fraction(1, 4)),
        ("3/4", Fraction(3, 4)),
        ("-\\frac{3}{4}", Fraction(-3, 4)),
        ("\\dfrac{10}{4}", Fraction(5, 2)),
        ("x^2", None),
        ("1/0", None),
        ("\\sqrt{2}", None),
    ],
)
def test_plain_numbers_are_read_exactly(expected: str, value: Fraction | None) -> None:
    assert as_number(expected) == value


@pytest.mark.parametrize(
    ("expected", "wrong"),
    [
        ("5", "\\boxed{17}"),
        ("0", "\\boxed{7}"),
        ("-3", "\\boxed{13}"),
        ("0.5", "\\boxed{8}"),
        ("\\frac{3}{4}", "\\boxed{\\frac{17}{2}}"),
        ("\\(\\frac{333}{1997}\\)", "\\boxed{\\frac{14645}{1997}}"),
        ("$-2.5$", "\\boxed{12}"),
        ("A", "\\boxed{B}"),
        ("(C)", "\\boxed{D}"),
        ("Z", "\\boxed{A}"),
        ("x", "\\boxed{y}"),
        ("x^2+1", f"\\boxed{{{WRONG_SENTINEL}}}"),
        ("\\text{Monday}", f"\\boxed{{{WRONG_SENTINEL}}}"),
        ("\\(\\sqrt{2}\\)", f"\\boxed{{{WRONG_SENTINEL}}}"),
    ],
)
def test_wrong_answer_cannot_equal_the_expected_one(expected: str, wrong: str) -> None:
    assert wrong_answer(expected) == wrong
    value, wrong_value = as_number(expected.strip("$")), as_number(wrong[7:-1])
    if value is not None:
        assert wrong_value is not None
        assert abs(wrong_value - value) >= 7
        assert abs(wrong_value - value) >= abs(value)


def test_good_answer_boxes_the_expected_one_without_delimiters() -> None:
    assert good_answer("5") == "\\boxed{5}"
    assert good_answer("\\(\\frac{1}{2}\\)") == "\\boxed{\\frac{1}{2}}"
    assert good_answer(" $x^2$ ") == "\\boxed{x^2}"


# ---- table and verdict


def test_table_shows_every_row_and_its_verdict() -> None:
    rows = [rlvr_row("5", "a.jsonl:1"), rlvr_row("\\frac{3}{4}", "a.jsonl:2")]
    table = format_table(score_rows(rows, FixedScorer(good=1.0, wrong=0.0)))
    lines = table.splitlines()
    assert lines[0] == "reward probe: fixed scores"
    assert lines[1].split() == [
        "row", "expected", "good", "answer", "reward", "wrong", "answer", "reward", "verdict",
    ]  # fmt: skip
    assert lines[2].split() == ["a.jsonl:1", "5", "\\boxed{5}", "1.0", "\\boxed{17}", "0.0", "ok"]
    assert lines[-1] == "2/2 rows ok"
    failing = format_table(score_rows(rows, FixedScorer(good=1.0, wrong=1.0)))
    assert failing.splitlines()[2].endswith("FAIL")
    assert failing.splitlines()[-1] == "0/2 rows ok, 2 FAILED"


def test_passing_probe_is_not_rejected() -> None:
    result = score_rows([rlvr_row("5")], FixedScorer(good=1.0, wrong=0.0))
    assert result.ok
    reject_if_failed(result)


def test_good_answer_below_one_rejects_naming_the_row() -> None:
    result = score_rows([rlvr_row("5", "train.jsonl:12")], FixedScorer(good=0.0, wrong=0.0))
    with pytest.raises(LaunchRejected) as err:
        reject_if_failed(result)
    assert err.value.where == "train.jsonl:12"
    assert "expected answer \\boxed{5} scored 0, not 1.0" in err.value.problem
    assert "write the expected answer so the verifier parses it" in err.value.fix


def test_rewarded_wrong_answers_reject_every_row() -> None:
    rows = [rlvr_row("5", "t.jsonl:1"), rlvr_row("6", "t.jsonl:2"), rlvr_row("7", "t.jsonl:3")]
    scorer = FixedScorer(good=1.0, wrong=1.0)
    with pytest.raises(LaunchRejectedMany) as err:
        reject_if_failed(score_rows(rows, scorer))
    assert [p.where for p in err.value.problems] == ["t.jsonl:1", "t.jsonl:2", "t.jsonl:3"]
    assert "wrong answer \\boxed{17} scored 1, not 0.0" in err.value.problems[0].problem
    assert "rewards wrong answers" in err.value.problems[0].fix
    assert err.value.render().count("error: t.jsonl:") == 3


def test_no_rows_scored_is_a_failure() -> None:
    with pytest.raises(LaunchRejected):
        reject_if_failed(ProbeResult("nothing"))
