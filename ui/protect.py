"""What keeps the public endpoint standing on the open internet: CORS allow-list, per-client
rate limit (slowapi), request body cap, security headers, the ops token of ``/metrics`` and
``/readyz``, and error handlers that answer in French with a 4xx for anything the client sent,
a 503 + ``Retry-After`` when busy, and never leak internals.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.pipeline import QuestionRejected
from ui.queue import QueueFull

log = logging.getLogger("guichet.server")

MAX_BODY_BYTES = 64 * 1024  # a question is at most a few KB of JSON


class NotReady(RuntimeError):
    """The model or the index could not be opened at start-up (details in the log)."""


def make_limiter() -> Limiter:
    """Per-client limits, keyed on the peer address. Behind a reverse proxy, uvicorn's
    ``--forwarded-allow-ips`` makes that the real client (X-Forwarded-For)."""
    # Headers only on the 429 (see _rate_limited): slowapi would put Retry-After on every 200.
    return Limiter(key_func=get_remote_address, headers_enabled=False)


def install(app: FastAPI, settings: Settings) -> None:
    # Starlette runs the last-added middleware first: CORS wraps the body cap, so even a 413
    # carries the CORS headers the browser needs to read it.
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if settings.serving.ops_token is not None:
        app.add_middleware(OpsToken, token=settings.serving.ops_token.get_secret_value())
    app.add_middleware(SecurityHeaders)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(settings.serving.cors_origins),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        expose_headers=["Retry-After"],
        max_age=600,
    )
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RateLimitExceeded, _rate_limited)  # type: ignore[arg-type]
    app.add_exception_handler(QuestionRejected, _question_rejected)  # type: ignore[arg-type]
    app.add_exception_handler(QueueFull, _queue_full)  # type: ignore[arg-type]
    app.add_exception_handler(NotReady, _not_ready)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


def french_validation_message(errors: list[dict[str, Any]]) -> str:
    phrases: list[str] = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        field = ".".join(loc) or "corps"
        kind = str(error.get("type", ""))
        if kind == "json_invalid":
            field = "corps"
        template = msg.INVALID_FIELD.get(kind, msg.INVALID_FIELD_OTHER)
        phrase = template.format(field=field)
        if phrase not in phrases:
            phrases.append(phrase)
    return msg.INVALID_REQUEST.format(details="; ".join(phrases[:3]) or "format inattendu")


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # Only location, type and pydantic's message: never echo the input back.
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "type": e.get("type"), "msg": e.get("msg")}
        for e in exc.errors()
    ]
    return JSONResponse(
        {"detail": french_validation_message(errors), "errors": errors}, status_code=422
    )


_HTTP_FRENCH = {404: msg.NOT_FOUND_HTTP, 405: msg.METHOD_NOT_ALLOWED}
# FastAPI's answer when the body is JSON that ``json.loads`` cannot take (nested too deep).
_BODY_PARSE_ERROR = "There was an error parsing the body"


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    if exc.status_code == 400 and detail == _BODY_PARSE_ERROR:
        # Same shape as the other unreadable bodies (422, see french_validation_message).
        errors = [{"loc": ["body"], "type": "json_invalid", "msg": "unreadable body"}]
        text = msg.INVALID_REQUEST.format(details=msg.BODY_UNREADABLE)
        return JSONResponse({"detail": text, "errors": errors}, status_code=422)
    if exc.status_code in _HTTP_FRENCH and detail in (None, "Not Found", "Method Not Allowed"):
        detail = _HTTP_FRENCH[exc.status_code]
    elif not isinstance(detail, str) or detail == HTTPStatus(exc.status_code).phrase:
        detail = msg.HTTP_ERROR.format(status=exc.status_code)  # Starlette's English default
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)


async def _rate_limited(request: Request, exc: RateLimitExceeded) -> JSONResponse:
    limiter: Limiter = request.app.state.limiter
    current = request.state.view_rate_limit
    seconds = 60
    try:
        reset, _ = limiter.limiter.get_window_stats(current[0], *current[1])
        seconds = max(1, math.ceil(reset - time.time()))
    except Exception:  # storage hiccup: still answer 429 with a sane delay
        log.warning("rate-limit window unavailable", exc_info=True)
    return JSONResponse(
        {"detail": msg.RATE_LIMITED.format(seconds=seconds)},
        status_code=429,
        headers={"Retry-After": str(seconds), "X-RateLimit-Limit": str(current[0].amount)},
    )


async def _question_rejected(request: Request, exc: QuestionRejected) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=422)


async def _queue_full(request: Request, exc: QueueFull) -> JSONResponse:
    metrics = getattr(request.app.state, "metrics", None)
    if metrics is not None:
        metrics.rejected_full.inc()
    return JSONResponse(
        {"detail": msg.BUSY.format(seconds=exc.retry_after)},
        status_code=503,
        headers={"Retry-After": str(exc.retry_after)},
    )


async def _not_ready(request: Request, exc: NotReady) -> JSONResponse:
    return JSONResponse({"detail": msg.UNAVAILABLE}, status_code=503, headers={"Retry-After": "30"})


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path, exc_info=exc)
    return JSONResponse({"detail": msg.INTERNAL_ERROR}, status_code=500)


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with a 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Answer now and tell the app the client left: it stops reading, and
                    # whatever it sends afterwards is dropped.
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, guarded_send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"detail": msg.BODY_TOO_LARGE.format(max=self.max_bytes)}, status_code=413
        )
        await response(scope, receive, send)


# --- security headers ----------------------------------------------------------------------
def _style_hash(html: str) -> str:
    """CSP hash of the one inline <style> of a page we serve (the demo page)."""
    found = re.search(r"<style>(.*?)</style>", html, re.S)
    digest = hashlib.sha256((found.group(1) if found else "").encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


_DEMO = Path(__file__).parent / "widget" / "demo.html"
# The API, the demo page and the widget: scripts from here only, no inline script, no eval.
# The widget's styles are constructed stylesheets, which need no 'unsafe-inline'.
CSP_SITE = (
    "default-src 'none'; script-src 'self'; style-src 'self' "
    f"{_style_hash(_DEMO.read_text(encoding='utf-8'))}; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (/docs, /redoc) starts from an inline script.
CSP_DOCS = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
)
# Gradio's page carries its config in inline scripts and its components set inline styles
# (read from gradio/templates/frontend). Its gr.HTML component compiles each value through the
# Function constructor (seen in Chromium: "Error evaluating template: EvalError", and the desk
# showed no answer), so the desk needs 'unsafe-eval'; every value it renders is escaped on the
# server (ui/desk_render.py), which is the barrier. Never framed.
CSP_DESK = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; media-src 'self' blob:; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",  # questions in URLs never leave with a link
    b"cross-origin-opener-policy": b"same-origin",
}


def csp_for(path: str) -> str:
    if path == "/desk" or path.startswith("/desk/"):
        return CSP_DESK
    if path in ("/docs", "/redoc") or path.startswith("/docs/"):
        return CSP_DOCS
    return CSP_SITE


class SecurityHeaders:
    """Add the security headers to every response that does not set its own (the desk's
    login page sets a stricter CSP)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = csp_for(scope["path"]).encode()

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in [*SECURITY_HEADERS.items(), (b"content-security-policy", csp)]:
                    if name not in present:
                        headers.append((name, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


# --- ops endpoints -----------------------------------------------------------------------------
OPS_PATHS = ("/metrics", "/readyz")


class OpsToken:
    """``GUICHET_OPS_TOKEN`` set: ``/metrics`` and ``/readyz`` answer only with
    ``Authorization: Bearer <token>`` (``/healthz`` stays open for liveness probes)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") in OPS_PATHS:
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                response = JSONResponse(
                    {"detail": msg.OPS_TOKEN_REQUIRED},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
