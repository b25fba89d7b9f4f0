"""Streaming check of local JSONL training data before a run spends GPU time on it.

`check_file(path, kind)` reads the file once, on several processes over newline-aligned byte
ranges, in constant memory except for preference data's duplicate-prompt index (an 8-byte
digest and first line per distinct prompt, about 120 bytes in all). It returns a `DataReport`
(data_report): per-check counts, and the first problems of each severity with file:line, what
was expected and how to fix it. The rules per row are in data_rows; the findings of the ranges
are merged in data_findings.

kind:
- "preference": NeMo-RL BinaryPreferenceDataset rows, {"prompt", "chosen", "rejected"};
- "response": NeMo-RL ResponseDataset rows, {"input", "output"};
- "nemo_gym": NeMo-Gym training rows, {"responses_create_params": {"input"}, "agent_ref"}.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections.abc import Collection, Mapping
from concurrent.futures import ProcessPoolExecutor

import orjson

from nemotron_align.io.jsonl import lines
from nemotron_align.preflight.data_findings import RangeFindings, merge_findings
from nemotron_align.preflight.data_report import (
    BLANK_LINE,
    MALFORMED_JSON,
    NOT_OBJECT,
    DataReport,
    Kind,
)
from nemotron_align.preflight.data_rows import (
    DEFAULT_KEYS,
    ROW_CHECKS,
    Normalize,
    RowRules,
    json_type,
    math_verify_parses,
)

# Below this much data per process, starting another process costs more than it saves.
_MIN_BYTES_PER_WORKER = 64 << 20
_MAX_AUTO_WORKERS = 8


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
    parse_answers = kind == "response" and math_verify_parses() is not None
    notes = []
    if kind == "response" and not parse_answers:
        notes.append(
            "math-verify is not installed, so answers were not checked for parseability "
            "(pip install math-verify)"
        )
    rules = RowRules(
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
    ranges = list(itertools.pairwise(_split(path, size, workers)))
    parts = _scan_ranges(path, ranges, rules, max_reported)
    return merge_findings(path, kind, size, parts, max_reported, notes)


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


def _scan_ranges(
    path: str, ranges: list[tuple[int, int]], rules: RowRules, max_reported: int
) -> list[RangeFindings]:
    """The findings of each range, in order; the first range on this process."""
    if len(ranges) == 1:
        return [_scan(path, *ranges[0], rules, max_reported)]
    # fork: a worker starts in milliseconds and needs nothing re-imported.
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(ranges) - 1, mp_context=context) as pool:
        futures = [pool.submit(_scan, path, *r, rules, max_reported) for r in ranges[1:]]
        first = _scan(path, *ranges[0], rules, max_reported)
        return [first] + [f.result() for f in futures]


def _scan(path: str, start: int, end: int, rules: RowRules, max_reported: int) -> RangeFindings:
    acc = RangeFindings(path, max_reported)
    check_row = ROW_CHECKS[rules.kind](rules, acc)
    normalize = rules.normalize
    loads = orjson.loads
    line = blank = 0
    for text in lines(path, start, end):
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
                f"a JSON {json_type(row)}; expected a JSON object",
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
