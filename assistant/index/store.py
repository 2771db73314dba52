"""The one place that builds the Qdrant client and the llama-index vector store.

Local mode (a folder in the data dir) by default; a server or cluster when ``GUICHET_QDRANT_URL``
is set. The same collection schema either way: a named dense vector and a named BM25 sparse
vector whose IDF Qdrant maintains (``Modifier.IDF``).
"""

from __future__ import annotations

import atexit
import threading
from typing import Any

from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from assistant.core.settings import Settings
from assistant.index import sparse
from assistant.index.serialise import serialised

DENSE = "dense"
SPARSE = "bm25"
# Payload fields the filters use; indexed on a server (local mode scans anyway).
PAYLOAD_INDEXES = {"doc_id": qm.PayloadSchemaType.KEYWORD, "service": qm.PayloadSchemaType.KEYWORD}


class StoreError(RuntimeError):
    """Qdrant cannot be opened: message says why, nothing was modified."""


_clients: dict[str, QdrantClient] = {}
_lock = threading.Lock()


def get_client(settings: Settings) -> QdrantClient:
    """One client per location and process: local mode locks its folder."""
    key = settings.index.qdrant_url or str(settings.qdrant_folder.resolve())
    with _lock:
        if key in _clients:
            return _clients[key]
        try:
            if settings.index.qdrant_url:
                api_key = (
                    settings.index.qdrant_api_key.get_secret_value()
                    if settings.index.qdrant_api_key
                    else None
                )
                client = QdrantClient(url=settings.index.qdrant_url, api_key=api_key, timeout=30)
            else:
                settings.qdrant_folder.mkdir(parents=True, exist_ok=True)
                # shared by the server's answers and its ingest jobs: one lock (serialise.py)
                client = serialised(QdrantClient(path=str(settings.qdrant_folder)))
        except RuntimeError as exc:  # local mode: folder already opened by another process
            raise StoreError(
                f"Qdrant folder {settings.qdrant_folder} is in use by another guichet process "
                f"(stop it, or use a Qdrant server): {exc}"
            ) from exc
        except Exception as exc:  # corrupt local storage: report, touch nothing
            raise StoreError(f"cannot open Qdrant at {key}: {exc}") from exc
        _clients[key] = client
        return client


def close_clients() -> None:
    with _lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


def ensure_collection(client: QdrantClient, settings: Settings, name: str, dim: int) -> None:
    if client.collection_exists(name):
        return
    server: dict[str, Any] = {}
    if settings.index.qdrant_url:
        server = {
            "shard_number": settings.index.qdrant_shards,
            "replication_factor": settings.index.qdrant_replication,
            "write_consistency_factor": settings.index.qdrant_write_consistency,
        }
    client.create_collection(
        collection_name=name,
        vectors_config={DENSE: qm.VectorParams(size=dim, distance=qm.Distance.COSINE)},
        sparse_vectors_config={SPARSE: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
        **server,
    )
    if settings.index.qdrant_url:
        for field, schema in PAYLOAD_INDEXES.items():
            client.create_payload_index(name, field_name=field, field_schema=schema)


def vector_store(
    settings: Settings, name: str, dim: int, hybrid_fusion_fn: Any = None
) -> QdrantVectorStore:
    client = get_client(settings)
    ensure_collection(client, settings, name, dim)
    return QdrantVectorStore(
        collection_name=name,
        client=client,
        enable_hybrid=True,
        sparse_doc_fn=sparse.encode_documents,
        sparse_query_fn=sparse.encode_queries,
        dense_vector_name=DENSE,
        sparse_vector_name=SPARSE,
        hybrid_fusion_fn=hybrid_fusion_fn,
        batch_size=64,
    )


def count_points(settings: Settings, name: str) -> int:
    client = get_client(settings)
    if not client.collection_exists(name):
        return 0
    return int(client.count(name, exact=True).count)


# Close local-mode clients before the interpreter tears modules down (otherwise qdrant-client's
# __del__ prints a traceback at exit).
atexit.register(close_clients)
