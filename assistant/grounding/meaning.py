"""Meaning checks for a written (paraphrase-mode) sentence against its best source sentence.

The lexical checks prove that a sentence's words occur in its source, not that it says what
the source says. "La déchetterie est fermée le dimanche" has every word in a page that says
"Dimanche : de 9 h à 12 h" and "La déchetterie est fermée les jours fériés". Three cheap
comparisons with the source sentence the support check found closest (``supporting_excerpt``):

``polarity``
    a negation, or one side of an antonym pair (ouvert/fermé, gratuit/payant,
    autorisé/interdit, obligatoire/facultatif, avant/après, possible/impossible), present in
    one and not in the other;
``periods``
    a day, a month, a holiday or a school-holiday period the sentence names that its source
    sentence does not, while the source sentence names another (the day was swapped);
``conditions``
    a condition of the source sentence ("si …", "sauf …", "uniquement …", "pendant …", "en cas
    de …", "pour les …") whose words the sentence dropped.

Measured on real service-public sentences by ``guichet calibrate meaning`` before being
switched on (``assistant/core/calibration/meaning.json``).
"""

from __future__ import annotations

import re

from assistant.core.answer import Check
from assistant.core.text import content_stems, fold, split_sentences

_NEGATION = re.compile(
    r"\b(ne|n')\s*(?:\w+\s+){0,3}?(pas|plus|jamais|aucun|aucune|rien|ni|personne)\b"
    r"|\b(aucun|aucune|jamais|non)\b"
)
# Each pair: (word forms of one side, word forms of the other), accent-folded.
_ANTONYMS: list[tuple[str, str]] = [
    (r"ouvert|ouverte|ouverts|ouvertes|ouvre|ouvrent", r"ferme|fermee|fermes|fermees|ferment"),
    (r"gratuit|gratuite|gratuits|gratuites|gratuitement", r"payant|payante|payants|payantes"),
    (r"autorise|autorisee|autorises|autorisees|permis|permise", r"interdit|interdite|interdits"),
    (r"obligatoire|obligatoires|obligatoirement", r"facultatif|facultative|facultatifs"),
    (r"avant", r"apres"),
    (r"possible|possibles", r"impossible|impossibles"),
]
_HOURS = re.compile(r"\b\d{1,2} ?h(?: ?\d{2})?\b")
_PERIOD = re.compile(
    r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|janvier|fevrier|mars|avril|mai|"
    r"juin|juillet|aout|septembre|octobre|novembre|decembre|feries?|vacances|week-end)s?\b"
)
_CONDITION = re.compile(
    r"\b(si|sauf|uniquement|seulement|pendant|en cas d[e']|pour les|excepte|hors|a condition)"
    r"\b([^.;:,]{3,80})"
)


def _sides(folded: str) -> set[tuple[int, int]]:
    out = set()
    for n, pair in enumerate(_ANTONYMS):
        for side, forms in enumerate(pair):
            if re.search(rf"\b({forms})\b", folded):
                out.add((n, side))
    return out


def polarity(sentence: str, source: str) -> Check:
    a, b = fold(sentence), fold(source)
    problems = []
    if bool(_NEGATION.search(a)) != bool(_NEGATION.search(b)):
        problems.append("negation in one and not the other")
    sa, sb = _sides(a), _sides(b)
    for n, side in sa:
        if (n, 1 - side) in sb and (n, side) not in sb:
            problems.append(f"opposite words ({_ANTONYMS[n][side].split('|')[0]})")
    # "fermée le dimanche" against "Dimanche : de 9 h à 12 h": opening hours say open.
    if (0, 1) in sa and (0, 1) not in sb and _HOURS.search(b):
        problems.append("closed where its source gives opening hours")
    return Check(name="polarity", passed=not problems, detail="; ".join(problems))


def periods(sentence: str, source: str) -> Check:
    said = {m.group(1).rstrip("s") for m in _PERIOD.finditer(fold(sentence))}
    given = {m.group(1).rstrip("s") for m in _PERIOD.finditer(fold(source))}
    swapped = sorted(said - given) if given and said - given else []
    return Check(
        name="periods",
        passed=not swapped,
        detail=f"names {', '.join(swapped)} where its source says {', '.join(sorted(given))}"
        if swapped
        else "",
    )


def conditions(sentence: str, source: str) -> Check:
    said = set(content_stems(sentence))
    dropped = []
    for m in _CONDITION.finditer(fold(source)):
        words = set(content_stems(m.group(2)))
        if words and len(words & said) * 2 < len(words):
            dropped.append(f"{m.group(1)}{m.group(2)}".strip())
    return Check(
        name="conditions",
        passed=not dropped,
        detail=f"drops the source's condition: {dropped[0]!r}" if dropped else "",
    )


def closest_sentence(sentence: str, source: str) -> str:
    """The one sentence of ``source`` sharing most content words with ``sentence``.

    The support check hands over a window of three source sentences; compared with the whole
    window, "La déchetterie est fermée le dimanche" finds "fermée" (in "fermée les jours
    fériés") and "dimanche" (in "Dimanche : de 9 h à 12 h") and looks faithful. Against the
    one sentence it mostly repeats, the swapped period shows."""
    parts = split_sentences(source)
    if len(parts) <= 1:
        return source
    said = set(content_stems(sentence))
    return max(parts, key=lambda p: len(said & set(content_stems(p))))


def meaning_checks(sentence: str, source: str | None) -> list[Check]:
    """The three checks, or none when no source sentence was found to compare with."""
    if not source:
        return []
    closest = closest_sentence(sentence, source)
    return [
        polarity(sentence, closest),
        periods(sentence, closest),
        conditions(sentence, closest),
    ]
