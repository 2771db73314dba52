"""The exact preview through the real streaming API (uvicorn on loopback), with the default
model on the demo index: it arrives before the model has produced any token, it is the
document's own text, labelled as an excerpt, and the verified answer follows it (issue 20,
item 1). Order is asserted, not timing; the times are printed for the record (``-s``)."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from assistant.core import messages as msg
from tests.live_server import serve
from ui.server import create_app
from ui.state import AppState

pytestmark = [pytest.mark.model, pytest.mark.slow]

QUESTIONS = [
    "La piscine est-elle ouverte le dimanche ?",
    "Combien coûte l'entrée adulte à la piscine ?",
    "Quels sont les horaires de la médiathèque ?",
]


class Watched:
    """The real generator, noting in a shared log when its first token comes out."""

    def __init__(self, inner, log: list[tuple[str, float]], lock: threading.Lock) -> None:
        self.inner, self.log, self.lock = inner, log, lock
        self.name, self.backend = inner.name, inner.backend

    def count_tokens(self, text: str) -> int:
        return int(self.inner.count_tokens(text))

    def stream(self, messages, grammar, max_tokens, usage):
        first = True
        for piece in self.inner.stream(messages, grammar, max_tokens, usage):
            if first:
                with self.lock:
                    self.log.append(("token", time.perf_counter()))
                first = False
            yield piece


@pytest.fixture(scope="module")
def served(demo_settings, default_llm, tmp_path_factory):
    settings = demo_settings.model_copy(
        update={
            "llm_path": default_llm,
            "rate_limit": "1000/minute",
            "feedback_db": tmp_path_factory.mktemp("preview") / "g.db",
            "answer_cache_size": 0,
        }
    )
    state = AppState(settings)
    state.load()
    assert state.loaded, state.startup_error
    log: list[tuple[str, float]] = []
    lock = threading.Lock()
    state.assistant._generator = Watched(state.assistant.generator, log, lock)
    with serve(create_app(settings, state)) as base:
        yield base, log, lock


def _events(base: str, question: str, log, lock) -> tuple[list[tuple[str, dict]], float]:
    """The SSE events as they arrive; each one's arrival also goes into the shared log."""
    events: list[tuple[str, dict]] = []
    name = "message"
    t0 = time.perf_counter()
    with httpx.stream(
        "POST", f"{base}/api/v1/ask/stream", json={"question": question}, timeout=300
    ) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                with lock:
                    log.append((name, time.perf_counter()))
                events.append((name, json.loads(line.removeprefix("data: "))))
    return events, t0


@pytest.mark.parametrize("question", QUESTIONS)
def test_the_preview_comes_before_any_model_token(served, question):
    base, log, lock = served
    with lock:
        log.clear()
    events, t0 = _events(base, question, log, lock)
    names = [n for n, _ in events]
    assert names[-1] == "done", names
    assert "preview" in names, (question, names)
    order = [n for n, _ in log]
    # the model had produced nothing when the preview reached the client
    assert "token" not in order[: order.index("preview")], order
    assert names.index("sources") < names.index("preview")
    assert all(names.index("preview") < i for i, n in enumerate(names) if n == "sentence")
    preview = dict(events)["preview"]
    assert preview["label"] == msg.PREVIEW_LABEL
    assert preview["sentence"]["text"] in preview["source"]["excerpt"]  # verbatim
    assert preview["sentence"]["source_ids"] == [preview["source"]["id"]]
    at = dict(log)
    first_content = (at["preview"] - t0) * 1000
    token = (at["token"] - t0) * 1000 if "token" in at else None
    done = dict(events)["done"]
    print(
        f"\n{question!r}: preview {first_content:.0f} ms, first model token "
        f"{token if token is None else round(token)} ms, answer {done['duration_ms']:.0f} ms "
        f"({done['verdict']}); preview: {preview['sentence']['text']!r}"
    )
