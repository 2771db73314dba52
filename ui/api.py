"""The public HTTP API (``/api/v1``) and the health, readiness and metrics endpoints.

Every answer goes through the app's :class:`~ui.queue.WorkQueue` (one generation at a time,
a bounded waiting line) and leaves as a :class:`~ui.public.PublicAnswer`; the staff ``Answer``
stays server-side, in the desk's store, where a citizen's rating joins it.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field
from slowapi import Limiter
from slowapi.util import get_remote_address

from assistant.core import messages as msg
from assistant.core.answer import Answer, DoneEvent, Event
from assistant.core.query import validate_history, validate_question
from assistant.core.settings import Settings
from assistant.index.store import count_points
from ui.choices import KEY_PATTERN, DocumentKeys
from ui.metrics import Metrics
from ui.protect import NotReady
from ui.public import PublicAnswer, public_answer
from ui.pump import drive
from ui.queue import Waiting
from ui.sse import Finished, sse, sse_bytes
from ui.state import AppState

log = logging.getLogger("guichet.server")

FEEDBACK_TAGS = tuple(msg.FEEDBACK_TAGS)
HEARTBEAT_S = 15.0
Asked = tuple[str, list[str], str | None]  # question, history, document restricted to
# How often a complete-answer request checks that its client is still there: a citizen who
# closed the page must not keep the only model busy for a minute.
DISCONNECT_POLL_S = 1.0


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(
        description="question du citoyen, en texte libre",
        examples=["Quels sont les horaires de la piscine municipale ?"],
    )
    history: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="questions précédentes, la plus ancienne d'abord (rien n'est conservé)",
        examples=[["Quels sont les horaires de la piscine municipale ?"]],
    )
    document: str | None = Field(
        default=None,
        pattern=KEY_PATTERN,
        description="clé d'un des « choices » d'une réponse : la question est reposée sur lui seul",
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
    documents: int | None = Field(default=None, description="documents (fichiers) indexés")
    passages: int | None = Field(default=None, description="passages indexés")
    ingesting: bool = Field(default=False, description="une ingestion est en cours")


class AnswerLog:
    """Public answers go to the desk's SQLite store (channel "public", personal data masked)
    so staff analytics see them and citizens can rate them; its random id is the public id."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Any = None
        self._lock = threading.Lock()
        self._rater_key = secrets.token_bytes(32)

    def store(self) -> Any:
        """The ``FeedbackStore``, or None while ``assistant.records.feedback`` is unavailable."""
        with self._lock:
            if self._store is None:
                try:
                    from assistant.records.feedback import (
                        FeedbackStore,  # the desk's store (issue 5)
                    )
                except ImportError:
                    return None
                self._store = FeedbackStore(self.settings.database_path, redact=_redactor())
            return self._store

    def warm(self) -> None:
        """Open the store and load the redaction models at start-up, not on the first answer
        (loading spaCy took ~10 s on a busy machine, inside the citizen's wait)."""
        if self.store() is not None:
            try:
                from assistant.records.redact import preload
            except ImportError:
                return
            preload()

    def rater(self, client: str) -> str:
        """A pseudonym of the client address, to keep one rating per (answer, client) without
        storing the address: keyed with a secret of this process (never written), so the
        database alone cannot be brute-forced back to addresses. A restart forgets the key."""
        return hmac.new(self._rater_key, client.encode(), hashlib.sha256).hexdigest()[:32]

    def record(self, answer: Answer) -> str:
        store = self.store()
        if store is not None:
            try:
                return str(store.record_answer(answer, "public"))
            except Exception:  # storage trouble must not cost the citizen the answer
                log.exception("could not record the public answer")
        return uuid.uuid4().hex


def _redactor() -> Callable[[str], str]:
    try:
        from assistant.records.redact import redact
    except ImportError:
        return lambda text: text
    return redact


_COMMON: dict[int | str, dict[str, Any]] = {
    422: {"model": ValidationErrorBody, "description": "question vide, trop longue, JSON invalide"},
    429: {"model": ErrorBody, "description": "trop de requêtes : voir l'en-tête Retry-After"},
    503: {"model": ErrorBody, "description": "file d'attente pleine ou service non prêt"},
}


