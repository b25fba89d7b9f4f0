"""NeMo-Gym training rows: normalize other row shapes into Gym's, and check agent references.

Gym needs `responses_create_params.input` and an `agent_ref` naming the agent that runs the
rollout. Rows written for other tools carry the prompt as `messages`, `prompt`, `question`,
`problem` or `input` (ShareGPT `from`/`value` turns too); they are rewritten into Gym's shape in a
content-addressed file, so the same data always maps to the same file name.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from nemotron_align.errors import LaunchRejected, not_a_file
from nemotron_align.io.jsonl import read_json_lines
from nemotron_align.preflight.data_check import check_file
from nemotron_align.preflight.data_rows import AGENT_TYPE

PROMPT_FIELDS = ("messages", "prompt", "question", "problem", "input")
_SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "system": "system",
}


def _as_messages(value: Any) -> list[dict[str, Any]] | None:
    if isinstance(value, str) and value.strip():
        return [{"role": "user", "content": value}]
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        messages = []
        for m in value:
            if "from" in m and "value" in m:
                messages.append(
                    {"role": _SHAREGPT_ROLES.get(m["from"], m["from"]), "content": m["value"]}
                )
            elif "role" in m and "content" in m:
                messages.append({"role": m["role"], "content": m["content"]})
            else:
                return None
        return messages
    return None


def normalize_row(row: dict[str, Any], default_agent: str | None) -> dict[str, Any]:
    """Gym's shape: responses_create_params.input from the first prompt field, plus agent_ref."""
    out = dict(row)
    if "responses_create_params" not in out:
        for name in PROMPT_FIELDS:
            messages = _as_messages(row.get(name))
            if messages is not None:
                out["responses_create_params"] = {"input": messages}
                break
    if "agent_ref" not in out and default_agent is not None:
        out["agent_ref"] = {"type": AGENT_TYPE, "name": default_agent}
    return out


def default_agent(data: dict[str, Any], agents: set[str] | None) -> str | None:
    """data.default_agent_ref if set, else the only agent defined, else None."""
    configured = data.get("default_agent_ref")
    if isinstance(configured, dict):
        configured = configured.get("name")
    if configured:
        return str(configured)
    return next(iter(agents)) if agents is not None and len(agents) == 1 else None


def split_settings(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Settings of the train and validation datasets, data.default filling gaps as in NeMo-RL."""
    default = data.get("default") or {}
    return {
        split: {**default, **data[split]}
        for split in ("train", "validation")
        if isinstance(data.get(split), dict)
    }


def split_paths(data: dict[str, Any], root: Path | None = None) -> dict[str, Path]:
    """data.<split>.data_path for train and validation; a relative one under `root` if given
    (NeMo-RL reads it from its root)."""
    return {
        split: (root or Path()) / settings["data_path"]
        for split, settings in split_settings(data).items()
        if settings.get("data_path")
    }


def check_rows(
    data: dict[str, Any], agents: set[str] | None, root: Path | None = None, max_reported: int = 20
) -> list[LaunchRejected]:
    """Every Gym data file through data_check, rows rewritten first as the Gym runner will. A
    relative path is read under `root`, the NeMo-RL root, and left unchecked where that root is
    not on this machine (the data check warns)."""
    normalize = functools.partial(normalize_row, default_agent=default_agent(data, agents))
    problems: list[LaunchRejected] = []
    for split, path in split_paths(data).items():
        if root is not None and not path.is_absolute():
            if not root.is_dir():
                continue
            path = root / path
        if not path.is_file():
            problems.append(
                LaunchRejected(
                    f"data.{split}.data_path",
                    not_a_file(path),
                    "point it at an existing JSONL file",
                )
            )
            continue
        report = check_file(
            path, "nemo_gym", agent_names=agents, normalize=normalize, max_reported=max_reported
        )
        problems += report.rejections()
    return problems


def write_normalized(path: Path, agent: str | None, out_dir: Path) -> Path:
    """`path` in Gym's shape as <stem>.<sha1[:12]>.nemo_gym.jsonl; unchanged data stays put."""
    lines = []
    changed = False
    for _, row in read_json_lines(path):
        normalized = normalize_row(row, agent)
        changed |= normalized != row
        lines.append(json.dumps(normalized, ensure_ascii=False, sort_keys=True))
    if not changed:
        return path
    body = "\n".join(lines) + "\n"
    digest = hashlib.sha1(body.encode()).hexdigest()[:12]
    target = out_dir / f"{path.stem}.{digest}.nemo_gym.jsonl"
    if not target.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(body)
        tmp.replace(target)
    return target
