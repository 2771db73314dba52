"""Measure the paraphrase-mode meaning checks (``assistant.grounding.meaning``) on real
service-public sentences before relying on them.

Data, read in place: the gold sentences of the 105 spf questions (``evals.calibrate.support``).
Each gold sentence is its own source sentence. Faithful restatements (the support
calibration's rewrites 1 and 2: a "Selon la fiche" prefix, phrasing swaps and synonyms) must
pass; altered ones must fail the check made for them:

- *negated*: "est" → "n'est pas" (and the like) on the first such verb: ``polarity``;
- *antonym*: one word of an antonym pair swapped ("gratuit" → "payant"): ``polarity``;
- *period swapped*: one day or month replaced by another: ``periods``;
- *condition dropped*: the source's condition clause ("si …", "pour les …") removed:
  ``conditions``.

Reported per check: false alarms on faithful restatements, detection of its alterations, and
precision (alterations caught / all failures). Output ``assistant/core/calibration/meaning.json``.

    guichet calibrate meaning
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from assistant.core.settings import CALIBRATION_DIR
from assistant.core.text import fold
from assistant.grounding.meaning import _CONDITION, conditions, periods, polarity

REPO = Path(__file__).resolve().parents[2]
OUT = CALIBRATION_DIR / "meaning.json"

_VERBS = [
    (r"\b(est)\b", "n'est pas"),
    (r"\b(sont)\b", "ne sont pas"),
    (r"\b(peut)\b", "ne peut pas"),
    (r"\b(peuvent)\b", "ne peuvent pas"),
    (r"\b(doit)\b", "ne doit pas"),
    (r"\b(doivent)\b", "ne doivent pas"),
]
_SWAPS = [
    ("gratuit", "payant"),
    ("gratuite", "payante"),
    ("obligatoire", "facultatif"),
    ("avant", "après"),
    ("autorisé", "interdit"),
    ("ouvert", "fermé"),
    ("possible", "impossible"),
]
_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août"]


def negate(s: str) -> str | None:
    if re.search(r"\b(ne|n')\b", s):
        return None
    for pattern, repl in _VERBS:
        if re.search(pattern, s):
            return re.sub(pattern, repl, s, count=1)
    return None


def antonym(s: str) -> str | None:
    for a, b in _SWAPS:
        for x, y in ((a, b), (b, a)):
            if re.search(rf"\b{x}\b", s):
                return re.sub(rf"\b{x}\b", y, s, count=1)
    return None


def swap_period(s: str) -> str | None:
    for words in (_DAYS, _MONTHS):
        for i, w in enumerate(words):
            if re.search(rf"\b{w}\b", s):
                other = words[(i + 3) % len(words)]
                if not re.search(rf"\b{other}\b", s):
                    return re.sub(rf"\b{w}\b", other, s, count=1)
    return None


def drop_condition(s: str) -> str | None:
    m = _CONDITION.search(fold(s))
    if not m:
        return None
    # the folded text has the source's length: cut the same span of the original
    out = (s[: m.start()] + s[m.end() :]).strip(" ,")
    return out if len(out) > 20 else None


def measure() -> dict:
    from evals.calibrate.support import load_questions, rewrite

    sources = [q.sentence for q in load_questions() if len(q.sentence) > 20]
    checks = {"polarity": polarity, "periods": periods, "conditions": conditions}
    alterations = {
        "polarity": [negate, antonym],
        "periods": [swap_period],
        "conditions": [drop_condition],
    }
    out: dict = {"sentences": len(sources)}
    for name, check in checks.items():
        faithful = [(rewrite(s, v), s) for s in sources for v in (1, 2)]
        alarms = sum(not check(t, s).passed for t, s in faithful)
        altered = [(a, s) for s in sources for alter in alterations[name] if (a := alter(s))]
        caught = sum(not check(a, s).passed for a, s in altered)
        out[name] = {
            "faithful": len(faithful),
            "false_alarms": alarms,
            "altered": len(altered),
            "caught": caught,
            "detection": caught / len(altered) if altered else None,
            "precision": caught / (caught + alarms) if caught + alarms else None,
        }
    return out


def calibrate_meaning() -> dict:
    """Measure, and write ``meaning.json`` (a record of the measure, read by nothing)."""
    result = measure()
    OUT.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return result