def build_router(
    state: AppState, limiter: Limiter, metrics: Metrics, answers: AnswerLog
) -> APIRouter:
    settings = state.settings
    router = APIRouter()
    ask_limit = limiter.shared_limit(settings.serving.rate_limit, scope="ask")

    keys = DocumentKeys(lambda: settings.docstore_file(state.assistant.retriever.collection))

    def check(body: AskRequest) -> Asked:
        question = validate_question(body.question, settings.serving.max_question_chars)  # 422
        history = validate_history(body.history, settings)
        if not state.loaded:
            raise NotReady(state.startup_error or "not loaded")
        document = keys.resolve(body.document) if body.document else None  # 422 if unknown
        return question, history, document

    def events(
        asked: Asked, started: float, heartbeat_s: float = HEARTBEAT_S
    ) -> AsyncGenerator[Any, None]:
        """Waiting, Event (sources, sentence, rejected), Heartbeat, then one Finished."""
        question, history, document = asked

        def make() -> Iterator[Waiting | Event | Finished]:
            waited = False
            for item in state.ask_events(question, history=history, document=document):
                if not waited and not isinstance(item, Waiting):
                    waited = True
                    metrics.queue_wait_seconds.observe(time.perf_counter() - started)
                if isinstance(item, DoneEvent):
                    metrics.observe_answer(item.answer)
                    public = public_answer(item.answer, answers.record(item.answer))
                    yield Finished(item.answer, public)
                else:
                    yield item

        return drive(make, heartbeat_s=heartbeat_s)

    @router.post(
        "/api/v1/ask",
        response_model=PublicAnswer,
        responses=_COMMON,
        tags=["public"],
        summary="Poser une question (réponse complète)",
    )
    @ask_limit
    async def ask(request: Request, body: Annotated[AskRequest, Body()]) -> JSONResponse:
        question = check(body)
        finished: Finished | None = None
        # aclosing: leaving the loop early must stop the worker (and so the generation) now,
        # not whenever the generator is garbage-collected.
        async with aclosing(events(question, time.perf_counter(), DISCONNECT_POLL_S)) as stream:
            async for item in stream:
                if isinstance(item, Finished):
                    finished = item
                elif await request.is_disconnected():
                    metrics.abandoned.inc()
                    return JSONResponse({"detail": "client gone"}, status_code=499)
        if finished is None:  # the pipeline always ends with "done"; be explicit anyway
            raise RuntimeError("answer stream ended without a done event")
        return JSONResponse(finished.public.model_dump(mode="json"))

    @router.post(
        "/api/v1/ask/stream",
        responses={
            **_COMMON,
            200: {
                "content": {"text/event-stream": {}},
                "description": (
                    "Server-Sent Events : `queue` {position, message}, `sources` {sources}, "
                    "`preview` {label, sentence, source} (extrait exact, avant la réponse), "
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
        question = check(body)
        stream = events(question, time.perf_counter())
        first = await anext(stream)  # QueueFull raises here, before any byte is sent: 503

        async def body_bytes() -> AsyncIterator[bytes]:
            item: Any = first
            try:
                while True:
                    chunk = sse_bytes(item)
                    if chunk:
                        yield chunk
                    if isinstance(item, Finished):
                        return
                    item = await anext(stream)
            except StopAsyncIteration:
                return
            except Exception:
                log.exception("answer stream failed")
                yield sse("error", {"detail": msg.INTERNAL_ERROR})
            finally:
                await stream.aclose()

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
    @limiter.limit(settings.serving.rate_limit)
    async def feedback(request: Request, body: Annotated[FeedbackRequest, Body()]) -> JSONResponse:
        store = await run_in_threadpool(answers.store)
        if store is None:
            return JSONResponse({"detail": msg.FEEDBACK_UNAVAILABLE}, status_code=503)
        from assistant.records.feedback import UnknownAnswer

        rating = 1 if body.rating == "up" else -1
        try:
            await run_in_threadpool(
                functools.partial(
                    store.add,
                    body.answer_id,
                    rating,
                    list(body.tags),
                    body.comment,
                    rater=answers.rater(get_remote_address(request)),
                )
            )
        except UnknownAnswer:
            return JSONResponse({"detail": msg.FEEDBACK_UNKNOWN_ANSWER}, status_code=404)
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
    documents = passages = None
    collection = state.settings.index.collection
    if state.loaded:
        collection = state.assistant.retriever.collection
    try:
        passages = count_points(state.settings, collection)
    except Exception as exc:
        log.warning("readiness: Qdrant unreachable: %s", exc)
        reasons.append(msg.NOT_READY["qdrant"])
    else:
        if passages == 0:
            reasons.append(msg.NOT_READY["empty"])
        documents = indexed_files(state.settings, collection)
    return Readiness(
        ready=not reasons,
        reasons=reasons,
        documents=documents,
        passages=passages,
        ingesting=state.jobs.pending(),
    )


_files_seen: dict[tuple[str, int, int], int] = {}


def indexed_files(settings: Settings, collection: str) -> int | None:
    """Files in the docstore (a PDF is one document however many pages it has; a corpus
    added without files counts its documents). Re-read only when the docstore changed."""
    from ingest.pipeline import FILE_KEY, known_hashes, load_docstore

    path = settings.docstore_file(collection)
    try:
        stat = path.stat()
    except OSError:
        return 0
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _files_seen:
        try:
            hashes = known_hashes(load_docstore(path))
        except (OSError, ValueError):
            return None
        files = sum(1 for k in hashes if k.startswith(FILE_KEY))
        _files_seen.clear()
        _files_seen[key] = files or len(hashes)
    return _files_seen[key]
