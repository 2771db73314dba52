"""Seasons asked for against the month ranges a text gives.

"Horaires du cimetière en hiver ?" must not get the row "du 1er avril au 30 septembre : de 8 h
à 19 h": every word is true, and the season is wrong. Town-hall pages write seasons as month
ranges ("du 1er octobre au 31 mars"), so a season in the question is compared with the months
a unit's range covers.
"""

from __future__ import annotations

import re

from assistant.core.text import fold
from assistant.grounding.fact_patterns import MONTHS

# The months that are surely inside each season, whatever a page's own cut-off dates.
SEASON_MONTHS = {
    "hiver": {12, 1, 2},
    "ete": {7, 8},
    "printemps": {4, 5},
    "automne": {10, 11},
}
_SEASON = re.compile(r"\b(hiver|hivernal|hivernaux|ete|estival|estivaux|printemps|automne)s?\b")
_ALIASES = {"hivernal": "hiver", "hivernaux": "hiver", "estival": "ete", "estivaux": "ete"}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_RANGE = re.compile(
    rf"\b(?:du|de)\s+(?:\d{{1,2}}(?:er)?\s+)?({_MONTH})\.?\s+(?:au|a|jusqu'au)\s+"
    rf"(?:\d{{1,2}}(?:er)?\s+)?({_MONTH})\b"
)


def asked_seasons(question: str) -> set[str]:
    found = {m.group(1) for m in _SEASON.finditer(fold(question).lower())}
    return {_ALIASES.get(s, s) for s in found}


def range_months(text: str) -> set[int] | None:
    """The months the text's month ranges cover ("du 1er octobre au 31 mars" → 10..3), or
    None when it gives no range."""
    months: set[int] = set()
    for m in _RANGE.finditer(fold(text).lower()):
        a, b = MONTHS[m.group(1)], MONTHS[m.group(2)]
        months |= {(a - 1 + i) % 12 + 1 for i in range((b - a) % 12 + 1)}
    return months or None


def outside_season(question: str, text: str) -> bool:
    """A unit whose month ranges miss every season the question asks for."""
    seasons = asked_seasons(question)
    months = range_months(text)
    if not seasons or months is None:
        return False
    return not any(SEASON_MONTHS[s] & months for s in seasons)
