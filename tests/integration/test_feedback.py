"""Feedback store (SQLite), staff passwords, content-gap clustering, corpus status: no model."""

from __future__ import annotations

import csv
import io
import sqlite3
import threading

import numpy as np
import pytest

from assistant.core.answer import Answer, Check, Sentence, Source, Timings, Verdict
from assistant.records.feedback import FeedbackStore, UnknownAnswer
from ingest.pipeline import FileOutcome, IngestReport
from ui.auth import DEMO_LOGIN, StaffAuth, desk_auth, hash_password, verify_password
from ui.corpus_status import corpus_status, report_path, save_report
from ui.gaps import cluster_questions

FAST = 1_000  # PBKDF2 iterations in tests; production uses ui.auth.ITERATIONS


def make_answer(question: str, verdict: Verdict = Verdict.answered, total_ms: float = 1000.0):
    source = Source(
        id=1,
        chunk_id="c1",
        doc_id="piscine.md",
        title="Piscine",
        url="https://example.org/piscine",
        excerpt="L'entrée coûte 4,50 €.",
    )
    sentences = (
        []
        if verdict == Verdict.refused
        else [Sentence(text="L'entrée coûte 4,50 €.", source_ids=[1])]
    )
    return Answer(
        question=question,
        verdict=verdict,
        sentences=sentences,
        sources=[source],
        text="L'entrée coûte 4,50 €. [1]" if sentences else "Adressez-vous à l'accueil.",
        timings=Timings(total_ms=total_ms),
    )


@pytest.fixture
def store(tmp_path):
    s = FeedbackStore(tmp_path / "guichet.db")
    yield s
    s.close()


# --- passwords -----------------------------------------------------------------------------
def test_hash_and_verify():
    stored = hash_password("correct horse", iterations=FAST)
    algorithm, iterations, salt, digest = stored.split("$")
    assert (algorithm, iterations) == ("pbkdf2_sha256", str(FAST)) and salt and digest
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert hash_password("correct horse", iterations=FAST) != stored  # salted


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "plain",
        "md5$1$a$b",
        "pbkdf2_sha256$x$a$b",
        "pbkdf2_sha256$0$a$b",
        "pbkdf2_sha256$10$!!$??",
    ],
)
def test_malformed_hash_never_matches(bad):
    assert not verify_password("", bad) and not verify_password("x", bad)


def test_staff_auth_locks_out_after_repeated_failures():
    now = [0.0]
    auth = StaffAuth({"agent": hash_password("pw", iterations=FAST)}, clock=lambda: now[0])
    assert auth("agent", "pw") and not auth("nobody", "pw") and not auth("agent", "")
    for _ in range(5):
        assert not auth("agent", "wrong")
    assert not auth("agent", "pw")  # locked, even with the right password
    now[0] += 61
    assert auth("agent", "pw")


def test_demo_password_is_random_and_only_announced(caplog):
    announced: list[str] = []
    auth = desk_auth({}, announce=announced.append)
    assert len(announced) == 1 and DEMO_LOGIN in announced[0]
    password = announced[0].rsplit(" ", 1)[-1]
    assert auth(DEMO_LOGIN, password) and not auth(DEMO_LOGIN, "accueil")
    assert password not in caplog.text  # never through logging
    other: list[str] = []
    desk_auth({}, announce=other.append)
    assert other[0] != announced[0]
    configured: list[str] = []
    desk_auth({"agent": hash_password("pw", iterations=FAST)}, announce=configured.append)
    assert configured == []


# --- SQLite store ------------------------------------------------------------------------------
def test_record_answer_and_feedback_rows(store):
    answer = make_answer("Prix de la piscine ?")
    answer_id = store.record_answer(answer, "desk")
    fid = store.add(answer_id, -1, ["source manquante", "réponse incomplète"], "  à revoir ")
    conn = sqlite3.connect(store.path)
    row = conn.execute(
        "SELECT question, verdict, latency_ms, channel, answer_json FROM answers WHERE id = ?",
        (answer_id,),
    ).fetchone()
    assert row[:4] == ("Prix de la piscine ?", "answered", 1000.0, "desk")
    assert Answer.model_validate_json(row[4]).sources[0].url == "https://example.org/piscine"
    fb = conn.execute("SELECT id, answer_id, rating, tags, comment FROM feedback").fetchone()
    assert fb[:3] == (fid, answer_id, -1) and "source manquante" in fb[3] and fb[4] == "à revoir"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.answer(answer_id).question == answer.question


