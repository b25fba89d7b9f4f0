"""Overrides the override grammar refuses, or that sweep without -m: the quoting that makes the
value one string, for Hydra's grammar and for the shell around it."""

from __future__ import annotations

import re
import shlex

from nemotron_align.errors import LaunchRejected


def _quoted(value: str) -> str:
    """`value` as one quoted string of the override grammar, where a backslash escapes a quote
    (and a backslash before one)."""
    escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\" + m[2] if m[2] else ""), value)
    return f"'{escaped}'"


def _for_shell(arg: str) -> str:
    """In double quotes, which keep single quotes and lone backslashes as they are."""
    if re.search(r'["$`!]|\\[$`"\\\n]|\\$', arg):
        return shlex.quote(arg)
    return f'"{arg}"'


def _unbalanced(value: str) -> bool:
    return any(value.count(a) != value.count(b) for a, b in ("[]", "{}", "()"))


def grammar_problem(override: str, err: Exception) -> LaunchRejected:
    prefix = override[: len(override) - len(override.lstrip("+~"))]
    key, assigns, value = override[len(prefix) :].partition("=")
    reason = str(err).strip().splitlines()[0]
    problem = f"'{override}' is not valid override grammar ({reason})"
    if not assigns:
        return LaunchRejected(key, problem, f"give it a value, {key}=<value>, or delete it: ~{key}")
    as_string = _for_shell(f"{prefix}{key}={_quoted(value)}")
    if _unbalanced(value):
        fix = (
            f"close the list or dict ({key}=[a,b], {key}={{k:v}}), or, if the value is one "
            f"string, quote it: {as_string}"
        )
    else:
        fix = (
            "quote the value (the grammar reads = , [ ] { } ( ) and quotes in an unquoted one), "
            f"and the whole override for the shell: {as_string}"
        )
    return LaunchRejected(key, problem, fix)


def sweep_problem(override: str, options: list[str]) -> LaunchRejected:
    """A sweep in a single run; options: those of the config group it names, if it is one."""
    key, _, value = override.partition("=")
    name = key.lstrip("+~")
    one_run = (
        f"for one run, pick one option ({', '.join(options)})"
        if options
        else f"for one run, give one value, a list ({key}=[{value}]) or a string "
        f"({_for_shell(f'{key}={_quoted(value)}')})"
    )
    return LaunchRejected(
        name,
        f"several values ({value}) make a sweep, one job per value, which runs with -m",
        f"add -m to run one job per value; {one_run}",
    )
