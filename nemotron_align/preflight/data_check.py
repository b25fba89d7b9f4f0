"""Streaming check of local JSONL training data before a run spends GPU time on it.

`check_file(path, kind)` reads the file once, on several processes over newline-aligned byte
ranges, in constant memory except for preference data's duplicate-prompt index (an 8-byte
digest and first line per distinct prompt, about 120 bytes in all). It returns a `DataReport`:
per-check counts, and the first problems of each severity with file:line, what was expected and
how to fix it.

kind:
- "preference": NeMo-RL BinaryPreferenceDataset rows, {"prompt", "chosen", "rejected"};
- "response": NeMo-RL ResponseDataset rows, {"input", "output"};
- "nemo_gym": NeMo-Gym training rows, {"responses_create_params": {"input"}, "agent_ref"}.
"""

from __future__ import annotations

import importlib.util
import itertools
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import orjson
import xxhash

from nemotron_align.errors import LaunchRejected

Kind = Literal["preference", "response", "nemo_gym"]

# Check names. Each problem counts under exactly one.
MALFORMED_JSON = "malformed_json"
NOT_OBJECT = "not_object"
BLANK_LINE = "blank_line"
NO_ROWS = "no_rows"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
EMPTY_FIELD = "empty_field"
CHOSEN_EQUALS_REJECTED = "chosen_equals_rejected"
BAD_MESSAGES = "bad_messages"
MISSING_AGENT_REF = "missing_agent_ref"
BAD_AGENT_REF = "bad_agent_ref"
UNKNOWN_AGENT = "unknown_agent"
DUPLICATE_PROMPT = "duplicate_prompt"
UNPARSEABLE_ANSWER = "unparseable_answer"
WARNING_CHECKS = frozenset({DUPLICATE_PROMPT, UNPARSEABLE_ANSWER})

# Key settings per kind, named as in NeMo-RL's data config, with their defaults.
DEFAULT_KEYS: dict[str, dict[str, str]] = {
    "preference": {"prompt_key": "prompt", "chosen_key": "chosen", "rejected_key": "rejected"},
    "response": {"input_key": "input", "output_key": "output"},
    "nemo_gym": {},
}
GYM_AGENT_TYPE = "responses_api_agents"

Normalize = Callable[[dict[str, Any]], dict[str, Any]]

_BUFFER_BYTES = 1 << 20
# Below this much data per process, starting another process costs more than it saves.
_MIN_BYTES_PER_WORKER = 64 << 20
_MAX_AUTO_WORKERS = 8
# Distinct prompts tracked per process for duplicate counting (~120 bytes each): keeps memory
# constant whatever the file size; prompts past it are not compared, and the report says so.
MAX_TRACKED_PROMPTS = 250_000
_MISSING = object()


@dataclass(frozen=True)
class Problem:
    """One problem in a row; `where`, `problem` and `fix` read as in LaunchRejected."""

    path: str
    line: int
    check: str
    problem: str
    fix: str

    @property
    def severity(self) -> Literal["error", "warning"]:
        return "warning" if self.check in WARNING_CHECKS else "error"

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def render(self) -> str:
        return f"{self.severity}: {self.where}: {self.problem}\n  fix: {self.fix}"