def test_feedback_validation(store):
    answer_id = store.record_answer(make_answer("q"), "public")
    with pytest.raises(UnknownAnswer):
        store.add("no-such-id", 1)
    with pytest.raises(ValueError):
        store.add(answer_id, 0)
    with pytest.raises(ValueError):
        store.record_answer(make_answer("q"), "email")  # type: ignore[arg-type]
    store.add(answer_id, 1, comment="x" * 10_000)
    assert len(store.feedback_for(answer_id)[0]["comment"]) == 2000


def test_redact_hook_applies_before_writing(tmp_path):
    def redact(text: str) -> str:
        return text.replace("Dupont", "[NOM]")

    store = FeedbackStore(tmp_path / "r.db", redact=redact)
    answer = make_answer("M. Dupont demande le prix").model_copy(
        update={"text": "Pour M. Dupont : 4,50 €. [1]"}
    )
    answer_id = store.record_answer(answer, "public")
    store.add(answer_id, 1, comment="Dupont content")
    raw = "".join(
        str(v)
        for row in sqlite3.connect(store.path).execute(
            "SELECT * FROM answers UNION ALL SELECT id, answer_id, rating, tags, comment, time, ''"
            " FROM feedback"
        )
        for v in row
    )
    assert "Dupont" not in raw and "[NOM]" in raw
    store.close()


def test_stored_answer_redacts_check_details_reasons_and_rejected(tmp_path):
    """Issue 16: a failed check quotes the phone it could not find; a NIR with a wrong key."""
    from assistant.records.redact import redact

    store = FeedbackStore(tmp_path / "r.db", redact=lambda t: redact(t, names=False))
    phone = "06 66 66 66 66"
    detail = f"not in the cited sources: phone '{phone}'"
    dropped = Sentence(
        text=f"Appelez le {phone}.",
        source_ids=[1],
        checks=[Check(name="facts", passed=False, detail=detail)],
        supporting_excerpt=f"rappel au {phone}",
    )
    answer = make_answer("Mon NIR 1 85 05 78 006 084 36 suffit ?").model_copy(
        update={"rejected": [dropped], "detail": detail}
    )
    answer_id = store.record_answer(answer, "public")
    raw = sqlite3.connect(store.path).execute("SELECT question || answer_json FROM answers")
    text = raw.fetchone()[0]
    assert phone not in text and "006 084 36" not in text
    stored = store.answer(answer_id)
    assert stored.rejected[0].checks[0].detail == "not in the cited sources: phone '[TÉLÉPHONE]'"
    assert stored.question == "Mon NIR [NIR] suffit ?"
    assert stored.sources[0].excerpt == answer.sources[0].excerpt  # the city's text stays
    store.close()


def test_one_rating_per_rater_is_updated_in_place(store):
    answer_id = store.record_answer(make_answer("q"), "public")
    for rating in (1, 1, -1):
        store.add(answer_id, rating, rater="client-a")
    store.add(answer_id, 1, rater="client-b")
    assert sorted(r["rating"] for r in store.feedback_for(answer_id)) == [-1, 1]


