"""The audit log of answers: redacted questions, append-only, retention purge, tamper evidence."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from assistant.core.answer import Answer, Reason, Sentence, Source, Timings, Verdict
from assistant.records.audit import DAY_S, AuditLog
from assistant.records.redact import redact

NOW = 1_790_000_000.0  # 2026-09-21


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make_answer(question: str = "Horaires de la piscine ? je suis au 06 12 48 93 27") -> Answer:
    sources = [
        Source(id=1, chunk_id="c1", doc_id="piscine.md", title="Piscine", path="piscine.md",
               excerpt="La piscine ouvre à 9 h.", page=None),
        Source(id=2, chunk_id="c2", doc_id="guide.pdf", title="Guide", path="guide.pdf",
               excerpt="…", page=4),
    ]  # fmt: skip
    return Answer(
        question=question,
        verdict=Verdict.answered,
        reasons=[],
        sentences=[Sentence(text="La piscine ouvre à 9 h.", source_ids=[1])],
        sources=sources,
        text="La piscine ouvre à 9 h. [1]",
        model="qwen2.5-coder-1.5b-instruct-q4_k_m",
        backend="llama-cpp-python",
        timings=Timings(total_ms=1234.5),
    )


@pytest.fixture
def log(tmp_path):
    return AuditLog(tmp_path / "audit.db", mask=lambda q: redact(q, names=False),
                    clock=Clock())  # fmt: skip


def test_record_stores_redacted_question_and_sources(log):
    row_id = log.record(make_answer(), channel="widget")
    [entry] = log.entries()
    assert entry["id"] == row_id
    assert entry["question"] == "Horaires de la piscine ? je suis au [TÉLÉPHONE]"
    assert entry["answer"] == "La piscine ouvre à 9 h. [1]"
    assert entry["verdict"] == "answered" and entry["channel"] == "widget"
    assert entry["model"].startswith("qwen") and entry["total_ms"] == 1234.5
    assert entry["at"] == "2026-09-21T14:13:20+00:00"
    docs = {(s["doc_id"], s["page"], s["cited"]) for s in entry["sources"]}
    assert docs == {("piscine.md", None, True), ("guide.pdf", 4, False)}
    raw = (log.path).read_bytes() + b"".join(
        p.read_bytes() for p in log.path.parent.glob("audit.db-*")
    )
    assert b"06 12 48 93 27" not in raw


def test_update_and_delete_are_refused(log):
    log.record(make_answer())
    db = sqlite3.connect(log.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit_answers SET verdict = 'refused'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_answers")
    with pytest.raises(sqlite3.DatabaseError, match="past"):  # no permit for today's rows
        db.execute("INSERT INTO audit_purge_permit (cutoff) VALUES (9e18)")
    db.close()
    assert log.count() == 1 and log.verify() == []


def test_purge_removes_only_rows_past_retention(log):
    clock = log.clock
    log.record(make_answer("vieille question"))
    clock.t += 400 * DAY_S
    log.record(make_answer("question récente"))
    clock.t += 10 * DAY_S
    assert log.purge_older_than(365) == 1
    assert [e["question"] for e in log.entries()] == ["question récente"]
    assert log.purge_older_than(365) == 0
    assert log.verify() == []  # the first remaining row chains to the purge's anchor
    log.record(make_answer("après la purge"))
    assert log.verify() == []
    db = sqlite3.connect(log.path)
    [(rows, days)] = db.execute("SELECT rows, days FROM audit_purges").fetchall()
    assert (rows, days) == (1, 365)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit_purges")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):  # the permit is gone
        db.execute("DELETE FROM audit_answers")
    db.close()


def test_purge_everything_then_continue_the_chain(log):
    log.record(make_answer())
    log.clock.t += 2 * DAY_S
    assert log.purge_older_than(1) == 1
    log.record(make_answer())
    assert log.count() == 1 and log.verify() == []


def test_tampering_without_triggers_is_detected(log):
    for i in range(3):
        log.record(make_answer(f"question {i}"))
    db = sqlite3.connect(log.path)
    db.execute("DROP TRIGGER audit_answers_no_update")
    db.execute("DROP TRIGGER audit_answers_no_delete")
    db.execute("UPDATE audit_answers SET answer = 'réécrit' WHERE id = 1")
    db.execute("DELETE FROM audit_answers WHERE id = 2")
    db.commit()
    db.close()
    problems = log.verify()
    assert "row 1: content altered" in problems
    assert "row 3: previous row missing or altered" in problems


def test_concurrent_records_keep_the_chain(log):
    def worker(n: int) -> None:
        for i in range(10):
            log.record(make_answer(f"q{n}-{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.count() == 40 and log.verify() == []


def test_reopening_keeps_triggers_and_rows(tmp_path):
    first = AuditLog(tmp_path / "audit.db", mask=lambda q: q)
    first.record(make_answer("x"))
    again = AuditLog(tmp_path / "audit.db", mask=lambda q: q)
    assert again.count() == 1
    with pytest.raises(ValueError):
        again.purge_older_than(-1)


def test_answer_text_and_reasons_are_redacted_too(log):
    """Issue 16: a mistyped NIR (wrong key) in the question, a phone echoed by the model."""
    answer = make_answer("Mon NIR 1 85 05 78 006 084 36 suffit ?").model_copy(
        update={
            "text": "Appelez le 06 66 66 66 66. [1]",
            "verdict": Verdict.partial,
            "reasons": [Reason.sentences_dropped],
            "detail": "not in the cited sources: phone '06 66 66 66 66'",
        }
    )
    log.record(answer)
    [entry] = log.entries()
    assert entry["question"] == "Mon NIR [NIR] suffit ?"
    assert entry["answer"] == "Appelez le [TÉLÉPHONE]. [1]"
    assert entry["reasons"] == [
        "sentences_dropped",
        "not in the cited sources: phone '[TÉLÉPHONE]'",
    ]


def test_a_refusal_is_recorded_with_its_reason_code(tmp_path):
    # Reason codes once reached the redactor; spaCy's refuses anything but a plain str, so
    # refusals went unlogged.
    def strict(text: str) -> str:
        if type(text) is not str:
            raise TypeError("a plain str is expected")
        return redact(text, names=False)

    log = AuditLog(tmp_path / "audit.db", mask=strict, clock=Clock())
    refused = make_answer().model_copy(
        update={"verdict": Verdict.refused, "reasons": [Reason.no_match], "sentences": []}
    )
    log.record(refused)
    [entry] = log.entries()
    assert entry["verdict"] == "refused" and entry["reasons"] == ["no_match"]
