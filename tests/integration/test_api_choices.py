"""The public API's choices between close documents: ``choices`` out (opaque keys, no ids, no
paths), ``document`` in (validated, resolved against the indexed documents, the question then
answered from that document alone). The real app over the pipeline with fakes."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.pipeline import Assistant
from assistant.retrieval.choices import choice_key
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator
from tests.unit.test_choices import CAR_PAGE, HOME_PAGE
from ui.server import create_app
from ui.state import AppState

Q = "Quelle est la franchise d'assurance ?"


def app_with(tmp_path, retriever: MemoryRetriever) -> TestClient:
    settings = Settings(
        data_dir=tmp_path,
        rate_limit="1000/minute",
        answer_mode="quote",
        choice_margin=0.5,
        choice_min_coverage=0.5,
        gate_min_dense=0.5,
    )
    # the docstore an ingest writes: its keys are the indexed doc ids
    docstore = settings.docstore_file(retriever.collection)
    docstore.parent.mkdir(parents=True, exist_ok=True)
    ids = {c.doc_id: {"doc_hash": "x"} for c in retriever.chunks}
    docstore.write_text(json.dumps({"docstore/metadata": ids}), encoding="utf-8")
    assistant = Assistant(
        settings,
        generator=ScriptedGenerator("1.1"),
        embedder=HashEmbedder(),
        retriever=retriever,
    )
    state = AppState(settings, assistant)
    state.loaded = True
    return TestClient(create_app(settings, state))


def test_choices_are_offered_and_a_key_restricts_the_question(tmp_path):
    pages = [
        CAR_PAGE.model_copy(update={"doc_id": "assurances/auto.md"}),
        HOME_PAGE.model_copy(update={"doc_id": "assurances/habitation.md"}),
    ]
    retriever = MemoryRetriever(pages)
    with app_with(tmp_path, retriever) as c:
        answer = c.post("/api/v1/ask", json={"question": Q}).json()
        assert answer["choices_label"] == msg.CHOICES_LEAD
        choices = answer["choices"]
        assert len(choices) == 2
        assert set(choices[0]) == {"key", "title", "section", "excerpt", "url"}
        assert "assurances" not in json.dumps(choices)  # no doc id, no path
        home = next(ch for ch in choices if ch["section"] == "Assurance habitation")
        assert home["key"] == choice_key("assurances/habitation.md")

        restricted = c.post("/api/v1/ask", json={"question": Q, "document": home["key"]}).json()
        assert restricted["verdict"] != "refused", restricted
        assert restricted["choices"] == [] and restricted["choices_label"] is None
        assert restricted["sources"] and all("150 €" in s["excerpt"] for s in restricted["sources"])
        assert retriever.searches[-1] == Q
        with c.stream(
            "POST", "/api/v1/ask/stream", json={"question": Q, "document": home["key"]}
        ) as r:
            text = r.read().decode()
        assert "event: done" in text and "150 €" in text and "300 €" not in text


def test_a_bad_or_unknown_document_key_is_refused_in_french(tmp_path):
    with app_with(tmp_path, MemoryRetriever([CAR_PAGE, HOME_PAGE])) as c:
        bad = c.post("/api/v1/ask", json={"question": Q, "document": "../etc/passwd"})
        assert bad.status_code == 422
        assert "document" in bad.json()["detail"]
        gone = c.post("/api/v1/ask", json={"question": Q, "document": "0" * 16})
        assert gone.status_code == 422 and gone.json()["detail"] == msg.CHOICE_UNKNOWN
        raw_id = c.post("/api/v1/ask", json={"question": Q, "document": "auto"})
        assert raw_id.status_code == 422  # a doc id is not a key


def test_the_desk_offers_the_choices_and_a_pick_asks_on_that_document(tmp_path):
    from assistant.records.feedback import FeedbackStore
    from ui.desk import show_choices
    from ui.desk_handlers import Desk

    settings = Settings(
        data_dir=tmp_path,
        answer_mode="quote",
        choice_margin=0.5,
        choice_min_coverage=0.5,
        gate_min_dense=0.5,
    )
    retriever = MemoryRetriever([CAR_PAGE, HOME_PAGE])
    assistant = Assistant(
        settings, generator=ScriptedGenerator("1.1"), embedder=HashEmbedder(), retriever=retriever
    )
    state = AppState(settings, assistant)
    state.loaded = True
    desk = Desk(state, store=FeedbackStore(tmp_path / "desk.db"))
    *_, first = desk.ask(Q, [], 0)
    current, history = first[6], first[7]
    assert {doc for _, doc in current["choices"]} == {"auto", "habitation"}
    assert ("Franchise d'assurance — Assurance habitation", "habitation") in current["choices"]
    shown = show_choices(current)
    assert shown["visible"] is True and len(shown["choices"]) == 2
    *_, picked = desk.ask_choice("habitation", current, history)
    assert "150 €" in picked[0] and "300 €" not in picked[0]
    assert retriever.searches[-1] == Q
    assert picked[6]["choices"] == [] and show_choices(picked[6])["visible"] is False
    assert [h["question"] for h in picked[7]] == [Q, Q]