def test_existing_duplicate_ratings_are_folded_at_open(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE answers (id TEXT PRIMARY KEY, time TEXT NOT NULL, question TEXT NOT NULL,"
        " verdict TEXT NOT NULL, latency_ms REAL, answer_json TEXT NOT NULL, channel TEXT NOT"
        " NULL);"
        "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, answer_id TEXT NOT NULL,"
        " rating INTEGER NOT NULL, tags TEXT NOT NULL DEFAULT '[]', comment TEXT NOT NULL"
        " DEFAULT '', time TEXT NOT NULL);"
        "INSERT INTO answers VALUES ('a', 't', 'q', 'answered', 1, '{}', 'public');"
        "INSERT INTO feedback (answer_id, rating, time) VALUES ('a', 1, 't'), ('a', -1, 't');"
    )
    old.commit()
    old.close()
    store = FeedbackStore(path)
    assert [r["rating"] for r in store.feedback_for("a")] == [-1]  # the latest one kept
    store.close()


def test_stats_top_questions_and_gaps(store):
    ids = [
        store.record_answer(make_answer("Prix piscine ?", total_ms=ms), "desk")
        for ms in (1000, 2000, 3000)
    ]
    store.record_answer(make_answer("prix  piscine", total_ms=4000), "public")
    refused = store.record_answer(make_answer("Permis de chasse ?", Verdict.refused, 500), "desk")
    store.add(ids[0], 1)
    store.add(ids[1], 1)
    store.add(ids[1], -1)  # changed their mind: the latest rating counts
    s = store.stats()
    assert (s.total, s.answered, s.refused) == (5, 4, 1)
    assert s.refusal_rate == pytest.approx(0.2)
    assert (s.thumbs_up, s.thumbs_down) == (1, 1)
    assert (s.latency_p50_ms, s.latency_p95_ms) == (2000, 4000)
    assert len(s.per_day) == 1 and s.per_day[0][1] == 5
    assert store.top_questions(2) == [("Prix piscine ?", 4), ("Permis de chasse ?", 1)]
    gaps = {(g.answer_id, g.why) for g in store.gap_questions()}
    assert gaps == {(refused, "refused"), (ids[1], "down")}
    assert store.stats(since="2999-01-01").total == 0


def test_csv_export_one_row_per_rating_and_no_formulas(store):
    a = store.record_answer(make_answer('=HYPERLINK("http://evil")'), "desk")
    store.record_answer(make_answer("Horaires ?"), "public")
    store.add(a, 1, ["sources fiables"], "ok", rater="x")
    store.add(a, -1, [], "@SUM(A1)", rater="y")  # one rating per rater: two raters
    out = io.StringIO()
    assert store.export_csv(out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["rating"] for r in rows if r["answer_id"] == a] == ["1", "-1"]
    assert rows[0]["question"].startswith("'=") and rows[1]["comment"] == "'@SUM(A1)"
    assert rows[0]["cited_sources"] == "https://example.org/piscine"
    assert rows[2]["rating"] == "" and rows[2]["channel"] == "public"


def test_store_is_safe_across_threads(store):
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(10):
                store.add(store.record_answer(make_answer(f"q{n}-{i}"), "desk"), 1)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and store.stats().total == 40 and store.stats().thumbs_up == 40


# --- content gaps ---------------------------------------------------------------------------
def test_cluster_by_stems_without_a_model():
    questions = [
        "Comment obtenir un permis de chasse ?",
        "permis de chasse : comment l'obtenir",
        "Horaires de la déchetterie le dimanche",
        "La déchetterie ouvre le dimanche ?",
        "Où promener mon chien ?",
    ]
    clusters = cluster_questions(questions, ["refused", "down", "refused", "refused", "down"])
    assert [c.count for c in clusters] == [2, 2, 1]
    assert clusters[0].label == questions[0] and set(clusters[0].reasons) == {"refused", "down"}
    assert clusters[2].examples() == ["Où promener mon chien ?"]


def test_cluster_by_embedding_threshold():
    vectors = {"a": [1.0, 0.0], "a2": [0.95, 0.31], "b": [0.0, 1.0], "c": [0.7, 0.7]}
    clusters = cluster_questions(list(vectors), embed=lambda q: np.array(vectors[q]))
    assert [c.questions for c in clusters] == [["a", "a2"], ["b"], ["c"]]
    loose = cluster_questions(list(vectors), embed=lambda q: np.array(vectors[q]), threshold=0.7)
    assert loose[0].count == 3


# --- corpus status -----------------------------------------------------------------------------
def test_corpus_status_reads_the_saved_ingest_report(tmp_path):
    from assistant.core.settings import Settings

    settings = Settings(data_dir=tmp_path, collection="essai")
    assert corpus_status(settings).last_ingest is None
    report = IngestReport(
        "essai",
        files=[
            FileOutcome("a.md", "ok", chunks=3),
            FileOutcome("b.pdf", "failed", "PDF chiffré"),
        ],
        seconds=1.5,
        chunks_written=3,
    )
    assert save_report(report, settings) == report_path(settings)
    status = corpus_status(settings)
    assert status.failed == [("b.pdf", "PDF chiffré")] and status.last_ingest
    assert "1 en échec" in status.last_summary and status.error is None
    assert status.chunks == 0 and status.documents == 0  # nothing indexed in this folder
