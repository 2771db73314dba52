"""The public HTTP API, end to end through FastAPI, with the real pipeline on the demo index and
the small model. The small model answers badly: the tests check the contract, not the wording.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient

from assistant.core import messages as msg
from assistant.core.answer import Answer, Check, Sentence, Source, Timings, Verdict
from assistant.core.settings import Settings
from tests.live_server import ORIGIN, api_settings_for, serve
from ui.public import PublicAnswer, RefusalReason, public_answer
from ui.server import create_app
from ui.state import AppState

pytestmark = pytest.mark.model

QUESTION = "Quels sont les horaires de la piscine municipale ?"
# What must never reach a citizen (staff-only parts of the Answer).
STAFF_KEYS = {
    "rejected",
    "checks",
    "support_score",
    "supporting_excerpt",
    "chunk_id",
    "doc_id",
    "path",
    "model",
    "backend",
    "prompt_tokens",
    "output_tokens",
    "timings",
    "retrieve_ms",
    "generate_ms",
    "verify_ms",
    "first_sentence_ms",
    "score",
    "reasons",
    "dense_score",
}


@pytest.fixture(scope="module")
def api_settings(demo_settings, small_llm, tmp_path_factory) -> Settings:
    return api_settings_for(demo_settings, small_llm, tmp_path_factory.mktemp("api") / "g.db")


@pytest.fixture(scope="module")
def client(api_settings):
    state = AppState(api_settings)
    state.load()
    assert state.loaded, state.startup_error
    with TestClient(create_app(api_settings, state)) as c:
        yield c


@pytest.fixture(scope="module")
def asked(client) -> dict:
    response = client.post("/api/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def streamed(client) -> list[tuple[str, dict]]:
    with client.stream("POST", "/api/v1/ask/stream", json={"question": QUESTION}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.read().decode())


def parse_sse(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def all_keys(obj) -> set[str]:
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in all_keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in all_keys(v)}
    return set()


def assert_public_contract(answer: dict) -> None:
    parsed = PublicAnswer.model_validate(answer)
    assert parsed.verdict in set(Verdict)
    ids = {s.id for s in parsed.sources}
    for sentence in parsed.sentences:
        assert sentence.source_ids, sentence
        assert set(sentence.source_ids) <= ids, (sentence, ids)
    if parsed.verdict == Verdict.refused:
        assert parsed.orientation and parsed.text == parsed.orientation
        assert not parsed.sentences and parsed.reason is not None
    else:
        assert parsed.sentences and parsed.orientation is None
    assert not all_keys(answer) & STAFF_KEYS, all_keys(answer) & STAFF_KEYS


# --- health, readiness, docs ------------------------------------------------------------------
def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True and ready.json()["documents"] > 0


def test_readyz_reports_why_not_ready(api_settings, tmp_path):
    settings = api_settings.updated(
        {"llm_path": tmp_path / "absent.gguf", "collection": "api_test_empty"}
    )
    state = AppState(settings)
    with TestClient(create_app(settings, state)) as c:  # lifespan loads and fails
        ready = c.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["reasons"] == [msg.NOT_READY["model"], msg.NOT_READY["empty"]]
        assert str(tmp_path) not in ready.text  # paths stay in the server log
        ask = c.post("/api/v1/ask", json={"question": QUESTION})
        assert ask.status_code == 503 and ask.json()["detail"] == msg.UNAVAILABLE
        assert "Retry-After" in ask.headers


def test_readyz_qdrant_unreachable(api_settings):
    settings = api_settings.updated({"qdrant_url": "http://127.0.0.1:9"})
    with TestClient(create_app(settings, AppState(settings))) as c:
        ready = c.get("/readyz")
    assert ready.status_code == 503
    assert msg.NOT_READY["qdrant"] in ready.json()["reasons"]


def test_openapi_and_offline_docs(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/v1/ask", "/api/v1/ask/stream", "/api/v1/feedback", "/healthz", "/readyz"):
        assert path in schema["paths"], path
    assert "PublicAnswer" in schema["components"]["schemas"]
    docs = client.get("/docs").text
    assert "cdn." not in docs and "/static-offline-docs/swagger-ui-bundle.js" in docs
    assert client.get("/static-offline-docs/swagger-ui-bundle.js").status_code == 200


def test_home_page_embeds_the_widget_with_one_tag(client):
    page = client.get("/").text
    assert page.count("<script") == 1
    assert (
        '<script src="http://testserver/widget.js" data-guichet-url="http://testserver" defer>'
        in page
    )
    assert 'href="/desk"' in page and 'href="/docs"' in page
    js = client.get("/widget.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert "/*GUICHET_STRINGS*/" not in js.text and msg.PRIVACY_NOTICE in js.text
    assert ".innerHTML" not in js.text and "insertAdjacentHTML" not in js.text


# --- answers ------------------------------------------------------------------------------------
def test_ask_returns_the_public_contract(asked, api_settings, small_llm):
    assert_public_contract(asked)
    text = json.dumps(asked)
    for secret in (str(api_settings.paths.data_dir), small_llm.stem, "llama", '.md"'):
        assert secret not in text, secret


def test_stream_events_in_order_and_consistent(streamed):
    names = [name for name, _ in streamed]
    assert names[-1] == "done" and names.count("done") == 1
    assert set(names) <= {"queue", "sources", "sentence", "done"}, names
    if "sentence" in names:  # the sources come first: the widget links citations with them
        assert names.index("sources") < names.index("sentence")
    done = streamed[-1][1]
    assert_public_contract(done)
    given = {s["id"] for name, data in streamed if name == "sources" for s in data["sources"]}
    sentences = [data for name, data in streamed if name == "sentence"]
    for sentence in sentences:
        assert sentence["source_ids"] and set(sentence["source_ids"]) <= given
    assert [s["text"] for s in sentences] == [s["text"] for s in done["sentences"]]
    for name, data in streamed:
        assert not all_keys(data) & STAFF_KEYS, (name, all_keys(data) & STAFF_KEYS)


def test_refusal_gives_the_orientation(api_settings):
    # The relevance gate set out of reach: every question is refused with the city's orientation.
    settings = api_settings.updated({"gate_min_dense": 1.01})
    with TestClient(create_app(settings)) as c:
        answer = c.post("/api/v1/ask", json={"question": QUESTION}).json()
        with c.stream("POST", "/api/v1/ask/stream", json={"question": QUESTION}) as r:
            events = parse_sse(r.read().decode())
        metrics = c.get("/metrics").text
    assert_public_contract(answer)
    assert answer["verdict"] == "refused" and answer["reason"] == RefusalReason.no_match
    assert answer["orientation"] == msg.Orientation().text()
    assert [name for name, _ in events] == ["done"] and events[0][1]["verdict"] == "refused"
    assert 'guichet_refusals_total{reason="no_match",verdict="refused"} 2.0' in metrics


def test_generation_timeout_is_a_refusal_not_a_500(api_settings):
    # A real model with a deadline it cannot meet (own ctx size: a generator of its own).
    settings = api_settings.updated({"llm_timeout_s": 0.001, "llm_ctx": 3072})
    with TestClient(create_app(settings)) as c:
        response = c.post("/api/v1/ask", json={"question": QUESTION})
    assert response.status_code == 200
    answer = response.json()
    assert_public_contract(answer)
    assert answer["verdict"] == "refused" and answer["reason"] == RefusalReason.timeout


def test_public_answer_drops_every_staff_detail():
    secret = "/srv/mairie/interne/note-confidentielle.docx"
    staff = Answer(
        question="q",
        verdict=Verdict.partial,
        reasons=["1 phrase(s) écartée(s) par les vérifications"],
        sentences=[
            Sentence(
                text="Vu.",
                source_ids=[1],
                support_score=0.9,
                supporting_excerpt="EXCERPT-STAFF",
                checks=[Check(name="facts", passed=True, detail="CHECK-DETAIL")],
            )
        ],
        rejected=[Sentence(text="REJECTED-SENTENCE", source_ids=[2])],
        sources=[
            Source(
                id=1,
                chunk_id="CHUNK-ID",
                doc_id="interne/note.docx",
                title="Note",
                path=secret,
                url="file:///srv/mairie/x",
                excerpt="Vu.",
                score=0.77,
            ),
            Source(
                id=2,
                chunk_id="C2",
                doc_id="d2",
                title="Autre",
                excerpt="UNCITED-SOURCE",
                url="https://www.sainte-clarisse.example/a",
            ),
        ],
        text="Vu. [1]",
        model="qwen-SECRET-MODEL",
        backend="llama-cpp-python",
        prompt_tokens=123,
        timings=Timings(retrieve_ms=11, generate_ms=22, verify_ms=33, total_ms=66.6),
    )
    public = public_answer(staff, "abc").model_dump_json()
    for leak in (
        secret,
        "file://",
        "CHUNK-ID",
        "interne/note.docx",
        "REJECTED-SENTENCE",
        "CHECK-DETAIL",
        "EXCERPT-STAFF",
        "SECRET-MODEL",
        "llama",
        "écartée",
        "UNCITED-SOURCE",
        "0.77",
        "123",
    ):
        assert leak not in public, leak
    assert json.loads(public)["duration_ms"] == 66.6


# --- client errors: 4xx with a French message, never a 5xx -------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/ask", "/api/v1/ask/stream"])
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"question": ""}, msg.QUESTION_EMPTY),
        ({"question": " \n\t "}, msg.QUESTION_EMPTY),
        ({"question": "a" * 501}, "Votre question est trop longue (501 caractères, maximum 500)"),
        ({"question": 42}, "le champ « question » doit être du texte"),
        ({"question": None}, "le champ « question » doit être du texte"),
        ({}, "le champ « question » est obligatoire"),
        ({"question": "ok", "x": 1}, "le champ « x » n'est pas attendu"),
        ([QUESTION], "le corps de la requête doit être un objet JSON"),
        ("texte", "le corps de la requête doit être un objet JSON"),
    ],
)
def test_bad_questions_get_a_french_422(client, path, body, expected):
    response = client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"{bad json", "application/json"),
        (b"", "application/json"),
        (b"question=x", "text/plain"),
        (b"\xff\xfe", "application/json"),
    ],
)
def test_malformed_bodies_get_a_french_422(client, content, ctype):
    response = client.post("/api/v1/ask", content=content, headers={"content-type": ctype})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["detail"].startswith("Requête invalide") and isinstance(body["errors"], list)


def test_body_too_large_is_413(client):
    big = json.dumps({"question": "x" * 100_000})
    response = client.post("/api/v1/ask", content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "trop volumineuse" in response.json()["detail"]


def test_unknown_paths_and_methods_in_french(client):
    assert client.get("/api/v1/nope").json()["detail"] == msg.NOT_FOUND_HTTP
    response = client.get("/api/v1/ask")
    assert response.status_code == 405 and response.json()["detail"] == msg.METHOD_NOT_ALLOWED


# --- feedback ---------------------------------------------------------------------------------
def test_feedback_lands_in_sqlite_with_the_answer(client, asked, api_settings):
    from assistant.records.feedback import FeedbackStore

    body = {
        "answer_id": asked["id"],
        "rating": "down",
        "tags": ["source manquante"],
        "comment": "Les horaires d'été manquent.",
    }
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == 200 and response.json()["detail"] == msg.FEEDBACK_THANKS
    store = FeedbackStore(api_settings.database_path)
    stored = store.answer(asked["id"])
    assert stored is not None and stored.question == QUESTION  # the full staff Answer
    [row] = store.feedback_for(asked["id"])
    assert row["rating"] == -1 and row["tags"] == ["source manquante"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"answer_id": "0" * 32, "rating": "up"}, 404),
        ({"answer_id": "x", "rating": "bof"}, 422),
        ({"answer_id": "x", "rating": "up", "tags": ["inventé"]}, 422),
        ({"answer_id": "x", "rating": "up", "comment": "c" * 2001}, 422),
        ({"answer_id": "x" * 65, "rating": "up"}, 422),
        ({"rating": "up"}, 422),
    ],
)
def test_feedback_errors(client, body, status):
    response = client.post("/api/v1/feedback", json=body)
    assert response.status_code == status, response.text
    assert isinstance(response.json()["detail"], str)


def test_feedback_without_the_store_is_a_french_503(client, monkeypatch, api_settings):
    monkeypatch.setitem(
        sys.modules, "assistant.records.feedback", None
    )  # import now raises ImportError
    with TestClient(create_app(api_settings, AppState(api_settings))) as c:
        response = c.post("/api/v1/feedback", json={"answer_id": "x", "rating": "up"})
    assert response.status_code == 503 and response.json()["detail"] == msg.FEEDBACK_UNAVAILABLE


# --- CORS and metrics -------------------------------------------------------------------------
def test_cors_allow_list(client):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    ok = client.options("/api/v1/ask/stream", headers={"Origin": ORIGIN, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == ORIGIN
    bad = client.options("/api/v1/ask", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in bad.headers
    simple = client.post("/api/v1/ask", json={"question": ""}, headers={"Origin": ORIGIN})
    assert simple.headers["access-control-allow-origin"] == ORIGIN  # even on a 422


def test_metrics(client, asked, streamed):
    text = client.get("/metrics").text
    for line in (
        'guichet_http_requests_total{endpoint="/api/v1/ask",method="POST",status="200"}',
        'guichet_http_requests_total{endpoint="/api/v1/ask",method="POST",status="422"}',
        "guichet_answers_total{verdict=",
        "guichet_answer_seconds_bucket{le=",
        "guichet_first_sentence_seconds_count",
        "guichet_queue_depth 0.0",
        "guichet_queue_active 0.0",
        "guichet_queue_wait_seconds_count",
    ):
        assert line in text, line


# --- real concurrent requests on loopback (uvicorn in a thread, real small model) -------------
def _open_stream(
    base: str, seen: list, ready: threading.Event, until: str, stop: threading.Event
) -> tuple[int, httpx.Headers, dict | None]:
    """POST a streamed question; record (time, event name); set ``ready`` on event ``until``
    (or on a non-200 answer); hang up once ``stop`` is set. Returns (status, headers, error)."""
    with (
        httpx.Client(base_url=base, timeout=300) as http,
        http.stream("POST", "/api/v1/ask/stream", json={"question": QUESTION}) as response,
    ):
        if response.status_code != 200:
            ready.set()
            return response.status_code, response.headers, json.loads(response.read())
        for line in response.iter_lines():
            if line.startswith("event: "):
                seen.append((time.monotonic(), line.removeprefix("event: ")))
                if line == f"event: {until}":
                    ready.set()
                if line == "event: done":
                    break
            if stop.is_set():
                break
        return response.status_code, response.headers, None


def test_queue_full_is_503_and_waiting_clients_see_their_position(api_settings):
    settings = api_settings.updated({"queue_max_waiting": 1, "llm_max_tokens": 200})
    stop = threading.Event()
    with serve(create_app(settings)) as base, ThreadPoolExecutor(4) as pool:
        first_seen: list = []
        first_ready = threading.Event()
        first = pool.submit(_open_stream, base, first_seen, first_ready, "sources", stop)
        assert first_ready.wait(120), "first question never started"
        second_seen: list = []
        second_ready = threading.Event()
        second = pool.submit(_open_stream, base, second_seen, second_ready, "queue", stop)
        assert second_ready.wait(60), "second question was not queued"
        # The line is full (1 answering, 1 waiting): more questions are refused at once.
        with httpx.Client(base_url=base, timeout=30) as http:
            full = [
                http.post(path, json={"question": QUESTION})
                for path in ("/api/v1/ask", "/api/v1/ask/stream")
            ]
            refused_at = time.monotonic()
            metrics = http.get("/metrics").text
        stop.set()
        first.result(timeout=300)
        second.result(timeout=300)
    for response in full:
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["detail"] == msg.BUSY.format(seconds=response.headers["Retry-After"])
    assert ("queue" in [name for _, name in second_seen]) and second_seen[0][1] == "queue"
    # The first answer was still being generated when the others were refused.
    assert all(t > refused_at or name != "done" for t, name in first_seen), first_seen
    assert "guichet_queue_full_total 2.0" in metrics
    assert "guichet_queue_depth 1.0" in metrics and "guichet_queue_active 1.0" in metrics


def test_rate_limit_is_429_with_retry_after(api_settings):
    settings = api_settings.updated({"rate_limit": "2/minute"})
    stop = threading.Event()
    stop.set()  # the accepted streams hang up after their first line
    with serve(create_app(settings)) as base, ThreadPoolExecutor(4) as pool:
        barrier = threading.Barrier(4)

        def one() -> tuple[int, httpx.Headers, dict | None]:
            barrier.wait()
            return _open_stream(base, [], threading.Event(), "done", stop)

        results = [f.result(timeout=300) for f in [pool.submit(one) for _ in range(4)]]
        with httpx.Client(base_url=base, timeout=30) as http:
            shared = http.post("/api/v1/ask", json={"question": QUESTION})  # same limit
            feedback = http.post("/api/v1/feedback", json={"answer_id": "x", "rating": "up"})
            health = http.get("/healthz")
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 200, 429, 429], statuses
    for status, headers, body in [*results, (shared.status_code, shared.headers, shared.json())]:
        if status == 429:
            seconds = int(headers["Retry-After"])
            assert 1 <= seconds <= 60
            assert body is not None and body["detail"] == msg.RATE_LIMITED.format(seconds=seconds)
    assert shared.status_code == 429
    assert feedback.status_code == 404  # its own limit, not spent
    assert health.status_code == 200


def _answers_total(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("guichet_answers_total{")
    )


def test_client_leaving_stops_its_generation(api_settings):
    """A citizen who closes the page must not keep the only model busy: the complete-answer
    endpoint notices the hang-up and stops the pipeline before it finishes the answer."""
    # Paraphrase mode writes up to 320 tokens; quote mode's few tokens end before a hang-up is
    # seen (the pipeline yields nothing between its sources and its answer there).
    settings = api_settings.updated({"llm_max_tokens": 320, "answer_mode": "paraphrase"})
    with serve(create_app(settings)) as base:
        before = _answers_total(httpx.get(f"{base}/metrics").text)
        # The prompt alone takes longer than this to read: the client leaves mid-answer.
        with httpx.Client(base_url=base, timeout=0.5) as http, pytest.raises(httpx.ReadTimeout):
            http.post("/api/v1/ask", json={"question": QUESTION})
        deadline = time.monotonic() + 120
        metrics = ""
        while time.monotonic() < deadline:
            metrics = httpx.get(f"{base}/metrics").text
            if "guichet_abandoned_total 1.0" in metrics and "guichet_queue_active 0.0" in metrics:
                break
            time.sleep(0.3)
        assert "guichet_abandoned_total 1.0" in metrics, metrics
        assert "guichet_queue_active 0.0" in metrics
        # stopped, not finished: no answer was completed (nor logged) for the hang-up
        assert _answers_total(metrics) == before
        # and the model is free for the next citizen
        answer = httpx.post(f"{base}/api/v1/ask", json={"question": QUESTION}, timeout=300)
        assert answer.status_code == 200
