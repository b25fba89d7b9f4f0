"""What the bad-input catalogue's tests share: the stand-ins, a DPO file of pairs, and a secret
that no refused launch may write or print."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

STAND_IN_GYM = Path(__file__).resolve().parent / "stand_in_gym"
# Carries NeMo-RL v0.7.0's release marker (see its README).
STAND_IN_NEMO_RL = Path(__file__).resolve().parent / "stand_in_nemo_rl"


def pairs(tmp_path: Path, *rows: str) -> list[str]:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(row + "\n" for row in rows))
    return [
        "algo=dpo",
        "data=preference_jsonl",
        f"data.train.data_path={path}",
        f"data.validation.data_path={path}",
    ]


GOOD_PAIR = json.dumps({"prompt": "q", "chosen": "a", "rejected": "b"})

# Set for every catalogue test (no_secret_anywhere): whatever a case makes the launcher write or
# print, this never appears.
CATALOGUE_SECRET = ("NA_CATALOGUE_API_KEY", "catalogue-secret-4f1b9c")


@pytest.fixture(autouse=True)
def no_secret_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(*CATALOGUE_SECRET)
    yield
    secret = CATALOGUE_SECRET[1].encode()
    leaks = [p for p in tmp_path.rglob("*") if p.is_file() and secret in p.read_bytes()]
    assert not leaks, leaks


def assert_refused(result: subprocess.CompletedProcess[str], expected: list[str]) -> None:
    """Exit status 2, every expected piece in the message, a fix, and no traceback."""
    assert result.returncode == 2, result.stderr
    for piece in expected:
        assert piece in result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr
