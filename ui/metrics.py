"""Prometheus metrics of the web server, one registry per app (tests build several apps).

``RequestMetrics`` is a plain ASGI middleware (not ``BaseHTTPMiddleware``, which buffers
streamed responses): it counts every request by route template, method and status, each
from a bounded set, so that a flood of random paths or methods cannot blow up the label
cardinality.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.core.answer import Answer
from ui.public import main_reason

disable_created_metrics()  # the *_created series only double the scrape size here

# Answers on CPU take seconds to a minute or two; first sentences a few seconds.
_ANSWER_BUCKETS = (0.5, 1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "guichet_http_requests",
            "HTTP requests by route and status",
            ["endpoint", "method", "status"],
            registry=self.registry,
        )
        self.answers = Counter(
            "guichet_answers", "Answers by verdict", ["verdict"], registry=self.registry
        )
        self.refusals = Counter(
            "guichet_refusals",
            "Refused or degraded answers by reason and verdict",
            ["reason", "verdict"],
            registry=self.registry,
        )
        self.answer_seconds = Histogram(
            "guichet_answer_seconds",
            "Time from the start of the answer to its end (queue wait excluded)",
            buckets=_ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.first_sentence_seconds = Histogram(
            "guichet_first_sentence_seconds",
            "Time from the start of the answer to its first verified sentence",
            buckets=_ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.first_content_seconds = Histogram(
            "guichet_first_content_seconds",
            "Time from the start of the answer to the first thing shown (the exact preview)",
            buckets=_ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.queue_wait_seconds = Histogram(
            "guichet_queue_wait_seconds",
            "Time spent waiting in the queue before the answer started",
            buckets=_ANSWER_BUCKETS,
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "guichet_queue_depth", "Questions waiting for the model", registry=self.registry
        )
        self.queue_active = Gauge(
            "guichet_queue_active", "Questions being answered", registry=self.registry
        )
        self.abandoned = Counter(
            "guichet_abandoned",
            "Questions whose client left before the answer: their generation was stopped",
            registry=self.registry,
        )
        self.rejected_full = Counter(
            "guichet_queue_full",
            "Questions refused because the queue was full",
            registry=self.registry,
        )

    def bind_queue(self, depth: Callable[[], float], active: Callable[[], float]) -> None:
        self.queue_depth.set_function(depth)
        self.queue_active.set_function(active)

    def observe_answer(self, answer: Answer) -> None:
        self.answers.labels(answer.verdict.value).inc()
        reason = main_reason(answer)
        if reason is not None:
            self.refusals.labels(reason.value, answer.verdict.value).inc()
        self.answer_seconds.observe(answer.timings.total_ms / 1000)
        if answer.timings.first_sentence_ms is not None:
            self.first_sentence_seconds.observe(answer.timings.first_sentence_ms / 1000)
        if answer.timings.first_content_ms is not None:
            self.first_content_seconds.observe(answer.timings.first_content_ms / 1000)


# The methods a client may use here; anything else is counted as "other" (``-X FOOBAR1``
# must not create a series per request).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


class RequestMetrics:
    """ASGI middleware: ``guichet_http_requests_total{endpoint, method, status}``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            endpoint = getattr(route, "path", None) or "other"
            self.metrics.requests.labels(
                endpoint, method_label(scope.get("method", "")), str(status["code"])
            ).inc()
