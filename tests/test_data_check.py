"""The JSONL data check: each rule, file:line reporting, caps, and multi-process merging."""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.gym.rows import normalize_row
from nemotron_align.preflight import data_check, data_findings
from nemotron_align.preflight.data_check import check_file
from nemotron_align.preflight.data_report import DataReport

GOOD_PAIR = {"prompt": "What is 2+2?", "chosen": "4", "rejected": "5"}
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]
AGENT_REF = {"type": "responses_api_agents", "name": "math_agent"}
GOOD_GYM = {
    "responses_create_params": {"input": [{"role": "user", "content": "2+2?"}]},
    "agent_ref": AGENT_REF,
}


def write(path: Path, rows: list[Any], end: str = "\n") -> Path:
    """One line per row: a dict or list becomes JSON, a str is written as is."""
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text(end.join(lines) + (end if lines else ""), encoding="utf-8")
    return path


def only_problem(report: DataReport, check: str, line: int) -> None:
    assert report.counts == {check: 1}
    problems = report.errors + report.warnings
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.check, problem.line) == (check, line)
    assert problem.where == f"{report.path}:{line}"
    assert problem.problem and problem.fix
    assert f"{report.path}:{line}: " in report.render()


def test_good_preference_file_passes(tmp_path: Path) -> None:
    rows = [GOOD_PAIR, {"prompt": MESSAGES, "chosen": "Hello.", "rejected": "Go away."}]
    report = check_file(write(tmp_path / "d.jsonl", rows), "preference")
    assert report.ok
    assert (report.rows, report.counts, report.errors, report.warnings) == (2, {}, [], [])
    assert report.bytes == (tmp_path / "d.jsonl").stat().st_size
    assert "2 rows" in report.render() and "0 errors, 0 warnings" in report.render()


@pytest.mark.parametrize(
    ("row", "check"),
    [
        ({"prompt": "Q", "rejected": "no"}, "missing_field"),
        ({"prompt": "Q", "chosen": "", "rejected": "no"}, "empty_field"),
        ({"prompt": "Q", "chosen": "yes", "rejected": " \n"}, "empty_field"),
        ({"prompt": "Q", "chosen": ["yes"], "rejected": "no"}, "wrong_type"),
        ({"prompt": "Q", "chosen": "same", "rejected": "same"}, "chosen_equals_rejected"),
        ({"chosen": "yes", "rejected": "no"}, "missing_field"),
        ({"prompt": "", "chosen": "yes", "rejected": "no"}, "empty_field"),
        ({"prompt": 3, "chosen": "yes", "rejected": "no"}, "wrong_type"),
        ({"prompt": [], "chosen": "yes", "rejected": "no"}, "bad_messages"),
        ({"prompt": ["hi"], "chosen": "yes", "rejected": "no"}, "bad_messages"),
        ({"prompt": [{"content": "hi"}], "chosen": "yes", "rejected": "no"}, "bad_messages"),
        (
            {"prompt": [{"role": "user", "content": 1}], "chosen": "y", "rejected": "n"},
            "bad_messages",
        ),
    ],
)
def test_each_bad_preference_row_is_reported_at_its_line(
    tmp_path: Path, row: dict[str, Any], check: str
) -> None:
    path = write(tmp_path / "d.jsonl", [GOOD_PAIR, "", row, {**GOOD_PAIR, "prompt": "Other?"}])
    report = check_file(path, "preference")
    only_problem(report, check, 3)
    assert not report.ok and report.error_count == 1 and report.rows == 3


def test_key_settings_rename_the_fields_and_name_the_setting_in_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [{"question": "Q", "good": "yes", "bad": "no"}])
    keys = {"prompt_key": "question", "chosen_key": "good", "rejected_key": "bad"}
    assert check_file(path, "preference", keys=keys).ok
    report = check_file(path, "preference", keys={"prompt_key": "question"})
    assert report.counts == {"missing_field": 2}
    assert [p.fix for p in report.errors] == [
        "give every row a `chosen`, or set chosen_key to the field your rows use",
        "give every row a `rejected`, or set rejected_key to the field your rows use",
    ]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [GOOD_PAIR])
    with pytest.raises(ValueError, match="kind"):
        check_file(path, "pairs")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="input_key"):
        check_file(path, "preference", keys={"input_key": "q"})


def test_malformed_json_and_non_objects_are_errors_blank_lines_are_not(tmp_path: Path) -> None:
    rows = [GOOD_PAIR, "   ", '{"prompt": "Q", "chosen": "a",', "", '["a", "b"]', '"text"', "\t"]
    report = check_file(write(tmp_path / "d.jsonl", rows), "preference")
    assert report.counts == {"malformed_json": 1, "not_object": 2}
    assert [(p.check, p.line) for p in report.errors] == [
        ("malformed_json", 3),
        ("not_object", 5),
        ("not_object", 6),
    ]
    assert "not valid JSON" in report.errors[0].problem
    assert "a JSON array" in report.errors[1].problem
    assert report.rows == 4


def test_invalid_utf8_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(json.dumps(GOOD_PAIR).encode() + b'\n{"prompt": "\xff"}\n')
    only_problem(check_file(path, "preference"), "malformed_json", 2)


def test_crlf_lines_and_a_last_line_without_newline_are_read(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"prompt": c, "chosen": c, "rejected": "5"} for c in "ab5"]
    path.write_bytes(b"\r\n".join(json.dumps(row).encode() for row in rows))
    report = check_file(path, "preference")
    only_problem(report, "chosen_equals_rejected", 3)
    assert report.rows == 3


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    report = check_file(write(tmp_path / "d.jsonl", ["", " "]), "preference")
    assert report.counts == {"no_rows": 1} and not report.ok
    assert report.errors[0].where == str(tmp_path / "d.jsonl")


def test_duplicate_prompts_are_warnings_that_point_at_the_first_occurrence(
    tmp_path: Path,
) -> None:
    rows = [
        GOOD_PAIR,
        {**GOOD_PAIR, "chosen": "four"},
        {"prompt": MESSAGES, "chosen": "a", "rejected": "b"},
        {**GOOD_PAIR, "prompt": "Another?"},
        {"prompt": MESSAGES, "chosen": "c", "rejected": "d"},
        {**GOOD_PAIR, "chosen": "IV"},
    ]
    report = check_file(write(tmp_path / "d.jsonl", rows), "preference")
    assert report.ok and report.counts == {"duplicate_prompt": 3}
    assert report.error_count == 0 and report.warning_count == 3
    assert [(p.line, p.problem, p.severity) for p in report.warnings] == [
        (2, "same prompt as line 1", "warning"),
        (5, "same prompt as line 3", "warning"),
        (6, "same prompt as line 1", "warning"),
    ]


def test_response_rows(tmp_path: Path) -> None:
    rows = [
        {"input": "2+2?", "output": "4"},
        {"output": "4"},
        {"input": "2+2?", "output": ""},
        {"input": "2+2?", "output": 4},
    ]
    report = check_file(write(tmp_path / "d.jsonl", rows), "response")
    assert [(p.check, p.line) for p in report.errors] == [
        ("missing_field", 2),
        ("empty_field", 3),
        ("wrong_type", 4),
    ]
    renamed = write(tmp_path / "r.jsonl", [{"problem": "2+2?", "answer": "4"}])
    assert check_file(renamed, "response", keys={"input_key": "problem", "output_key": "answer"}).ok


@pytest.mark.skipif(importlib.util.find_spec("math_verify") is None, reason="needs math-verify")
def test_answers_math_verify_cannot_parse_are_warnings(tmp_path: Path) -> None:
    answers = ["4", "-0.5", "\\frac{1}{2}", "x^2+1", "{{{"]
    rows = [{"input": f"Q{i}", "output": a} for i, a in enumerate(answers)]
    report = check_file(write(tmp_path / "d.jsonl", rows), "response")
    only_problem(report, "unparseable_answer", 5)
    assert report.ok and report.notes == []


