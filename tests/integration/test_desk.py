"""The staff desk: rendering (escaping, citations, source cards), queue positions, and the
running app driven with ``gradio_client`` over the demo index with the small model."""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from datetime import date
from html import escape

import httpx
import pytest

from assistant.core import messages as msg
from assistant.core.answer import (
    Answer,
    Check,
    DoneEvent,
    Sentence,
    SentenceEvent,
    Source,
    SourcesEvent,
    Verdict,
)
from assistant.core.settings import Settings
from assistant.records.feedback import FeedbackStore
from tests.desk_helpers import LOGIN, PASSWORD, desk_settings, serve_desk
from ui import desk_render as render
from ui.desk_handlers import Desk
from ui.state import AppState

SCRIPT = "<script>alert('x')</script>"


def source(n: int, **kw) -> Source:
    base = dict(
        id=n,
        chunk_id=f"c{n}",
        doc_id=f"d{n}.md",
        title=f"Doc {n}",
        excerpt="La piscine est ouverte le dimanche. L'entrée coûte 4,50 €.",
    )
    return Source(**{**base, **kw})


# --- rendering ---------------------------------------------------------------------------------
def test_model_and_document_text_is_escaped():
    s = Sentence(
        text=f"Réponse {SCRIPT}",
        source_ids=[1],
        supporting_excerpt=SCRIPT,
        checks=[Check(name="support", passed=False, detail=SCRIPT)],
    )
    src = source(
        1,
        title=SCRIPT,
        excerpt=f"avant {SCRIPT} après",
        section=SCRIPT,
        url="javascript:alert(1)",
        path="<b>x</b>.pdf",
    )
    answer = Answer(
        question=SCRIPT,
        verdict=Verdict.refused,
        sentences=[s],
        rejected=[s],
        sources=[src],
        text=SCRIPT,
        orientation=SCRIPT,
        detail=SCRIPT,
    )
    html = "".join(
        [
            render.answer_html([s], orientation=SCRIPT, status=SCRIPT),
            render.sources_html([src], [s], max_age_days=365),
            render.details_html([s], [s], [SCRIPT]),
            render.history_html(
                [{"time": SCRIPT, "question": SCRIPT, "verdict": SCRIPT, "text": SCRIPT}]
            ),
            render.banner_html(SCRIPT),
            render.notice_html(SCRIPT),
            render.citizen_text(answer),
            render.per_day_html([(SCRIPT, 1)]),
        ]
    )
    assert "<script" not in html.replace(render.citizen_text(answer), "")
    assert escape(SCRIPT) in html
    assert "javascript:" not in render.sources_html([src], [s], max_age_days=365)


def test_citations_link_to_source_cards_with_highlight_and_age_warning():
    s1 = Sentence(
        text="L'entrée coûte 4,50 €.", source_ids=[2], supporting_excerpt="L'entrée   coûte 4,50 €."
    )
    sources = [
        source(1, updated="2025-06-01"),
        source(2, updated="2020-01-01", url="https://example.org/p", page=3),
    ]
    answer = render.answer_html([s1])
    cards = render.sources_html(sources, [s1], max_age_days=365, today=date(2026, 1, 1))
    assert 'href="#desk-src-2"' in answer and 'id="desk-src-2"' in cards
    assert cards.index('id="desk-src-2"') < cards.index('id="desk-src-1"')  # cited first
    card2, card1 = cards.split('id="desk-src-1"')
    assert "<mark>L&#x27;entrée coûte 4,50 €.</mark>" in card2
    assert "source ancienne" in card2.lower() and "source ancienne" not in card1.lower()
    assert 'href="https://example.org/p"' in card2 and "page 3" in card2 and "01/01/2020" in card2
    assert msg.DESK["source_not_cited"] in card1


