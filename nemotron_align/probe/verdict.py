"""The probe's table, and its verdict: a launch refused naming every row scored wrongly."""

from __future__ import annotations

from pathlib import Path

from nemotron_align.errors import LaunchRejected, LaunchRejectedMany
from nemotron_align.probe.scoring import ProbeResult

TABLE_CELL_WIDTH = 24


def _cell(text: str, width: int = TABLE_CELL_WIDTH) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def format_table(result: ProbeResult) -> str:
    header = ("row", "expected", "good answer", "reward", "wrong answer", "reward", "verdict")
    body = [
        (
            Path(o.row.where).name,
            _cell(o.row.expected),
            _cell(o.good_answer),
            f"{o.good.reward:.1f}",
            _cell(o.wrong_answer),
            f"{o.wrong.reward:.1f}",
            "ok" if o.ok else "FAIL",
        )
        for o in result.outcomes
    ]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    lines = [f"reward probe: {result.mode}"]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *body]
    ]
    failed = len(result.failures)
    lines.append(
        f"{len(result.outcomes) - failed}/{len(result.outcomes)} rows ok"
        + ("" if result.ok else f", {failed} FAILED")
    )
    return "\n".join(line.rstrip() for line in lines)


def reject_if_failed(result: ProbeResult) -> None:
    """Refuse the launch, naming each row whose good answer missed 1.0 or wrong one missed 0.0."""
    if not result.outcomes:
        raise LaunchRejected("reward probe", "no rows were scored", "give rows to probe")
    problems = []
    for o in result.failures:
        what, fixes = [], []
        if not o.good_ok:
            what.append(
                f"its own expected answer {o.good_answer} scored {o.good.reward:g}, not 1.0 "
                f"(verifier extracted {o.good.extracted!r})"
            )
            fixes.append(
                "write the expected answer so the verifier parses it (a bare number or LaTeX "
                "expression, no surrounding words or units), or fix the verifier's config"
            )
        if not o.wrong_ok:
            what.append(
                f"the wrong answer {o.wrong_answer} scored {o.wrong.reward:g}, not 0.0 "
                f"(verifier extracted {o.wrong.extracted!r})"
            )
            fixes.append(
                "the verifier rewards wrong answers: check the reward setup (e.g. a judge that "
                "accepts everything, or a reward that ignores the answer) before training"
            )
        problems.append(
            LaunchRejected(
                o.row.where, f"reward probe ({result.mode}): " + "; ".join(what), "; ".join(fixes)
            )
        )
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise LaunchRejectedMany(problems)
