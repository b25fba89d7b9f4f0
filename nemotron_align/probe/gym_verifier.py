"""NeMo-Gym's math_with_judge as the reward probe's verifier: whether an interpreter can run
it, and a bounded client for its /verify endpoint (the server itself: gym_server).

Gym's own ServerClient retries a dead endpoint forever, so requests here use urllib with a
timeout on every call.
"""

from __future__ import annotations

import json
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from nemotron_align.errors import LaunchRejected

REQUIRED_MODULES = ("nemo_gym", "resources_servers.math_with_judge", "math_verify")
READY_TIMEOUT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
AVAILABILITY_TIMEOUT_S = 60.0
# Never through an http_proxy from the environment: the server is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

_AVAILABILITY_SCRIPT = """
import importlib.metadata, importlib.util, json, sys
missing = []
for name in sys.argv[1:]:
    try:
        found = importlib.util.find_spec(name) is not None
    except ImportError:
        found = False
    if not found:
        missing.append(name)
try:
    version = importlib.metadata.version("nemo-gym")
except importlib.metadata.PackageNotFoundError:
    version = None
print(json.dumps({"missing": missing, "version": version,
                  "python": ".".join(map(str, sys.version_info[:3]))}))
"""


@dataclass(frozen=True)
class Score:
    reward: float
    extracted: str | None


@dataclass(frozen=True)
class GymAvailability:
    python: str
    python_version: str | None
    gym_version: str | None
    missing: tuple[str, ...]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.missing

    def why_not(self) -> str:
        if self.error:
            return f"{self.python}: {self.error}"
        where = f"{self.python} (Python {self.python_version})"
        return f"{where} cannot import {', '.join(self.missing)}"


def gym_availability(python: str, timeout_s: float = AVAILABILITY_TIMEOUT_S) -> GymAvailability:
    """Whether `python` can run the math_with_judge server; imports nothing heavy."""
    try:
        done = subprocess.run(
            [python, "-c", _AVAILABILITY_SCRIPT, *REQUIRED_MODULES],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return GymAvailability(python, None, None, REQUIRED_MODULES, error=str(err))
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        return GymAvailability(python, None, None, REQUIRED_MODULES, error=tail[0])
    found = json.loads(done.stdout)
    return GymAvailability(python, found["python"], found["version"], tuple(found["missing"]))


def verify_body(
    question: str, expected: str, responses_create_params: dict[str, Any], answer: str
) -> dict[str, Any]:
    """A /verify request whose response is one assistant message holding `answer`."""
    message = {
        "id": "reward-probe-message",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": [{"type": "output_text", "text": answer, "annotations": []}],
    }
    return {
        "responses_create_params": responses_create_params,
        "question": question,
        "expected_answer": expected,
        "response": {
            "id": "reward-probe",
            "created_at": 0,
            "model": "reward-probe",
            "object": "response",
            "output": [message],
            "parallel_tool_calls": False,
            "tool_choice": "none",
            "tools": [],
        },
    }


class GymVerifyClient:
    """POSTs /verify to a math_with_judge server; every call bounded by `timeout_s`."""

    def __init__(self, base_url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _fail(self, problem: str) -> LaunchRejected:
        return LaunchRejected(
            f"{self.base_url}/verify",
            problem,
            "check that the math_with_judge server is running and reachable, or run the "
            "reward probe in-process (--mode math-verify)",
        )

    def verify(
        self, question: str, expected: str, responses_create_params: dict[str, Any], answer: str
    ) -> Score:
        body = json.dumps(verify_body(question, expected, responses_create_params, answer))
        request = urllib.request.Request(
            f"{self.base_url}/verify",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=self.timeout_s) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace")[:400]
            raise self._fail(f"HTTP {err.code} {err.reason}: {detail}") from err
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise self._fail(f"no answer within {self.timeout_s:g} s: {reason}") from err
        except ValueError as err:
            raise self._fail(f"reply is not JSON: {err}") from err
        if not isinstance(payload, dict) or "reward" not in payload:
            raise self._fail(f"reply has no reward: {str(payload)[:400]}")
        extracted = payload.get("extracted_answer")
        return Score(float(payload["reward"]), None if extracted is None else str(extracted))


def is_live(base_url: str, timeout_s: float) -> bool:
    """Whether the server answers HTTP; nemo-gym 0.2 has no `GET /` route, so a 404 counts."""
    try:
        with _OPENER.open(f"{base_url}/", timeout=timeout_s):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False