def test_without_math_verify_answers_are_not_parsed_and_the_report_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_check, "math_verify_parses", lambda: None)
    path = write(tmp_path / "d.jsonl", [{"input": "Q", "output": "{{{"}])
    report = check_file(path, "response")
    assert report.ok and report.counts == {}
    assert "math-verify is not installed" in report.render()


@pytest.mark.parametrize(
    ("row", "check"),
    [
        ({"agent_ref": AGENT_REF}, "missing_field"),
        ({"responses_create_params": "hi", "agent_ref": AGENT_REF}, "wrong_type"),
        ({"responses_create_params": {}, "agent_ref": AGENT_REF}, "missing_field"),
        ({"responses_create_params": {"input": ""}, "agent_ref": AGENT_REF}, "empty_field"),
        ({"responses_create_params": {"input": []}, "agent_ref": AGENT_REF}, "bad_messages"),
        (
            {"responses_create_params": {"input": [{"content": "x"}]}, "agent_ref": AGENT_REF},
            "bad_messages",
        ),
        ({"responses_create_params": {"input": "2+2?"}}, "missing_agent_ref"),
        ({**GOOD_GYM, "agent_ref": "math_agent"}, "bad_agent_ref"),
        ({**GOOD_GYM, "agent_ref": {"type": "agents", "name": "math_agent"}}, "bad_agent_ref"),
        ({**GOOD_GYM, "agent_ref": {**AGENT_REF, "name": ""}}, "bad_agent_ref"),
        ({**GOOD_GYM, "agent_ref": {**AGENT_REF, "name": "other_agent"}}, "unknown_agent"),
    ],
)
def test_each_bad_nemo_gym_row_is_reported_at_its_line(
    tmp_path: Path, row: dict[str, Any], check: str
) -> None:
    string_input = {**GOOD_GYM, "responses_create_params": {"input": "2+2?"}}
    path = write(tmp_path / "d.jsonl", [GOOD_GYM, string_input, row])
    only_problem(check_file(path, "nemo_gym", agent_names={"math_agent"}), check, 3)


def test_nemo_gym_agent_ref_may_be_missing_when_allowed_and_any_name_without_a_list(
    tmp_path: Path,
) -> None:
    rows = [
        {"responses_create_params": {"input": "2+2?"}},
        {**GOOD_GYM, "agent_ref": {**AGENT_REF, "name": "any_agent"}},
    ]
    assert check_file(
        write(tmp_path / "d.jsonl", rows), "nemo_gym", allow_missing_agent_ref=True
    ).ok


def test_bundled_tiny_data_passes() -> None:
    tiny = TINY_DATA_DIR
    for stem, kind in [("dpo", "preference"), ("rlvr", "response")]:
        for split in ("train", "validation"):
            assert check_file(tiny / f"{stem}_{split}.jsonl", kind).ok
    for stem in ("grpo_gym", "rlhf"):
        for split in ("train", "validation"):
            assert check_file(tiny / f"{stem}_{split}.jsonl", "nemo_gym").ok


def test_only_the_first_problems_of_each_severity_are_kept_but_all_are_counted(
    tmp_path: Path,
) -> None:
    rows = [{"prompt": "Q", "chosen": "a", "rejected": "b"}] * 30
    rows += [{"prompt": f"Q{i}", "chosen": "same", "rejected": "same"} for i in range(50)]
    report = check_file(write(tmp_path / "d.jsonl", rows), "preference", max_reported=5)
    assert report.counts == {"duplicate_prompt": 29, "chosen_equals_rejected": 50}
    assert [p.line for p in report.warnings] == [2, 3, 4, 5, 6]
    assert [p.line for p in report.errors] == [31, 32, 33, 34, 35]
    assert "(45 more errors not shown)" in report.render()
    assert "(24 more warnings not shown)" in report.render()


