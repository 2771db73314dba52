"""Qdrant's local mode, safe to share between threads.

qdrant-client's local mode is not thread-safe: an upsert grows the numpy arrays a search is
reading. The server answers questions while its job worker ingests (``ui.jobs``), both through
the one client a process may hold on the folder (local mode locks it), so every call of that
client goes through one lock. Each call lasts milliseconds: a search waits at most for one batch
of upserts. A Qdrant server needs none of this.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from qdrant_client import QdrantClient


class Serialised:
    """Every method call of the wrapped object under one (re-entrant) lock."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return value(*args, **kwargs)

        return call


def serialised(client: QdrantClient) -> QdrantClient:
    """``client`` with its local-mode engine behind one lock (any other engine untouched)."""
    from qdrant_client.local.qdrant_local import QdrantLocal

    inner = client._client
    if isinstance(inner, QdrantLocal):
        client._client = Serialised(inner)  # type: ignore[assignment]  # same methods
    return client


def is_serialised(client: QdrantClient) -> bool:
    return isinstance(client._client, Serialised)
