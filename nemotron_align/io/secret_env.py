"""Which environment variables hold secrets, and keeping their values off disk and off the terminal.

Standard library only: job records are written on Slurm nodes too. Every record we write goes
through write_record, and what we print through RedactingStream, so that a secret value is
replaced by `<redacted:NAME>` whatever key, override or message carries it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from nemotron_align.errors import LaunchRejected
from nemotron_align.io.atomic_file import write_atomically

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
REDACTED = "<redacted>"
# Shorter values (e.g. "1", "true") would match innocent config values.
_MIN_SECRET_LEN = 6
# A value is also found inside longer text from this length; shorter ones only as whole values.
_MIN_CONTAINED_LEN = 8
_MARKER = re.compile(r"<redacted:([A-Za-z_][A-Za-z0-9_]*)>")


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def marker(name: str) -> str:
    return f"<redacted:{name}>"


def env_secret_refused(name: str) -> LaunchRejected:
    """launch.env.<secret name>: the one place a secret is meant to come from is the environment."""
    return LaunchRejected(
        f"launch.env.{name}",
        "secrets are not taken in configs or on the command line, "
        "where they would be written to the run folder",
        f"drop it and export {name} in the environment instead; NeMo-RL inherits it",
    )


def redact(env: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in env.items()}


def secret_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """value -> variable name, for every secret-named variable of the environment."""
    environ = os.environ if environ is None else environ
    return {v: k for k, v in environ.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LEN}


def secret_in(text: str, values: Mapping[str, str]) -> str | None:
    """The name of the secret variable whose value `text` is or holds, if any."""
    if text in values:
        return values[text]
    found = [v for v in values if len(v) >= _MIN_CONTAINED_LEN and v in text]
    return values[max(found, key=len)] if found else None


def redact_text(text: str, values: Mapping[str, str] | None = None) -> str:
    """Every secret value of at least _MIN_CONTAINED_LEN characters in `text`, replaced."""
    values = secret_values() if values is None else values
    # Longest first: one secret may contain another.
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= _MIN_CONTAINED_LEN:
            text = text.replace(value, marker(values[value]))
    return text


def _redact_string(text: str, values: Mapping[str, str]) -> str:
    if text in values:
        return marker(values[text])
    # An override as typed: key=<secret>.
    key, assigns, value = text.partition("=")
    value = value.strip("'\"")
    if assigns and value in values:
        return f"{key}={marker(values[value])}"
    return redact_text(text, values)


def redact_values(node: Any, values: Mapping[str, str] | None = None) -> Any:
    """A copy with every string that is, or holds, a secret value replaced, whatever its key."""
    values = secret_values() if values is None else values
    if isinstance(node, dict):
        return {k: redact_values(v, values) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [redact_values(v, values) for v in node]
    return _redact_string(node, values) if isinstance(node, str) else node


def redact_secret_keys(node: Any) -> Any:
    """A copy with the text values of secret-named keys replaced (a Gym config's api_key). A
    number or flag (max_output_tokens) holds no secret, nor does a `${...}` reference, which
    names the setting that does."""
    if isinstance(node, dict):
        return {
            k: REDACTED if is_secret_name(str(k)) and _may_hold_secret(v) else redact_secret_keys(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [redact_secret_keys(v) for v in node]
    return node


def _may_hold_secret(value: Any) -> bool:
    return isinstance(value, str) and not (value.startswith("${") and value.endswith("}"))


def write_record(path: Path, content: Any) -> None:
    """Write a record atomically, secrets redacted: text as it is, anything else as JSON."""
    values = secret_values()
    if isinstance(content, str):
        text = redact_text(content, values)
    else:
        text = json.dumps(redact_values(content, values), indent=2) + "\n"
    write_atomically(path, text)


def restore_secrets(
    env: Mapping[str, str], environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """launch.env as recorded for a Slurm node, with each `<redacted:NAME>` put back from the
    node's environment (Slurm passes the submitting environment on)."""
    environ = os.environ if environ is None else environ
    return {
        k: _MARKER.sub(lambda m: environ.get(m.group(1), m.group(0)), v) for k, v in env.items()
    }


def scrub_files(paths: Iterable[Path], values: Mapping[str, str] | None = None) -> None:
    """Redact secret values in files another component (Hydra) already wrote."""
    values = secret_values() if values is None else values
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text(errors="surrogateescape")
        scrubbed = text
        for value, name in values.items():
            scrubbed = scrubbed.replace(value, marker(name))
        if scrubbed != text:
            path.write_text(scrubbed, errors="surrogateescape")


class RedactingStream:
    """sys.stdout / sys.stderr with secret values redacted from what is written to them."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._values = secret_values()

    def write(self, text: str) -> int:
        self._stream.write(redact_text(text, self._values) if self._values else text)
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)