def mixed_rows(n: int) -> list[Any]:
    """Rows whose problems fall on every few lines, with prompts repeating across the file."""
    rows: list[Any] = []
    for i in range(n):
        prompt = f"prompt {i % 7}" if i % 3 == 0 else f"unique prompt {i} " + "x" * (i % 150)
        row: Any = {"prompt": prompt, "chosen": f"yes {i}", "rejected": f"no {i}"}
        if i % 5 == 1:
            row = '{"prompt": "broken'
        elif i % 11 == 2:
            row = {**row, "rejected": row["chosen"]}
        elif i % 13 == 3:
            row = ""
        elif i % 17 == 4:
            row = {"prompt": MESSAGES, "chosen": "a", "rejected": "b"}
        rows.append(row)
    return rows


@pytest.mark.parametrize("max_reported", [3, 1000])
def test_several_processes_report_exactly_what_one_process_does(
    tmp_path: Path, max_reported: int
) -> None:
    path = write(tmp_path / "d.jsonl", mixed_rows(400))
    one = check_file(path, "preference", max_reported=max_reported, workers=1)
    assert one.counts["duplicate_prompt"] > 0 and one.counts["malformed_json"] == 80
    size = path.stat().st_size
    for workers in (2, 3, 7, 16):
        bounds = data_check._split(str(path), size, workers)
        assert len(set(bounds)) == workers + 1
        many = check_file(path, "preference", max_reported=max_reported, workers=workers)
        assert many == one, workers


def test_split_points_follow_newlines(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [GOOD_PAIR] * 10)
    data = path.read_bytes()
    bounds = data_check._split(str(path), len(data), 4)
    assert bounds[0] == 0 and bounds[-1] == len(data) and bounds == sorted(bounds)
    assert all(data[b - 1 : b] == b"\n" for b in bounds[1:-1])


def test_duplicate_tracking_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_findings, "MAX_TRACKED_PROMPTS", 3)
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": f"p{i % 5}", "chosen": "a", "rejected": "b"} for i in range(10)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = data_check.check_file(path, "preference", workers=1)
    assert report.ok
    # p0..p2 are tracked; their repeats on lines 6-8 are found, p3/p4 rows are not compared.
    assert [w.line for w in report.warnings] == [6, 7, 8]
    assert any("not compared" in note for note in report.notes)


@pytest.mark.parametrize(
    ("body", "line", "says"),
    [
        (b"\xef\xbb\xbf" + json.dumps(GOOD_PAIR).encode() + b"\n", 1, "byte-order mark"),
        (
            json.dumps(GOOD_PAIR).encode() + b'\n{"prompt": "\xff"}\n',
            2,
            "not valid UTF-8 (byte 0xff",
        ),
        (b"[\n" + json.dumps(GOOD_PAIR).encode() + b"\n]\n", 1, "looks like one JSON array"),
        (json.dumps(GOOD_PAIR).encode() + b" {}\n", 1, "unexpected content after document"),
    ],
    ids=["BOM", "invalid UTF-8", "JSON array", "trailing text"],
)
def test_file_level_faults_are_named_at_their_line(
    tmp_path: Path, body: bytes, line: int, says: str
) -> None:
    path = tmp_path / "d.jsonl"
    path.write_bytes(body)
    report = check_file(path, "preference")
    first = report.errors[0]
    assert (first.line, first.check) == (line, "malformed_json") and says in first.problem


def test_nemo_gym_rows_are_checked_as_normalize_rewrites_them(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [{"question": "2+2?"}, {"messages": []}])
    report = check_file(
        path,
        "nemo_gym",
        agent_names={"math_agent"},
        normalize=functools.partial(normalize_row, default_agent="math_agent"),
    )
    # The question became the model input; the empty message list is not rewritten.
    assert report.counts == {"missing_field": 1} and report.errors[0].line == 2
