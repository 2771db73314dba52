"""Calibrate the subject check: how much of a question must a sentence's subject text cover?

For each demo question, the units of its retrieved passages (``assistant.grounding.units``)
are scored with ``subject_coverage`` (title, section, heading, words; IDF-weighted; asking
words left out). Labels come from the dataset, not from the check:

- *gold*: a unit of an expected document that holds one of the expected facts (answerable and
  two-source questions): it must pass;
- *other document*: a unit of a document outside ``expected_sources`` (answerable and
  two-source questions): passing it is how the médiathèque's prices reached a pool answer;
- *out of corpus*: any unit retrieved for an out-of-corpus question: nothing should pass.

Two thresholds (``assistant.grounding.subject.SubjectJudge``): the unit's passage covers the
question at least ``relative`` times as well as the best retrieved passage, and the unit's own
subject text covers at least ``unit`` of it. Policy: keep at least 80 % of gold units (a
dropped one costs an answer, never a wrong one; the questions are wordy, "je suis née à la
clinique…", so a strict absolute bar drops most of them) and, among such pairs, drop the
most other-document units. Out-of-corpus questions are reported, not optimised: the gate and
the model's not-found answer refuse them first. Chosen on even-numbered questions, reported
on odd-numbered ones.

    guichet calibrate subject [--write]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.core.settings import CALIBRATION_DIR

REPO = Path(__file__).resolve().parents[2]
OUT = CALIBRATION_DIR / "subject.json"
MIN_GOLD = 0.80
GRID = [(a / 10, b / 20) for a in range(3, 9) for b in range(0, 7)]


@dataclass
class Scored:
    question: str
    even: bool
    category: str
    gold: list[tuple[float, float]]  # (relative, unit) per gold unit
    other: list[tuple[float, float]]
    all_units: list[tuple[float, float]]


def score_questions(k: int = 5) -> list[Scored]:
    from assistant.core.settings import get_settings
    from assistant.grounding.subject import SubjectJudge
    from assistant.grounding.units import split_units
    from assistant.pipeline import Assistant
    from evals.datasets import demo
    from evals.metrics import contains, source_matches
    from evals.run import ensure_corpus

    settings = get_settings()
    collection = ensure_corpus("demo", settings, collection=None, rebuild=False)
    assistant = Assistant(settings, collection=collection)
    stats = assistant.term_stats()
    out = []
    for item in demo():
        if item.category not in ("answerable", "two_sources", "out_of_corpus"):
            continue
        chunks = assistant.retriever.search(item.question, k)
        heads = [(f"{c.title} {c.section}", c.text) for c in chunks]
        judge = SubjectJudge.for_question(item.question, heads, stats, 0.0, 0.0)
        gold, other, every = [], [], []
        for chunk in chunks:
            expected = any(
                source_matches(e, chunk.doc_id, chunk.path, chunk.page)
                for e in item.expected_sources
            )
            relative = judge.relative(f"{chunk.title} {chunk.section}", chunk.text)
            for unit in split_units(chunk.text):
                text = f"{chunk.title} {chunk.section} {unit.context} {unit.lead} {unit.text}"
                pair = (relative, judge.unit(text))
                every.append(pair)
                if item.category == "out_of_corpus":
                    continue
                if not expected:
                    other.append(pair)
                elif any(contains(f"{unit.lead} {unit.text}", f) for f in item.expected_facts):
                    gold.append(pair)
        number = int(item.id.rsplit("-", 1)[-1])
        out.append(Scored(item.question, number % 2 == 0, item.category, gold, other, every))
    return out


def rates(rows: list[Scored], t: tuple[float, float]) -> dict:
    def ok(pair: tuple[float, float]) -> bool:
        return pair[0] >= t[0] and pair[1] >= t[1]

    gold = [p for r in rows for p in r.gold]
    other = [p for r in rows for p in r.other]
    ooc = [r for r in rows if r.category == "out_of_corpus"]
    return {
        "gold_kept": sum(map(ok, gold)) / max(1, len(gold)),
        "other_document_dropped": sum(not ok(p) for p in other) / max(1, len(other)),
        "out_of_corpus_questions_with_no_unit": sum(not any(map(ok, r.all_units)) for r in ooc)
        / max(1, len(ooc)),
        "gold_units": len(gold),
        "other_units": len(other),
        "out_of_corpus_questions": len(ooc),
    }


def choose(rows: list[Scored]) -> tuple[float, float]:
    ok = [t for t in GRID if rates(rows, t)["gold_kept"] >= MIN_GOLD]
    if not ok:
        return GRID[0]
    return max(ok, key=lambda t: (rates(rows, t)["other_document_dropped"], t))


def calibrate_subject(write: bool = False) -> dict:
    """Choose on even-numbered questions, report on odd ones; ``write``: subject.json."""
    rows = score_questions()
    even, odd = [r for r in rows if r.even], [r for r in rows if not r.even]
    t = choose(even)
    result = {
        "subject_min_relative": t[0],
        "subject_min_unit": t[1],
        "policy": f"keep >= {MIN_GOLD:.0%} of gold units; then drop most other-document units",
        "grid": {f"{x[0]}/{x[1]}": rates(even, x) for x in GRID},
        "calibration": rates(even, t),
        "report": rates(odd, t),
    }
    if write:
        OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return result
