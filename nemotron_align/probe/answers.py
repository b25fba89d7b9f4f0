"""A known-good and a known-wrong answer to a row's expected answer, as a verifier reads them."""

from __future__ import annotations

import re
from fractions import Fraction

# The wrong answer for anything that is not a plain number or a single letter: a negative
# non-integer no symbolic, textual or set-valued answer equals.
WRONG_SENTINEL = "-987654.5"


def strip_math_delimiters(text: str) -> str:
    """Drop outer \\( \\) or $ $, as math_with_judge does before boxing the expected answer."""
    text = text.strip()
    if text.startswith("\\(") and text.endswith("\\)"):
        text = text[2:-2].strip()
    if text.startswith("$") and text.endswith("$") and len(text) > 1:
        text = text[1:-1].strip()
    return text


_DECIMAL = re.compile(r"\d+(\.\d*)?|\.\d+")
_SLASH = re.compile(r"(\d+)\s*/\s*(\d+)")
_FRAC = re.compile(r"\\[dt]?frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}")
_LETTER = re.compile(r"\(?([A-Za-z])\)?")


def as_number(text: str) -> Fraction | None:
    """The exact value of a plain number: 42, -3.5, 3/4, \\frac{3}{4}; None for anything else."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-").strip()
    if _DECIMAL.fullmatch(body):
        return sign * Fraction(body)
    fraction = _SLASH.fullmatch(body) or _FRAC.fullmatch(body)
    if fraction and int(fraction.group(2)) != 0:
        return sign * Fraction(int(fraction.group(1)), int(fraction.group(2)))
    return None


def _latex_number(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"\\frac{{{value.numerator}}}{{{value.denominator}}}"


def good_answer(expected: str) -> str:
    return f"\\boxed{{{strip_math_delimiters(expected)}}}"


def wrong_answer(expected: str) -> str:
    """An answer no verifier may accept for `expected`.

    A number x gets 2|x| + 7: never equal to x, and at least 7 and 100% away from it, so no
    rounding tolerance can match them. A single letter (a multiple-choice answer, a variable)
    gets the next letter. Anything else gets a fixed negative non-integer.
    """
    stripped = strip_math_delimiters(expected)
    value = as_number(stripped)
    if value is not None:
        return f"\\boxed{{{_latex_number(2 * abs(value) + 7)}}}"
    letter = _LETTER.fullmatch(stripped)
    if letter:
        char = letter.group(1)
        base = ord("A") if char.isupper() else ord("a")
        return f"\\boxed{{{chr(base + (ord(char) - base + 1) % 26)}}}"
    return f"\\boxed{{{WRONG_SENTINEL}}}"
