"""The desk tests' settings and a real guichet server (uvicorn in a thread of the test process,
see ``tests.live_server``) with the desk mounted at ``/desk``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from assistant.core.settings import Settings
from tests.live_server import serve
from ui.auth import hash_password
from ui.state import AppState

LOGIN, PASSWORD = "agent", "mot-de-passe-de-test"


@dataclass
class RunningDesk:
    url: str  # .../desk/
    settings: Settings
    state: AppState


def desk_settings(demo_settings: Settings, small_llm: Path, db: Path) -> Settings:
    """The demo index, the small model (plumbing, not wording), short answers, one staff user."""
    return demo_settings.updated(
        {
            "llm_path": small_llm,
            "llm_threads": 1,
            "llm_max_tokens": 40,
            "staff_users": {LOGIN: hash_password(PASSWORD, iterations=1_000)},
            "feedback_db": db,
        }
    )


def build_app(settings: Settings, state: AppState) -> FastAPI:
    """The full server (public API + desk) when ``ui.server`` exists, else the desk alone."""
    try:
        from ui.server import create_app
    except ImportError:
        from ui.desk import mount_desk

        app = FastAPI()
        state.load()
        mount_desk(app, state)
        return app
    return create_app(settings, state)


@contextmanager
def serve_desk(settings: Settings) -> Iterator[RunningDesk]:
    state = AppState(settings)
    with serve(build_app(settings, state)) as base:
        yield RunningDesk(f"{base}/desk/", settings, state)