@dataclass
class DataReport:
    path: str
    kind: Kind
    bytes: int
    rows: int
    # Problems per check name; a check that found nothing is absent.
    counts: dict[str, int]
    # The first `max_reported` errors and warnings, each in file order.
    errors: list[Problem]
    warnings: list[Problem]
    # What was not checked, and why.
    notes: list[str] = field(default_factory=list)

    @property
    def error_count(self) -> int:
        return sum(n for check, n in self.counts.items() if check not in WARNING_CHECKS)

    @property
    def warning_count(self) -> int:
        return sum(n for check, n in self.counts.items() if check in WARNING_CHECKS)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def rejections(self) -> list[LaunchRejected]:
        """The errors shown, and how many more there are, as launch rejections."""
        found = [LaunchRejected(p.where, p.problem, p.fix) for p in self.errors]
        if self.error_count > len(self.errors):
            more = self.error_count - len(self.errors)
            found.append(
                LaunchRejected(
                    self.path,
                    f"{more:,} more errors not shown",
                    "fix the ones above, then check again",
                )
            )
        return found

    def render(self) -> str:
        lines = [
            f"{self.path}: {self.kind} data, {self.rows:,} rows, {self.bytes / 1e6:,.1f} MB: "
            f"{self.error_count:,} errors, {self.warning_count:,} warnings"
        ]
        for check, n in sorted(self.counts.items(), key=lambda kv: (kv[0] in WARNING_CHECKS, kv)):
            severity = "warning" if check in WARNING_CHECKS else "error"
            lines.append(f"  {severity:<7} {check:<24} {n:>10,}")
        for shown, total, severity in (
            (self.errors, self.error_count, "errors"),
            (self.warnings, self.warning_count, "warnings"),
        ):
            lines.extend(p.render() for p in shown)
            if total > len(shown):
                lines.append(f"({total - len(shown):,} more {severity} not shown)")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class _Rules:
    kind: Kind
    keys: Mapping[str, str]
    agent_names: frozenset[str] | None
    allow_missing_agent_ref: bool
    parse_answers: bool
    normalize: Normalize | None


@dataclass
class _Partial:
    """What one process found in its byte range; line numbers are relative to the range."""

    path: str
    max_reported: int
    lines: int = 0
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Duplicate prompts are rendered after merging, once each first occurrence is known.
    duplicates: list[tuple[int, int]] = field(default_factory=list)
    first_seen: dict[int, int] = field(default_factory=dict)
    untracked_prompts: int = 0

    def add(self, line: int, check: str, problem: str, fix: str) -> None:
        self.counts[check] += 1
        shown = self.warnings if check in WARNING_CHECKS else self.errors
        if len(shown) < self.max_reported:
            shown.append(Problem(self.path, line, check, problem, fix))

    def see_prompt(self, digest: int, line: int) -> None:
        first = self.first_seen.get(digest)
        if first is None:
            if len(self.first_seen) >= MAX_TRACKED_PROMPTS:
                self.untracked_prompts += 1
                return
            self.first_seen[digest] = first = line
        if first != line:
            self.counts[DUPLICATE_PROMPT] += 1
            if len(self.duplicates) < self.max_reported:
                self.duplicates.append((line, first))


