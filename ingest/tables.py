"""Markdown tables → one sentence per row, "Mercredi : de 10 h à 18 h.".

A table row flattened into a chunk ("| Jour | Horaires | |---|---| | Mercredi | …") is hard to
read for a small model and useless to a sentence splitter; a row written as a sentence keeps
its header words next to its values, which helps retrieval, the prompt and the support check.
"""

from __future__ import annotations

import re

_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    match = _ROW.match(line)
    if not match:
        return []
    return [c.strip().strip("*").strip() for c in match.group(1).split("|")]


def row_sentence(header: list[str], row: list[str]) -> str:
    values = [v for v in row if v]
    if not values:
        return ""
    if len(row) == 2 or not header:
        text = " : ".join(values)
    else:
        first, rest = row[0], list(zip(header[1:], row[1:], strict=False))
        parts = [f"{h} : {v}" if h else v for h, v in rest if v]
        text = f"{first} — " + " ; ".join(parts) if first else " ; ".join(parts)
    return text if text.endswith((".", "!", "?")) else text + "."


def header_line(header: list[str]) -> str:
    """A two-column table's header as a heading line ("Entrée — Prix"): its rows are written
    "Adulte : 4,50 €." without the column names, and the first one often says what the rows
    are (an entry, a room, a day). Wider tables keep their names in every row."""
    names = [h for h in header if h]
    if len(header) != 2 or len(names) != 2:
        return ""
    return " — ".join(names)


def tables_to_sentences(markdown: str) -> str:
    lines = markdown.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _cells(lines[i])
        if header and i + 1 < len(lines) and _RULE.match(lines[i + 1]):
            i += 2
            if head := header_line(header):
                out.append(head)
            while i < len(lines) and _cells(lines[i]):
                sentence = row_sentence(header, _cells(lines[i]))
                if sentence:
                    out.append(sentence)
                i += 1
            out.append("")
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)
