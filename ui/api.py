"""The public HTTP API (``/api/v1``) and the health, readiness and metrics endpoints.

Every answer goes through the app's :class:`~ui.queue.WorkQueue` (one generation at a time,
a bounded waiting line) and leaves as a :class:`~ui.public.PublicAnswer`: the staff ``Answer``
is kept server-side, a short while, only so that a citizen's feedback can be stored with it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter

from assistant import messages as msg
from assistant.answer import Answer, Event
from assistant.pipeline import validate_question
from assistant.store import count_points
from ui.metrics import Metrics
from ui.protect import NotReady
from ui.public import PublicAnswer, public_answer, public_sentence, public_source
from ui.pump import Heartbeat, drive
from ui.queue import Waiting
from ui.state import AppState

log = logging.getLogger("guichet.server")

FEEDBACK_TAGS = ("sources fiables", "réponse incomplète", "source manquante", "information erronée")
HEARTBEAT_S = 15.0


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(
        description="question du citoyen, en texte libre",
        examples=["Quels sont les horaires de la piscine municipale ?"],
    )


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: str = Field(max_length=64, description="`id` de la réponse notée")
    rating: Literal["up", "down"]
    tags: list[Literal[FEEDBACK_TAGS]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(FEEDBACK_TAGS)
    )
    comment: str = Field(default="", max_length=2000)


class ErrorBody(BaseModel):
    detail: str = Field(description="message en français, à afficher tel quel")


class ValidationErrorBody(ErrorBody):
    errors: list[dict[str, Any]] = Field(default_factory=list)


class FeedbackAck(BaseModel):
    detail: str


class Readiness(BaseModel):
    ready: bool
    reasons: list[str] = Field(default_factory=list)
    documents: int | None = Field(default=None, description="passages indexés")


class AnswerCache:
    """The last answers, by public id, for feedback (staff need the full Answer with it)."""

    def __init__(self, size: int = 1000) -> None:
        self._items: OrderedDict[str, Answer] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def put(self, answer: Answer) -> str:
        answer_id = uuid.uuid4().hex
        with self._lock:
            self._items[answer_id] = answer
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return answer_id

    def get(self, answer_id: str) -> Answer | None:
        with self._lock:
            return self._items.get(answer_id)


_COMMON = {
    422: {"model": ValidationErrorBody, "description": "question vide, trop longue, JSON invalide"},
    429: {"model": ErrorBody, "description": "trop de requêtes : voir l'en-tête Retry-After"},
    503: {"model": ErrorBody, "description": "file d'attente pleine ou service non prêt"},
}


def sse(event: str, data: BaseModel | dict[str, Any]) -> bytes:
    payload = data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data)
    return f"event: {event}\ndata: {payload}\n\n".encode()


def build_router(state: AppState, limiter: Limiter, metrics: Metrics) -> APIRouter:
    settings = state.settings
    cache = AnswerCache()
    router = APIRouter()
    ask_limit = limiter.shared_limit(settings.rate_limit, scope="ask")

    def check(question: str) -> str:
        question = validate_question(question, settings.max_question_chars)  # 422 if bad
        if not state.loaded:
            raise NotReady(state.startup_error or "not loaded")
        return question

    def finish(answer: Answer) -> PublicAnswer:
        metrics.observe_answer(answer)
        return public_answer(answer, cache.put(answer))

    def events(question: str, started: float) -> AsyncIterator[Waiting | Event | Heartbeat]:
        def make():
            waited = False
            for item in state.ask_events(question):
                if not waited and not isinstance(item, Waiting):
                    waited = True
                    metrics.queue_wait_seconds.observe(time.perf_counter() - started)
                yield item

        return drive(make, heartbeat_s=HEARTBEAT_S)

    @router.post(
        "/api/v1/ask",
        response_model=PublicAnswer,
        responses=_COMMON,
        tags=["public"],
        summary="Poser une question (réponse complète)",
    )
    @ask_limit
    async def ask(request: Request, body: Annotated[AskRequest, Body()]) -> JSONResponse:
        question = check(body.question)
        answer: Answer | None = None
        async for item in events(question, time.perf_counter()):
            if isinstance(item, Event) and item.kind == "done":
                answer = item.answer
        if answer is None:  # the pipeline always ends with "done"; be explicit anyway
            raise RuntimeError("answer stream ended without a done event")
        return JSONResponse(finish(answer).model_dump(mode="json"))

    @router.post(
        "/api/v1/ask/stream",
        responses={
            **_COMMON,
            200: {
                "content": {"text/event-stream": {}},
                "description": (
                    "Server-Sent Events : `queue` {position, message}, `sources` {sources}, "
                    "`sentence` {text, source_ids}, `done` (PublicAnswer), `error` {detail}"
                ),
            },
        },
        tags=["public"],
        summary="Poser une question (réponse phrase par phrase, SSE)",
        response_class=StreamingResponse,
    )
    @ask_limit
    async def ask_stream(
        request: Request, body: Annotated[AskRequest, Body()]
    ) -> StreamingResponse:
        question = check(body.question)
        stream = events(question, time.perf_counter())
        first = await anext(stream)  # QueueFull raises here, before any byte is sent: 503

        async def body_bytes() -> AsyncIterator[bytes]:
            item: Any = first
            try:
                while True:
                    chunk = _event_bytes(item)
                    if chunk:
                        yield chunk
                    if isinstance(item, Event) and item.kind == "done":
                        return
                    item = await anext(stream)
            except StopAsyncIteration:
                return
            except Exception:
                log.exception("answer stream failed")
                yield sse("error", {"detail": msg.INTERNAL_ERROR})
            finally:
                await stream.aclose()

        def _event_bytes(item: Any) -> bytes | None:
            if isinstance(item, Heartbeat):
                return b": keep-alive\n\n"
            if isinstance(item, Waiting):
                return sse(
                    "queue",
                    {
                        "position": item.position,
                        "message": msg.QUEUE_POSITION.format(position=item.position),
                    },
                )
            if item.kind == "sources" and item.sources is not None:
                return sse(
                    "sources",
                    {"sources": [public_source(s).model_dump(mode="json") for s in item.sources]},
                )
            if item.kind == "sentence" and item.sentence is not None:
                return sse("sentence", public_sentence(item.sentence))
            if item.kind == "done" and item.answer is not None:
                return sse("done", finish(item.answer))
            return None  # "rejected": staff-only

        return StreamingResponse(
            body_bytes(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.post(
        "/api/v1/feedback",
        response_model=FeedbackAck,
        tags=["public"],
        responses={**_COMMON, 404: {"model": ErrorBody, "description": "réponse inconnue"}},
        summary="Noter une réponse",
    )
    @limiter.limit(settings.rate_limit)
    async def feedback(request: Request, body: Annotated[FeedbackRequest, Body()]) -> JSONResponse:
        try:
            from ui.feedback import FeedbackStore  # the desk's store (issue 5)
        except ImportError:
            return JSONResponse({"detail": msg.FEEDBACK_UNAVAILABLE}, status_code=503)
        answer = cache.get(body.answer_id)
        if answer is None:
            return JSONResponse({"detail": msg.FEEDBACK_UNKNOWN_ANSWER}, status_code=404)

        def store() -> None:
            FeedbackStore(settings.database_path).add(
                answer=answer,
                rating=body.rating,
                tags=list(body.tags),
                comment=body.comment,
                channel="widget",
            )

        await run_in_threadpool(store)
        return JSONResponse({"detail": msg.FEEDBACK_THANKS})

    @router.get("/healthz", tags=["ops"], summary="Le processus répond")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        response_model=Readiness,
        tags=["ops"],
        responses={503: {"model": Readiness}},
        summary="Prêt à répondre",
    )
    async def readyz() -> JSONResponse:
        readiness = await run_in_threadpool(_readiness, state)
        return JSONResponse(readiness.model_dump(), status_code=200 if readiness.ready else 503)

    @router.get(
        "/metrics", tags=["ops"], response_class=PlainTextResponse, summary="Métriques Prometheus"
    )
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


def _readiness(state: AppState) -> Readiness:
    reasons: list[str] = []
    if not state.loaded:
        reasons.append(msg.NOT_READY["model"])
    documents = None
    collection = state.settings.collection
    if state.loaded:
        collection = state.assistant.retriever.collection
    try:
        documents = count_points(state.settings, collection)
    except Exception as exc:
        log.warning("readiness: Qdrant unreachable: %s", exc)
        reasons.append(msg.NOT_READY["qdrant"])
    else:
        if documents == 0:
            reasons.append(msg.NOT_READY["empty"])
    return Readiness(ready=not reasons, reasons=reasons, documents=documents)