def check_file(
    path: str | os.PathLike[str],
    kind: Kind,
    *,
    keys: Mapping[str, str] | None = None,
    agent_names: Collection[str] | None = None,
    allow_missing_agent_ref: bool = False,
    normalize: Normalize | None = None,
    max_reported: int = 20,
    workers: int | None = None,
) -> DataReport:
    """Check one JSONL file of `kind` rows.

    keys: NeMo-RL's key settings for the kind (prompt_key/chosen_key/rejected_key, or
    input_key/output_key), defaults as in NeMo-RL. agent_names: for nemo_gym, the agent
    instances a row's agent_ref may name (None: any). normalize: rewrites each object row
    before its checks, as the run will (picklable: workers receive it). workers: processes to
    use (None: one per 64 MiB of data, up to the CPUs available and at most 8). Raises OSError
    if the file cannot be read.
    """
    if kind not in DEFAULT_KEYS:
        raise ValueError(f"kind must be one of {sorted(DEFAULT_KEYS)}, not {kind!r}")
    unknown = set(keys or {}) - set(DEFAULT_KEYS[kind])
    if unknown:
        raise ValueError(f"{kind} data has no key settings {sorted(unknown)}")
    path = os.fspath(path)
    notes: list[str] = []
    parse_answers = False
    if kind == "response":
        parse_answers = _math_verify_parses() is not None
        if not parse_answers:
            notes.append(
                "math-verify is not installed, so answers were not checked for parseability "
                "(pip install math-verify)"
            )
    rules = _Rules(
        kind=kind,
        keys={**DEFAULT_KEYS[kind], **(keys or {})},
        agent_names=None if agent_names is None else frozenset(agent_names),
        allow_missing_agent_ref=allow_missing_agent_ref,
        parse_answers=parse_answers,
        normalize=normalize,
    )
    size = os.path.getsize(path)
    if workers is None:
        workers = max(1, min(_available_cpus(), _MAX_AUTO_WORKERS, size // _MIN_BYTES_PER_WORKER))
    bounds = _split(path, size, workers)
    ranges = list(itertools.pairwise(bounds))
    if len(ranges) == 1:
        partials = [_scan(path, *ranges[0], rules, max_reported)]
    else:
        # fork: a worker starts in milliseconds and needs nothing re-imported.
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(len(ranges) - 1, mp_context=context) as pool:
            futures = [pool.submit(_scan, path, *r, rules, max_reported) for r in ranges[1:]]
            partials = [_scan(path, *ranges[0], rules, max_reported)]
            partials += [f.result() for f in futures]
    return _merge(path, kind, size, partials, max_reported, notes)


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _split(path: str, size: int, parts: int) -> list[int]:
    """Byte offsets 0 = b0 <= b1 <= ... = size; each inner one just after a newline."""
    bounds = [0]
    with open(path, "rb") as f:
        for i in range(1, parts):
            start = max(bounds[-1], size * i // parts)
            f.seek(start)
            while True:
                block = f.read(1 << 16)
                if not block:
                    bounds.append(size)
                    break
                newline = block.find(b"\n")
                if newline >= 0:
                    bounds.append(start + newline + 1)
                    break
                start += len(block)
    bounds.append(size)
    return bounds


def _lines(path: str, start: int, end: int) -> Iterator[bytes]:
    """The lines of bytes [start, end), newline included; start is at a line's start."""
    remaining = end - start
    if remaining <= 0:
        return
    with open(path, "rb", buffering=_BUFFER_BYTES) as f:
        f.seek(start)
        for text in f:
            yield text
            remaining -= len(text)
            if remaining <= 0:
                return


def _scan(path: str, start: int, end: int, rules: _Rules, max_reported: int) -> _Partial:
    acc = _Partial(path, max_reported)
    check_row = _ROW_CHECKS[rules.kind](rules, acc)
    normalize = rules.normalize
    loads = orjson.loads
    line = blank = 0
    for text in _lines(path, start, end):
        line += 1
        try:
            row = loads(text)
        except orjson.JSONDecodeError as e:
            if not text.strip():
                blank += 1
                if rules.kind == "nemo_gym":  # NeMo-RL's Gym dataset keeps every raw line
                    acc.add(
                        line,
                        BLANK_LINE,
                        "a blank line; NeMo-RL's NeMo-Gym dataset parses every line as JSON and "
                        "fails on it",
                        "remove the blank line",
                    )
                continue
            acc.add(line, MALFORMED_JSON, *_malformed(text, e))
            continue
        if type(row) is dict:
            check_row(normalize(row) if normalize else row, line)
        else:
            acc.add(
                line,
                NOT_OBJECT,
                f"a JSON {_json_type(row)}; expected a JSON object",
                "write each row as one JSON object, {...}, per line",
            )
    acc.lines = line
    acc.rows = line - blank
    return acc


def _malformed(text: bytes, err: orjson.JSONDecodeError) -> tuple[str, str]:
    """(problem, fix) of a line that is not one JSON value, named by its likely cause."""
    if text.startswith(b"\xef\xbb\xbf"):
        return (
            "starts with a UTF-8 byte-order mark (BOM); expected plain UTF-8 JSON",
            "save the file as UTF-8 without a BOM (e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' <file>)",
        )
    try:
        text.decode()
    except UnicodeDecodeError as bad:
        return (
            f"not valid UTF-8 (byte 0x{text[bad.start]:02x} at column {bad.start + 1}); "
            "expected UTF-8 text",
            "re-encode the file as UTF-8 (e.g. iconv -f <its encoding> -t UTF-8)",
        )
    if text.lstrip().startswith(b"["):
        return (
            f"not valid JSON ({err.msg} at column {err.colno}); the file looks like one JSON "
            "array, expected one JSON object per line (JSON Lines)",
            "write each row as one JSON object per line (e.g. jq -c '.[]' <file> > <file>l)",
        )
    return (
        f"not valid JSON ({err.msg} at column {err.colno}); expected one JSON object",
        "write one JSON object per line (JSON Lines): a pretty-printed JSON file, a truncated "
        "line, a raw newline inside a string or text after the object breaks this",
    )


def _merge(
    path: str,
    kind: Kind,
    size: int,
    partials: list[_Partial],
    max_reported: int,
    notes: list[str],
) -> DataReport:
    counts: Counter[str] = Counter()
    errors: list[Problem] = []
    warnings: list[Problem] = []
    # digest -> line of the prompt's first occurrence in the file; the first range's own dict.
    first_seen = partials[0].first_seen
    offset = 0
    for i, part in enumerate(partials):
        counts.update(part.counts)
        errors += [replace(p, line=p.line + offset) for p in part.errors]
        warnings += [replace(p, line=p.line + offset) for p in part.warnings]
        # A prompt first seen in this range may have appeared in an earlier one.
        earlier: dict[int, int] = {}
        if i:
            seen_here = part.first_seen
            for digest in seen_here.keys() & first_seen.keys():
                earlier[seen_here.pop(digest) + offset] = first_seen[digest]
            if i < len(partials) - 1:  # later ranges look their prompts up here
                for digest, line in seen_here.items():
                    if len(first_seen) >= MAX_TRACKED_PROMPTS:
                        break
                    first_seen[digest] = line + offset
            counts[DUPLICATE_PROMPT] += len(earlier)
        duplicates = [(line + offset, first + offset) for line, first in part.duplicates]
        duplicates = [(line, earlier.get(first, first)) for line, first in duplicates]
        for line, first in sorted(duplicates + list(earlier.items()))[:max_reported]:
            warnings.append(_duplicate_problem(path, line, first))
        offset += part.lines
    rows = sum(p.rows for p in partials)
    untracked = sum(p.untracked_prompts for p in partials)
    if untracked:
        notes.append(
            f"duplicate prompts: {untracked:,} rows past the first {MAX_TRACKED_PROMPTS:,} "
            "distinct prompts of their part of the file were not compared (memory stays constant)"
        )
    if not rows:
        counts[NO_ROWS] += 1
        errors.append(
            Problem(path, 0, NO_ROWS, "has no rows", "point the data path at a non-empty file")
        )
    return DataReport(
        path=path,
        kind=kind,
        bytes=size,
        rows=rows,
        counts=dict(+counts),
        errors=sorted(errors, key=lambda p: p.line)[:max_reported],
        warnings=sorted(warnings, key=lambda p: p.line)[:max_reported],
        notes=notes,
    )


def _duplicate_problem(path: str, line: int, first: int) -> Problem:
    return Problem(
        path,
        line,
        DUPLICATE_PROMPT,
        f"same prompt as line {first}",
        "fine for several pairs per prompt; otherwise remove the repeat, as each repeat weighs "
        "that prompt more in training",
    )


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def _text_problem(
    acc: _Partial,
    line: int,
    value: object,
    name: str,
    expected: str,
    setting: str | None = None,
) -> bool:
    """Report `value` unless it is a non-blank string; True if it was reported.

    setting: the NeMo-RL key setting that names this field, for the fix hint.
    """
    if type(value) is str:
        if value and not value.isspace():
            return False
        check, found = EMPTY_FIELD, f"`{name}` is {value!r}"
    elif value is _MISSING:
        check, found = MISSING_FIELD, f"no `{name}` field"
    else:
        check, found = WRONG_TYPE, f"`{name}` is a JSON {_json_type(value)}"
    fix = f"give every row a `{name}`"
    if setting:
        fix += f", or set {setting} to the field your rows use"
    acc.add(line, check, f"{found}; expected {expected}", fix)
    return True


def _messages_problem(messages: list[Any], content_types: tuple[type, ...]) -> str | None:
    """Why `messages` is not a non-empty list of {role, content} objects; None if it is."""
    if not messages:
        return "it is empty"
    for i, message in enumerate(messages):
        if type(message) is not dict:
            return f"item {i} is a JSON {_json_type(message)}, not an object"
        role = message.get("role")
        if type(role) is not str or not role:
            return f"item {i} has no non-empty string `role`"
        if not isinstance(message.get("content", _MISSING), content_types):
            return f"item {i} has no `content` of the expected type"
    return None


RowCheck = Callable[[dict[str, Any], int], None]


def _preference_checks(rules: _Rules, acc: _Partial) -> RowCheck:
    prompt_key = rules.keys["prompt_key"]
    chosen_key = rules.keys["chosen_key"]
    rejected_key = rules.keys["rejected_key"]
    digest = xxhash.xxh3_64_intdigest
    isspace = str.isspace
    see_prompt = acc.see_prompt

    def check(row: dict[str, Any], line: int) -> None:
        chosen = row.get(chosen_key, _MISSING)
        rejected = row.get(rejected_key, _MISSING)
        # The common valid pair, cheaply; anything else gets diagnosed.
        if not (
            type(chosen) is str
            and type(rejected) is str
            and chosen
            and rejected
            and chosen != rejected
            and not (isspace(chosen) or isspace(rejected))
        ):
            expected = "a non-empty string"
            bad_chosen = _text_problem(acc, line, chosen, chosen_key, expected, "chosen_key")
            bad_rejected = _text_problem(
                acc, line, rejected, rejected_key, expected, "rejected_key"
            )
            if not (bad_chosen or bad_rejected):
                acc.add(
                    line,
                    CHOSEN_EQUALS_REJECTED,
                    f"`{chosen_key}` and `{rejected_key}` are the same text; expected two "
                    "different responses",
                    "drop the row or fix it: an identical pair carries no preference",
                )
        prompt = row.get(prompt_key, _MISSING)
        if type(prompt) is str and prompt and not isspace(prompt):
            see_prompt(digest(prompt.encode()), line)
        elif type(prompt) is list:
            reason = _messages_problem(prompt, (str,))
            if reason:
                acc.add(
                    line,
                    BAD_MESSAGES,
                    f"`{prompt_key}` is a message list but {reason}; expected a non-empty list "
                    "of {role, content} messages with string content",
                    'write each message as {"role": "user", "content": "..."}',
                )
            else:
                see_prompt(digest(orjson.dumps(prompt)), line)
        else:
            _text_problem(
                acc,
                line,
                prompt,
                prompt_key,
                "a non-empty string or a list of {role, content} messages",
                "prompt_key",
            )

    return check


# Answers math-verify parses for certain (whole and decimal numbers, fractions of whole numbers),
# passed without loading it: its import (sympy) costs a dry run ~0.3 s.
_PLAIN_ANSWER = re.compile(r"-?\d+(\.\d+)?|-?\\[dt]?frac\{\d+\}\{\d+\}")


@lru_cache(maxsize=1)
def _math_verify_parses() -> Callable[[str], bool] | None:
    """A function telling whether math-verify parses a reference answer (imported at its first
    call); None if absent."""
    if importlib.util.find_spec("math_verify") is None:
        return None

    @lru_cache(maxsize=4096)
    def parses(answer: str) -> bool:
        from math_verify import LatexExtractionConfig, parse

        # NeMo-RL's math environment wraps the reference answer in \boxed{} before parsing it.
        boxed = f"\\boxed{{{answer}}}"
        return bool(parse(boxed, [LatexExtractionConfig()], fallback_mode="no_fallback"))

    return parses


def _response_checks(rules: _Rules, acc: _Partial) -> RowCheck:
    input_key = rules.keys["input_key"]
    output_key = rules.keys["output_key"]
    parses = _math_verify_parses() if rules.parse_answers else None

    def check(row: dict[str, Any], line: int) -> None:
        _text_problem(
            acc,
            line,
            row.get(input_key, _MISSING),
            input_key,
            "a non-empty string (the problem)",
            "input_key",
        )
        output = row.get(output_key, _MISSING)
        if _text_problem(
            acc, line, output, output_key, "a non-empty string (the answer)", "output_key"
        ):
            return
        if parses is None or _PLAIN_ANSWER.fullmatch(output) or parses(output):
            return
        acc.add(
            line,
            UNPARSEABLE_ANSWER,
            f"math-verify cannot parse `{output_key}` {_short(output)} as math, so the math "
            "environment will hardly ever score a response to it as correct",
            "write the answer as a number or a LaTeX expression, or drop the row",
        )

    return check


_AGENT_REF_SHAPE = f'{{"type": "{GYM_AGENT_TYPE}", "name": <agent instance>}}'
_GYM_INPUT = "responses_create_params.input"


def _nemo_gym_checks(rules: _Rules, acc: _Partial) -> RowCheck:
    agent_names = rules.agent_names
    allow_missing_agent_ref = rules.allow_missing_agent_ref

    def check(row: dict[str, Any], line: int) -> None:
        params = row.get("responses_create_params", _MISSING)
        if type(params) is dict:
            model_input = params.get("input", _MISSING)
            if type(model_input) is list:
                reason = _messages_problem(model_input, (str, list))
                if reason:
                    acc.add(
                        line,
                        BAD_MESSAGES,
                        f"`{_GYM_INPUT}` is a message list but {reason}; expected a non-empty "
                        "list of {role, content} messages",
                        'write each message as {"role": "user", "content": "..."}',
                    )
            else:
                _text_problem(
                    acc,
                    line,
                    model_input,
                    _GYM_INPUT,
                    "a non-empty string or a list of {role, content} messages",
                )
        else:
            found = (
                "no `responses_create_params` field"
                if params is _MISSING
                else f"`responses_create_params` is a JSON {_json_type(params)}"
            )
            acc.add(
                line,
                MISSING_FIELD if params is _MISSING else WRONG_TYPE,
                f"{found}; expected an object with the model input, "
                '{"input": [{"role": "user", "content": ...}]}',
                "give every row its request in `responses_create_params`",
            )
        agent_ref = row.get("agent_ref", _MISSING)
        if agent_ref is _MISSING:
            if not allow_missing_agent_ref:
                acc.add(
                    line,
                    MISSING_AGENT_REF,
                    f"no `agent_ref`; expected {_AGENT_REF_SHAPE}, the agent that runs the row",
                    "add agent_ref to every row (`gym dataset collate` does), or set "
                    "data.default_agent_ref=<agent instance name>",
                )
            return
        name = agent_ref.get("name") if type(agent_ref) is dict else None
        if type(name) is not str or not name or agent_ref.get("type") != GYM_AGENT_TYPE:
            acc.add(
                line,
                BAD_AGENT_REF,
                f"`agent_ref` is {_short(agent_ref)}; expected {_AGENT_REF_SHAPE}",
                "write agent_ref in exactly that shape",
            )
        elif agent_names is not None and name not in agent_names:
            known = ", ".join(sorted(agent_names)) or "none"
            acc.add(
                line,
                UNKNOWN_AGENT,
                f"`agent_ref.name` is {name!r}; expected an agent instance of the config: {known}",
                "name a configured agent instance, or configure that agent",
            )

    return check


def _short(value: object, limit: int = 80) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= limit else text[: limit - 3] + "..."


_ROW_CHECKS: dict[str, Callable[[_Rules, _Partial], RowCheck]] = {
    "preference": _preference_checks,
    "response": _response_checks,
    "nemo_gym": _nemo_gym_checks,
}
