"""The wrong-but-delivered metric, the outcomes, the smoke gate and the judged sheet."""

from __future__ import annotations

import csv
import json

import pytest

from assistant.core.answer import Answer, Sentence, Source, Verdict
from evals.datasets import EvalItem
from evals.judge import read_marks, write_sheet
from evals.metrics import outcome, score, wrong_reasons
from evals.smoke import gate

ITEM = EvalItem(
    id="demo-001",
    question="C'est combien l'entrée adulte à la piscine ?",
    expected_sources=["piscine-municipale.md"],
    expected_facts=["4,50 €"],
    gold_answer="L'entrée adulte coûte 4,50 €.",
)
POOL = Source(
    id=1, chunk_id="a", doc_id="piscine-municipale.md", title="Piscine", excerpt="Adulte : 4,50 €."
)
LIBRARY = Source(
    id=3, chunk_id="b", doc_id="mediatheque.md", title="Médiathèque", excerpt="Adulte : 12,00 €."
)


def answer(*sentences: tuple[str, int], verdict: Verdict = Verdict.answered) -> Answer:
    return Answer(
        question=ITEM.question,
        verdict=verdict,
        sentences=[Sentence(text=t, source_ids=[n]) for t, n in sentences],
        sources=[POOL, LIBRARY],
        text=" ".join(t for t, _ in sentences),
    )


def test_the_issue_case_is_wrong_even_though_it_contains_the_gold_fact():
    # "4,50 € [1] … Adulte habitant la commune : 12,00 € [3]" was scored correct before.
    a = answer(("4,50 €", 1), ("Adulte habitant la commune : 12,00 €", 3))
    reasons = wrong_reasons(ITEM, a)
    assert any("mediatheque.md" in r for r in reasons)
    assert outcome(ITEM, a, correct=True) == "wrong"


def test_another_amount_than_the_gold_is_wrong_and_the_right_one_correct():
    other = answer(("Adulte : 2,80 €.", 1))
    assert any("2,80 €" in r for r in wrong_reasons(ITEM, other))
    right = answer(("Adulte : 4,50 €.", 1))
    assert wrong_reasons(ITEM, right) == []
    assert outcome(ITEM, right, correct=True) == "correct"
    refused = answer(verdict=Verdict.refused)
    assert outcome(ITEM, refused, correct=False) == "refused"


def test_out_of_corpus_answer_is_wrong():
    item = ITEM.model_copy(update={"category": "out_of_corpus", "expected_sources": []})
    assert wrong_reasons(item, answer(("Adulte : 4,50 €.", 1))) == [
        "out-of-corpus question answered"
    ]


def test_smoke_gate_fails_on_a_wrong_delivered_answer():
    a = answer(("4,50 €", 1), ("Adulte habitant la commune : 12,00 €", 3))
    record = {"id": ITEM.id, "category": ITEM.category, "scores": score(ITEM, a), "answer": {}}
    failures = gate([record])
    assert failures and "wrong answer delivered" in failures[0]
    ok = {
        "id": ITEM.id,
        "category": ITEM.category,
        "scores": score(ITEM, answer(("Adulte : 4,50 €.", 1))),
    }
    assert gate([ok]) == []


def test_judge_sheet_round_trip(tmp_path):
    a = answer(("Adulte : 4,50 €.", 1))
    record = {
        "id": ITEM.id,
        "dataset": "demo",
        "model": "m",
        "config": "c",
        "verify": True,
        "config_hash": "h",
        "category": ITEM.category,
        "item": ITEM.model_dump(),
        "answer": a.model_dump(mode="json"),
        "scores": score(ITEM, a),
    }
    (tmp_path / "results.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    sheet = write_sheet(tmp_path)
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert len(rows) == 1 and "4,50 €" in rows[0]["cited_passages"]
    rows[0]["mark"] = "trompeur"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    write_sheet(tmp_path)  # re-writing keeps the marks
    summary = read_marks(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    changed = {**record, "answer": answer(("Tarif réduit : 2,80 €.", 1)).model_dump(mode="json")}
    (other / "results.jsonl").write_text(json.dumps(changed) + "\n", encoding="utf-8")
    fresh = list(csv.DictReader(write_sheet(other, marks_from=sheet).open(encoding="utf-8")))
    assert fresh[0]["mark"] == ""  # another answer is judged afresh
    assert summary["trompeur"] == 1 and summary["false_or_misleading_rate"] == 1.0
    rows[0]["mark"] = "peut-être"
    with sheet.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(ValueError):
        read_marks(tmp_path)
