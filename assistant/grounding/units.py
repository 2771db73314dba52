"""Quotable units of a passage: the pieces a quote-mode answer is made of.

A unit is what a citizen can be shown verbatim and still read right: a prose sentence, one
list item, one table row (ingest writes rows as "Dimanche : de 9 h à 12 h."). Headings and
lead-ins ("Pièces à fournir :") are not units: alone they answer nothing. They are kept as the
unit's ``context`` instead, because a heading often carries the condition of what follows it
("Pendant les petites vacances scolaires" → "Tous les jours de 10 h à 19 h."): a row quoted
without its heading would state a holiday timetable as the everyday one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from assistant.core.text import split_prose

T = TypeVar("T")

_BULLET = re.compile(r"^(?:[-*•–]\s+|\d{1,2}[.)]\s+)")
_END = (".", "!", "?", "…", ";", ":", ")", "»", '"')
# A paragraph line longer than this is cut into sentences; a shorter one (a row, an item, a
# one-sentence paragraph) stays whole.
_LINE_MAX = 220
_HEADING_MAX = 100


@dataclass(frozen=True)
class Unit:
    text: str  # verbatim, bullet marker removed
    context: str = ""  # the nearest heading above it inside the passage, "" if none
    lead: str = ""  # the lead-in line a list item completes ("Pièces à fournir :")
    item: bool = False  # a bulleted or numbered list item


def _is_heading(line: str, has_next: bool) -> bool:
    return (
        has_next
        and len(line) <= _HEADING_MAX
        and not line.endswith(_END)
        and not _BULLET.match(line)
    )


def split_units(text: str) -> list[Unit]:
    """Units of ``text`` in reading order (see the module docstring)."""
    lines = [ln.strip() for ln in text.splitlines()]
    lines = [ln for ln in lines if ln and ln != "…"]
    units: list[Unit] = []
    context = lead = ""
    after_heading = False
    for i, line in enumerate(lines):
        if _is_heading(line, has_next=i + 1 < len(lines)):
            # A heading right under another one refines it ("En période scolaire", then a
            # table's "Jour — Horaires"): the condition above must stay with the rows.
            context = f"{context} > {line}" if after_heading and context else line
            lead, after_heading = "", True
            continue
        after_heading = False
        bullet = _BULLET.match(line)
        body = line[bullet.end() :].strip() if bullet else line
        if line.endswith(":") and not bullet:
            # Announces the list below: the context of its items. A long one says something
            # itself ("Chaque carte permet d'emprunter jusqu'à 10 documents … :").
            lead = line
            if _says_something(line):
                units.append(Unit(line, context))
            continue
        if not bullet:
            lead = ""
        pieces = [body] if bullet or len(body) <= _LINE_MAX else split_prose(body)
        units.extend(
            Unit(p, context, lead if bullet else "", item=bool(bullet))
            for p in pieces
            if len(p) > 2
        )
    return units


_MIN_LEAD_WORDS = 8


def _says_something(lead_in: str) -> bool:
    return len(lead_in.split()) >= _MIN_LEAD_WORDS


def is_statement(unit: Unit) -> bool:
    """A unit that can answer: not a dangling fragment (a short lead-in ending with a colon,
    a phrase cut at a comma)."""
    text = unit.text.rstrip()
    if text.endswith(","):
        return False
    return not text.endswith(":") or _says_something(text)


def run_around(items: Sequence[T], index: int, place: Callable[[T], object]) -> list[int]:
    """The indices of the run of ``items`` around ``index`` that share its ``place`` (a list's
    heading and lead-in), or only ``index`` when its place is None (not a list item)."""
    here = place(items[index])
    if here is None:
        return [index]
    low = high = index
    while low > 0 and place(items[low - 1]) == here:
        low -= 1
    while high + 1 < len(items) and place(items[high + 1]) == here:
        high += 1
    return list(range(low, high + 1))


def list_around(units: list[Unit], index: int) -> list[int]:
    """The indices of the list ``units[index]`` belongs to: the run of items around it under
    the same heading and lead-in (only itself when it is not a list item)."""
    return run_around(units, index, lambda u: (u.context, u.lead) if u.item else None)
