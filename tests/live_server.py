"""Helpers for the API tests: their settings, and a real uvicorn server on a free loopback
port, in a thread of the test process.

A thread, not a subprocess: Qdrant's local mode locks its folder per process, and the session's
demo index is already open in this one. The app and its model are the real ones.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from assistant.settings import Settings

ORIGIN = "https://www.sainte-clarisse.example"


def api_settings_for(demo_settings: Settings, small_llm: Path, db: Path, **extra) -> Settings:
    update = {
        "llm_path": small_llm,
        "llm_threads": 1,
        "llm_max_tokens": 40,
        "rate_limit": "1000/minute",
        "feedback_db": db,
        "cors_origins": [ORIGIN],
        **extra,
    }
    return demo_settings.model_copy(update=update)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(app: FastAPI, *, startup_timeout: float = 120.0) -> Iterator[str]:
    """Run ``app`` until the block ends; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
