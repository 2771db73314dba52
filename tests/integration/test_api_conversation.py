"""The public API's conversation fields: ``history`` in, ``suggestions`` out. The real app (queue,
validation, public contract, SSE) over the pipeline with fakes for the models and the index."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from assistant.core import messages as msg
from assistant.core.answer import Reason
from assistant.core.settings import Settings
from assistant.pipeline import Assistant
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator
from tests.unit.test_conversation import CORPUS, FIRST, Timeout, choose
from ui.server import create_app
from ui.state import AppState


def app_with(generator, tmp_path) -> TestClient:
    settings = Settings(
        data_dir=tmp_path, rate_limit="1000/minute", answer_mode="quote", history_max_turns=3
    )
    assistant = Assistant(
        settings, generator=generator, embedder=HashEmbedder(), retriever=MemoryRetriever(CORPUS)
    )
    state = AppState(settings, assistant)
    state.loaded = True  # no model to load: the lifespan skips it
    return TestClient(create_app(settings, state))


def sse_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(ln.split(": ", 1) for ln in block.splitlines() if not ln.startswith(":"))
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_history_resolves_a_follow_up_and_is_validated(tmp_path):
    with app_with(ScriptedGenerator(choose("Dimanche : de 9 h")), tmp_path) as c:
        body = {"question": "et le dimanche ?", "history": [FIRST]}
        answer = c.post("/api/v1/ask", json=body).json()
        assert answer["question"] == "et le dimanche ?"
        assert answer["verdict"] == "answered", answer
        assert [s["title"] for s in answer["sources"]] == ["Piscine municipale des Cigales"]
        assert "resolved" not in answer  # staff-only: the public contract lists its fields
        with c.stream("POST", "/api/v1/ask/stream", json=body) as r:
            events = sse_events(r.read().decode())
        assert events[-1][0] == "done" and events[-1][1]["verdict"] == "answered"
        too_long = c.post("/api/v1/ask", json={"question": "et ?", "history": ["x" * 501]})
        assert too_long.status_code == 422
        assert c.post("/api/v1/ask", json={"question": "q", "history": "x"}).status_code == 422
        many = c.post("/api/v1/ask", json={"question": "q", "history": ["a"] * 11})
        assert many.status_code == 422


def test_a_timeout_refusal_carries_its_type_pages_contact_and_retry(tmp_path):
    with app_with(Timeout(""), tmp_path) as c:
        answer = c.post("/api/v1/ask", json={"question": FIRST}).json()
    assert answer["verdict"] == "refused" and answer["reason"] == Reason.timeout
    assert answer["text"].startswith(msg.REFUSAL_LEAD[Reason.timeout])
    s = answer["suggestions"]
    assert s["retry"] is True and s["pages_label"] == msg.SUGGESTED_PAGES
    assert s["pages"][0]["title"] == "Piscine municipale des Cigales"
    assert s["contact"]["text"] == "Téléphone : 01 99 00 40 00"
    assert set(s["pages"][0]) == {"title", "url", "excerpt", "updated"}  # no ids, no paths


@pytest.mark.parametrize("question", ["Quels sont les horaires de la patinoire ?"])
def test_an_out_of_corpus_refusal_has_no_suggestions(tmp_path, question):
    with app_with(ScriptedGenerator(choose("Dimanche")), tmp_path) as c:
        answer = c.post("/api/v1/ask", json={"question": question}).json()
    assert answer["verdict"] == "refused" and answer["suggestions"] is None


def desk_with(generator, tmp_path):
    from assistant.records.feedback import FeedbackStore
    from ui.desk_handlers import Desk

    settings = Settings(data_dir=tmp_path, answer_mode="quote")
    assistant = Assistant(
        settings, generator=generator, embedder=HashEmbedder(), retriever=MemoryRetriever(CORPUS)
    )
    state = AppState(settings, assistant)
    state.loaded = True
    return Desk(state, store=FeedbackStore(tmp_path / "desk.db"))


def last_view(desk, question, history, thread_start):
    *_, view = desk.ask(question, history, thread_start)
    return view


def test_the_desk_keeps_the_thread_until_a_new_conversation(tmp_path):
    desk = desk_with(ScriptedGenerator(choose("Dimanche : de 9 h")), tmp_path)
    first = last_view(desk, FIRST, [], 0)
    history = first[7]
    follow = last_view(desk, "et le dimanche ?", history, 0)
    answer_html, details_html = follow[0], follow[3]
    assert "Dimanche : de 9 h à 12 h" in answer_html
    assert "lue avec la conversation" in details_html and "piscine" in details_html
    history = follow[7]
    assert [h["question"] for h in history] == [FIRST, "et le dimanche ?"]
    alone = last_view(desk, "et le dimanche ?", history, len(history))  # new conversation
    assert "lue avec la conversation" not in alone[3]


def test_the_desk_shows_a_timeouts_pages_contact_and_retry_note(tmp_path):
    desk = desk_with(Timeout(""), tmp_path)
    view = last_view(desk, FIRST, [], 0)
    assert msg.REFUSAL_LEAD[Reason.timeout] in view[0].replace("&#x27;", "'")
    assert "Pages proches" in view[0] and "01 99 00 40 00" in view[0]
    assert "reposez la question" in view[0]
