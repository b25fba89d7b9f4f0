"""Shared by the reward probe's tests: the tiny data rows, an unscorable answer, a JSONL
writer and the mark for tests that need math-verify."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from nemotron_align.config.resolvers import TINY_DATA_DIR
from nemotron_align.probe.scoring import math_verify_available

GYM_ROWS = TINY_DATA_DIR / "grpo_gym_train.jsonl"
RLVR_ROWS = TINY_DATA_DIR / "rlvr_train.jsonl"
# Math-verify cannot parse a stray closing brace, so a row expecting it can never score 1.0.
UNSCORABLE_EXPECTED = "}"

needs_math_verify = pytest.mark.skipif(
    not math_verify_available(),
    reason=f"math-verify is not installed in {sys.executable} "
    "(pip install 'nemotron-align[probe]')",
)


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path
