"""Helpers for the API tests: their settings, and a real uvicorn server on a free loopback
port, in a thread of the test process (``ui.serve_thread``, shared with the benches). The app
and its model are the real ones.
"""

from __future__ import annotations

from pathlib import Path

from assistant.core.settings import Settings
from ui.serve_thread import serve_in_thread as serve

__all__ = ["ORIGIN", "api_settings_for", "serve"]

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
    return demo_settings.updated(update)
