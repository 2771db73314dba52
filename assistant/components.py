"""The heavy components of one process, built from the settings in one place and handed down.

A front end (``guichet serve``: ui/state.py) builds one ``Components`` and gives it to the
``Assistant`` and the server's live-corpus jobs. Each part is built on first use, once, under a
lock:

- ``generator``: the llama.cpp model in-process, or the pool of servers (``GUICHET_LLM_URLS``).
- ``embedder``: the embedding model (``GUICHET_EMBEDDER``), shared by answers and ingest jobs.
- ``store``: the Qdrant client. Local mode allows one client per folder and process, so the
  server's retriever and its ingest jobs must share one; ``assistant.index.store.get_client``
  still keeps that one per location (to move here with the ingest's own client).

A library caller that passes no ``Components`` gets its own (``Components(settings)``); the
integration tests share models through a session fixture (tests/conftest.py).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from assistant.core.settings import Settings

if TYPE_CHECKING:  # the heavy imports wait for first use (the CLI starts faster)
    from qdrant_client import QdrantClient

    from assistant.generation.base import Generator
    from assistant.index.embedding import Embedder


class Components:
    def __init__(
        self,
        settings: Settings,
        *,
        store: QdrantClient | None = None,
        embedder: Embedder | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self._store = store
        self._embedder = embedder
        self._generator = generator
        self._lock = threading.RLock()

    @property
    def store(self) -> QdrantClient:
        with self._lock:
            if self._store is None:
                from assistant.index import store

                self._store = store.get_client(self.settings)
            return self._store

    @property
    def embedder(self) -> Embedder:
        with self._lock:
            if self._embedder is None:
                from assistant.index import embedding

                self._embedder = embedding.load_embedder(self.settings.index.embedder)
            return self._embedder

    @property
    def generator(self) -> Generator:
        """Loaded on first use: a GGUF takes seconds and ~1.5 GB."""
        with self._lock:
            if self._generator is None:
                from assistant.generation import loader

                self._generator = loader.load_generator(self.settings)
            return self._generator