def test_citizen_version_lists_cited_links_only():
    s = Sentence(text="Ouvert le dimanche.", source_ids=[1])
    answer = Answer(
        question="q",
        verdict=Verdict.answered,
        sentences=[s],
        text="Ouvert. [1]",
        sources=[source(1, url="https://example.org/a"), source(2, url="https://example.org/b")],
    )
    text = render.citizen_text(answer)
    assert text.startswith("Ouvert. [1]") and "https://example.org/a" in text
    assert "https://example.org/b" not in text
    refused = Answer(question="q", verdict=Verdict.refused, text="o", orientation="Appelez.")
    assert render.citizen_text(refused) == "Appelez."


# --- queue positions (no model) ----------------------------------------------------------------
class SlowAssistant:
    """Stands in for the model: holds the queue until released."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def events(self, question: str, **_):
        self.release.wait(20)
        s = Sentence(text="Réponse.", source_ids=[1])
        yield SourcesEvent(sources=[source(1)])
        yield SentenceEvent(sentence=s)
        yield DoneEvent(
            answer=Answer(
                question=question,
                verdict=Verdict.answered,
                sentences=[s],
                sources=[source(1)],
                text="Réponse. [1]",
            ),
        )


def test_second_agent_sees_queue_position_then_answer(tmp_path):
    slow = SlowAssistant()
    state = AppState(Settings(data_dir=tmp_path), assistant=slow)  # type: ignore[arg-type]
    desk = Desk(state, FeedbackStore(tmp_path / "db.sqlite"))
    first = desk.ask("première", [])
    next(first)  # "searching"
    results: dict[str, list] = {"first": [], "second": []}
    t1 = threading.Thread(target=lambda: results["first"].extend(first))
    t1.start()
    deadline = time.monotonic() + 20  # a first ask that died must fail the test, not hang it
    while state.queue.active == 0:
        assert t1.is_alive() and time.monotonic() < deadline, "the first question never queued"
        time.sleep(0.01)
    second = desk.ask("deuxième", [])
    results["second"].append(next(second))
    results["second"].append(next(second))  # waiting: position 1
    assert msg.QUEUE_POSITION.format(position=1) in escape_free(results["second"][-1][0])
    slow.release.set()
    results["second"].extend(second)
    t1.join(10)
    final = results["second"][-1]
    assert 'href="#desk-src-1"' in final[0] and "verdict-ok" in final[1]
    assert final[6]["answer_id"] and len(final[7]) == 1  # recorded, in the history
    assert FeedbackStore(tmp_path / "db.sqlite").stats().total == 2


def test_desk_store_redacts_personal_data(tmp_path):
    slow = SlowAssistant()
    slow.release.set()
    state = AppState(Settings(data_dir=tmp_path), assistant=slow)  # type: ignore[arg-type]
    desk = Desk(state)  # the default store: settings.database_path, with redaction
    *_, last = desk.ask("Écrire à jean.dupont@example.org pour la piscine ?", [])
    desk.rate(-1, last[6], [], "rappeler le 06 12 34 56 78")
    raw = (
        sqlite3.connect(state.settings.database_path)
        .execute(
            "SELECT a.question || a.answer_json || f.comment FROM answers a"
            " JOIN feedback f ON f.answer_id = a.id"
        )
        .fetchone()[0]
    )
    assert "jean.dupont@example.org" not in raw and "06 12 34 56 78" not in raw


class BrokenAssistant:
    def events(self, question: str, **_):
        raise RuntimeError("fichier GGUF corrompu")


def test_startup_error_is_shown_not_raised(tmp_path):
    state = AppState(Settings(data_dir=tmp_path), assistant=BrokenAssistant())  # type: ignore[arg-type]
    state.startup_error = "fichier GGUF corrompu"
    banner = render.banner_html(state.startup_error)
    assert 'role="alert"' in banner and "fichier GGUF corrompu" in banner
    assert render.banner_html(None) == ""
    desk = Desk(state, FeedbackStore(tmp_path / "db.sqlite"))
    *_, last = desk.ask("Horaires ?", [])
    assert "fichier GGUF corrompu" in escape_free(last[8]) and 'role="alert"' in last[8]
    assert last[6] is None  # nothing to rate
    assert "Posez d'abord" in escape_free(desk.rate(1, last[6], [], ""))


def escape_free(html: str) -> str:
    from html import unescape

    return unescape(re.sub(r"<[^>]+>", "", html))


# --- the running app, driven with gradio_client --------------------------------------------------
@pytest.fixture(scope="module")
def running_desk(demo_settings, small_llm, tmp_path_factory):
    settings = desk_settings(demo_settings, small_llm, tmp_path_factory.mktemp("desk") / "g.db")
    with serve_desk(settings) as desk:
        yield desk


@pytest.fixture(scope="module")
def client(running_desk):
    from gradio_client import Client

    return Client(running_desk.url, auth=(LOGIN, PASSWORD), verbose=False, analytics_enabled=False)


@pytest.mark.model
def test_desk_needs_a_login(running_desk):
    from gradio_client import Client

    for route in ("config", "gradio_api/info"):
        assert httpx.get(running_desk.url + route, timeout=10).status_code == 401, route
    with pytest.raises(ValueError, match=r"(?i)login|credentials|401"):
        Client(running_desk.url, auth=(LOGIN, "faux"), verbose=False)


@pytest.mark.model
def test_ask_streams_a_cited_answer(client):
    job = client.submit("C'est combien l'entrée adulte à la piscine ?", api_name="/ask")
    streamed = list(job)
    answer_html, verdict_html, sources_html, details_html, text, citizen, notice = job.result()
    assert len(streamed) >= 2  # a status first, then the answer
    assert msg.DESK["searching"] in escape_free(streamed[0][0])
    assert not notice, notice
    assert re.search(r"verdict-(ok|partial|quoted)", verdict_html), verdict_html
    cited = set(re.findall(r'href="#desk-src-(\d+)"', answer_html))
    assert cited and all(f'id="desk-src-{n}"' in sources_html for n in cited)
    assert "<mark>" in sources_html or "quoted" in verdict_html or "partial" in verdict_html
    assert "<ol>" in details_html and text and "[" in citizen


@pytest.mark.model
def test_out_of_corpus_question_gets_the_orientation(client):
    result = client.predict("Qui a gagné la coupe du monde de football 1998 ?", api_name="/ask")
    answer_html, verdict_html = result[0], result[1]
    assert "verdict-refused" in verdict_html
    assert msg.Orientation().text() in escape_free(answer_html)
    assert "desk-src-" not in answer_html


@pytest.mark.model
def test_feedback_lands_in_sqlite(client, running_desk):
    question = "Quelle est la capitale de l'Australie ?"  # refused at the gate: no generation
    client.predict(question, api_name="/ask")
    status = client.predict(["source manquante"], "à compléter", api_name="/rate_down")
    assert msg.DESK["feedback_saved"] in escape_free(status)
    conn = sqlite3.connect(running_desk.settings.database_path)
    rows = conn.execute(
        "SELECT a.question, a.channel, a.answer_json, f.rating, f.tags, f.comment FROM feedback f"
        " JOIN answers a ON a.id = f.answer_id WHERE a.question = ?",
        (question,),
    ).fetchall()
    assert len(rows) == 1
    _, channel, answer_json, rating, tags, comment = rows[0]
    assert (channel, rating, comment) == ("desk", -1, "à compléter") and "source manquante" in tags
    assert Answer.model_validate_json(answer_json).question == question


@pytest.mark.model
def test_stats_and_corpus_tabs(client):
    """Runs after the questions above: they show up in the counts and the content gaps."""
    summary, per_day, top, gaps, export = client.predict(api_name="/stats")
    assert "Questions :" in escape_free(summary) and "<table" in per_day
    assert top["data"]
    gap_text = " ".join(str(cell) for row in gaps["data"] for cell in row)
    assert "coupe du monde" in gap_text and "Australie" in gap_text
    with open(export, encoding="utf-8-sig") as fh:
        assert fh.readline().startswith("answer_id,")
    info, _failed = client.predict(api_name="/corpus")
    assert re.search(r"25 documents · \d+ passages", escape_free(info)), info
