"""The one place that builds the Qdrant client and the llama-index vector store.

Embedded in the data dir by default, with qdrant-client's local mode or, with
``GUICHET_QDRANT_ENGINE=edge``, Qdrant's own engine (``edge_store``, same client interface); a
server or cluster when ``GUICHET_QDRANT_URL`` is set. The same collection schema either way: a
named dense vector and a named BM25 sparse vector whose IDF Qdrant maintains (``Modifier.IDF``).
"""

from __future__ import annotations

import atexit
import logging
import threading
from typing import Any

from llama_index.vector_stores.qdrant import QdrantVectorStore
from qdrant_client import QdrantClient
from qdrant_client import models as qm

from assistant.core.settings import Settings
from assistant.index import sparse
from assistant.index.edge_store import copy_points, edge_backend, edge_client
from assistant.index.serialise import serialised

log = logging.getLogger(__name__)

DENSE = "dense"
SPARSE = "bm25"
# Payload fields the filters use; indexed on a server and by the edge engine (local mode scans).
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
            elif settings.index.qdrant_engine == "edge":
                client = edge_client(settings.qdrant_folder)
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
    if _adopt_local(client, settings, name, dim):
        return
    _create(client, settings, name, dim)


def _create(client: QdrantClient, settings: Settings, name: str, dim: int) -> None:
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
    if settings.index.qdrant_url or edge_backend(client):
        for field, schema in PAYLOAD_INDEXES.items():
            client.create_payload_index(name, field_name=field, field_schema=schema)


def _adopt_local(client: QdrantClient, settings: Settings, name: str, dim: int) -> int:
    """The edge engine's first use of a collection that local mode holds in the same data
    folder: its points are copied over (the docstore says they are ingested, so an ingest would
    not write them again), into a staging collection renamed when complete, so a copy killed
    midway is started again. The local folder is left as it was."""
    backend = edge_backend(client)
    local_folder = settings.paths.data_dir / "qdrant"
    if backend is None or settings.index.qdrant_path:
        return 0
    if not (local_folder / "collection" / name).is_dir():
        return 0
    key = str(local_folder.resolve())
    opened_here = key not in _clients
    source = get_client(settings.model_copy(update={"qdrant_engine": "local"}))
    try:
        if not source.collection_exists(name):
            return 0
        staging = f"{name}.adopting"
        if client.collection_exists(staging):
            client.delete_collection(staging)
        _create(client, settings, staging, dim)
        copied = copy_points(source, client, name, into=staging)
        backend.rename_collection(staging, name)
        log.info("collection %s: %d points copied from local mode to the edge engine", name, copied)
        return max(copied, 1)
    finally:
        if opened_here:
            with _lock:
                _clients.pop(key, None)
            source.close()


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
