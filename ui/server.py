"""One web server for everything: the public API and widget, the staff desk at ``/desk``.

``create_app`` builds the FastAPI app around an :class:`~ui.state.AppState` (opened at start-up
by the lifespan, so ``/readyz`` can say why when the model or the index cannot be opened);
``run`` serves it with uvicorn, on 127.0.0.1 unless the settings say otherwise.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from assistant.core import messages as msg
from assistant.core.settings import Settings
from ui import protect
from ui.admin import build_admin_router
from ui.api import AnswerLog, build_router
from ui.metrics import Metrics, RequestMetrics
from ui.state import AppState

log = logging.getLogger("guichet.server")

WIDGET_DIR = Path(__file__).parent / "widget"
STRINGS_SLOT = "/*GUICHET_STRINGS*/{}"


def widget_script(max_chars: int = 500) -> str:
    """widget.js with the French strings of ``assistant.core.messages`` put in (one place to
    edit), and the question's length limit for its counter."""
    source = (WIDGET_DIR / "widget.js").read_text(encoding="utf-8")
    config = {**msg.WIDGET, "max_chars": max_chars}
    strings = json.dumps(config, ensure_ascii=False).replace("</", "<\\/")
    return source.replace(STRINGS_SLOT, strings, 1)


def demo_page(base_url: str) -> str:
    """The fictional commune's home page, embedding the widget with the one documented tag."""
    template = (WIDGET_DIR / "demo.html").read_text(encoding="utf-8")
    return template.replace("{{BASE}}", escape(base_url.rstrip("/"), quote=True))


def create_app(settings: Settings, state: AppState | None = None) -> FastAPI:
    state = state or AppState(settings)
    metrics = Metrics()
    metrics.bind_queue(lambda: state.queue.depth, lambda: state.queue.active)
    answers = AnswerLog(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not state.loaded:
            await run_in_threadpool(state.load)
        await run_in_threadpool(answers.warm)
        state.jobs.start()  # ingest jobs and the sweep of expired validated answers
        yield
        await run_in_threadpool(state.jobs.stop)
        for step in state.at_exit:  # before uvicorn re-raises SIGTERM, which skips `finally`
            step()

    app = _fastapi(
        title="guichet — API publique",
        description=(
            "Assistant d'accueil de la mairie : réponses tirées des documents de la commune, "
            "chaque phrase vérifiée et citée. Voir ui/README_API.md."
        ),
        version="1",
        lifespan=lifespan,
    )
    app.state.guichet = state
    app.state.metrics = metrics
    limiter = protect.make_limiter()
    app.state.limiter = limiter
    protect.install(app, settings)
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: sees every status
    app.include_router(build_router(state, limiter, metrics, answers))
    # Before the desk's mount: /desk/admin/* are these routes, not Gradio's.
    app.include_router(build_admin_router(state))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home(request: Request) -> HTMLResponse:
        return HTMLResponse(demo_page(str(request.base_url)))

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> Response:
        return Response(
            widget_script(settings.serving.max_question_chars),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    _mount_desk(app, state)
    return app


def _fastapi(**kwargs: Any) -> FastAPI:
    """FastAPI whose /docs and /redoc assets are served locally (no CDN: works offline)."""
    try:
        from fastapi_offline import FastAPIOffline
    except ImportError:  # docs pages then load Swagger UI from its CDN
        log.warning("fastapi-offline missing: /docs needs Internet access")
        return FastAPI(**kwargs)
    return FastAPIOffline(**kwargs)


def _mount_desk(app: FastAPI, state: AppState) -> None:
    try:
        from ui.desk import mount_desk  # the staff desk (issue 5), when present
    except ImportError:
        log.info("staff desk not available: /desk not mounted")
        return
    mount_desk(app, state)


def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    from assistant.core.logging_setup import setup_logging
    from ui.handoff import remove_record, write_record

    setup_logging()  # personal data redacted from every log line, access logs without queries
    state = AppState(settings)
    app = create_app(settings, state)
    host, port = host or settings.serving.host, port or settings.serving.port
    # `guichet ingest` finds this server here and hands it the job (ui/handoff.py).
    write_record(settings, host, port, state.jobs.local_token)
    state.at_exit.append(lambda: remove_record(settings, state.jobs.local_token))
    try:
        _serve(app, host, port)
    finally:
        remove_record(settings, state.jobs.local_token)


def _serve(app: FastAPI, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(
        app,
        log_config=None,
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,  # X-Forwarded-For from a local reverse proxy: rate-limit per client
        server_header=False,  # no "server: uvicorn" banner
        timeout_graceful_shutdown=5,
    )
