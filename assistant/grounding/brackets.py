"""Table rows for another bracket than the asker's own figure.

"Notre QF est de 600": the row "de 1 201 à 1 600 € : 3,95 €" is a true price and the wrong
one. A question's figures (at least 100, not a year unless it is an amount) are matched
against the bracket a row opens with.
"""

from __future__ import annotations

import re

_NUM = r"(\d{1,3}(?:[  ]\d{3})*|\d+)"
_ROW_RANGE = re.compile(
    rf"^\s*(?:de |entre )?{_NUM}\s*(?:€|euros)?\s*(?:à|a|-|et)\s*{_NUM}\s*(?:€|euros)"
)
_ROW_ABOVE = re.compile(rf"^\s*(?:plus de|au-dela de|a partir de|au-delà de|à partir de)\s*{_NUM}")
_ROW_BELOW = re.compile(rf"^\s*(?:moins de|jusqu'a|jusqu'à)\s*{_NUM}")
_QUESTION_NUMBER = re.compile(rf"(?<![\d,.]){_NUM}(?![\d,.])(\s*(?:€|euros))?")


def _int(raw: str) -> int:
    return int(re.sub(r"\D", "", raw))


def question_figures(question: str) -> list[int]:
    """The asker's own figures that a table bracket could be about (a quotient, an income):
    at least 100, and not a year unless it is an amount."""
    out = []
    for m in _QUESTION_NUMBER.finditer(question):
        n = _int(m.group(1))
        if n >= 100 and (not 1990 <= n <= 2099 or m.group(2)):
            out.append(n)
    return out


def row_bracket(text: str) -> tuple[float, float] | None:
    """The bracket a table row opens with ("de 451 à 800 € — …"), if it does."""
    head = text.strip()
    if m := _ROW_RANGE.match(head):
        return _int(m.group(1)), _int(m.group(2))
    if m := _ROW_ABOVE.match(head):
        return _int(m.group(1)), float("inf")
    if m := _ROW_BELOW.match(head):
        return 0, _int(m.group(1))
    return None


def in_own_bracket(question: str, text: str) -> bool:
    """A table row for a bracket that holds one of the question's own figures."""
    bracket = row_bracket(text)
    if bracket is None:
        return False
    return any(bracket[0] <= n <= bracket[1] for n in question_figures(question))


def outside_bracket(question: str, text: str) -> bool:
    """A row for another bracket than every figure the question gives."""
    bracket = row_bracket(text)
    figures = question_figures(question)
    if bracket is None or not figures:
        return False
    low, high = bracket
    return not any(low <= n <= high for n in figures)
