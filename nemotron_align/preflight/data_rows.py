"""The rules each row of a data file must meet, per kind, as NeMo-RL and NeMo-Gym read it.

A kind's check is built once per byte range (`ROW_CHECKS[kind](rules, findings)`) and called on
every object row with its line; what it finds goes into the range's findings.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
import xxhash

from nemotron_align.preflight.data_findings import RangeFindings
from nemotron_align.preflight.data_report import (
    BAD_AGENT_REF,
    BAD_MESSAGES,
    CHOSEN_EQUALS_REJECTED,
    EMPTY_FIELD,
    MISSING_AGENT_REF,
    MISSING_FIELD,
    UNKNOWN_AGENT,
    UNPARSEABLE_ANSWER,
    WRONG_TYPE,
    Kind,
)

# Key settings per kind, named as in NeMo-RL's data config, with their defaults.
DEFAULT_KEYS: dict[str, dict[str, str]] = {
    "preference": {"prompt_key": "prompt", "chosen_key": "chosen", "rejected_key": "rejected"},
    "response": {"input_key": "input", "output_key": "output"},
    "nemo_gym": {},
}
# The `type` of every NeMo-Gym agent_ref.
AGENT_TYPE = "responses_api_agents"

Normalize = Callable[[dict[str, Any]], dict[str, Any]]
_MISSING = object()


@dataclass(frozen=True)
class RowRules:
    kind: Kind
    keys: Mapping[str, str]
    agent_names: frozenset[str] | None
    allow_missing_agent_ref: bool
    parse_answers: bool
    normalize: Normalize | None


def json_type(value: object) -> str:
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
    acc: RangeFindings,
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
        check, found = WRONG_TYPE, f"`{name}` is a JSON {json_type(value)}"
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
            return f"item {i} is a JSON {json_type(message)}, not an object"
        role = message.get("role")
        if type(role) is not str or not role:
            return f"item {i} has no non-empty string `role`"
        if not isinstance(message.get("content", _MISSING), content_types):
            return f"item {i} has no `content` of the expected type"
    return None


RowCheck = Callable[[dict[str, Any], int], None]


def _preference_checks(rules: RowRules, acc: RangeFindings) -> RowCheck:
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
def math_verify_parses() -> Callable[[str], bool] | None:
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


def _response_checks(rules: RowRules, acc: RangeFindings) -> RowCheck:
    input_key = rules.keys["input_key"]
    output_key = rules.keys["output_key"]
    parses = math_verify_parses() if rules.parse_answers else None

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


_AGENT_REF_SHAPE = f'{{"type": "{AGENT_TYPE}", "name": <agent instance>}}'
_GYM_INPUT = "responses_create_params.input"


def _nemo_gym_checks(rules: RowRules, acc: RangeFindings) -> RowCheck:
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
                else f"`responses_create_params` is a JSON {json_type(params)}"
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
        if type(name) is not str or not name or agent_ref.get("type") != AGENT_TYPE:
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


ROW_CHECKS: dict[str, Callable[[RowRules, RangeFindings], RowCheck]] = {
    "preference": _preference_checks,
    "response": _response_checks,
    "nemo_gym": _nemo_gym_checks,
}
