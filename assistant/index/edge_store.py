"""Qdrant's embedded engine (``qdrant-edge-py``) behind qdrant-client's own interface.

qdrant-client's local mode scores every point in Python per query (seconds at 100k points);
the edge engine is Qdrant's Rust core in-process: HNSW, a sparse inverted index with IDF,
payload indexes, a write-ahead log. ``EdgeBackend`` implements the part of qdrant-client's
``QdrantBase`` that guichet and llama-index's ``QdrantVectorStore`` call (collections, upsert,
delete, query, batch query, scroll, count, retrieve), taking and returning qdrant-client's
models, so it plugs in as a ``QdrantClient``'s backend and every caller stays the same.

Layout: ``<folder>/<collection>/shard`` (the edge shard) and ``<folder>/<collection>/
collection.json`` (the qdrant-client collection config, for ``get_collection``). A collection
is created in a temporary folder and renamed into place, so a crash leaves either no
collection or a complete one. Each update goes to the shard's WAL before it returns, which is
what makes a killed ingest resume cleanly. The folder is locked per process, like local mode.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import portalocker
import qdrant_edge as qe
from qdrant_client import QdrantClient
from qdrant_client.client_base import QdrantBase
from qdrant_client.http import models as qm

from assistant.index import edge_convert as conv

CONFIG_FILE = "collection.json"
# Points written since the last optimisation before the shard builds its indexes again: a
# plain segment is scanned (fast in Rust at a town's size), HNSW is built once it pays.
OPTIMISE_AFTER = 20_000


class FolderInUse(RuntimeError):
    """Another process holds the edge folder."""


class EdgeBackend(QdrantBase):
    """One edge shard per collection, opened on first use, under one folder."""

    def __init__(self, folder: Path, optimise_after: int = OPTIMISE_AFTER) -> None:
        super().__init__()
        self.folder = folder
        self.optimise_after = optimise_after
        folder.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(folder / ".lock", "a")  # noqa: SIM115  # held until close()
        try:
            portalocker.lock(self._lock_file, portalocker.LOCK_EX | portalocker.LOCK_NB)
        except portalocker.exceptions.LockException as exc:
            self._lock_file.close()
            raise FolderInUse(f"{folder} is locked by another process") from exc
        self._shards: dict[str, qe.EdgeShard] = {}
        self._written: dict[str, int] = {}
        self._idf: dict[str, frozenset[str]] = {}  # sparse vectors with the IDF modifier
        self._lock = threading.RLock()
        for unfinished in folder.glob(".new-*"):  # a creation killed before its rename
            shutil.rmtree(unfinished, ignore_errors=True)

    # --- collections -------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid collection name: {name!r}")
        return self.folder / name

    def collection_exists(self, collection_name: str, **kwargs: Any) -> bool:
        return (self._dir(collection_name) / CONFIG_FILE).is_file()

    def get_collections(self, **kwargs: Any) -> qm.CollectionsResponse:
        names = sorted(p.parent.name for p in self.folder.glob(f"*/{CONFIG_FILE}"))
        return qm.CollectionsResponse(collections=[qm.CollectionDescription(name=n) for n in names])

    def create_collection(
        self,
        collection_name: str,
        vectors_config: Any = None,
        sparse_vectors_config: dict[str, qm.SparseVectorParams] | None = None,
        **kwargs: Any,
    ) -> bool:
        final = self._dir(collection_name)
        with self._lock:
            if self.collection_exists(collection_name):
                raise ValueError(f"Collection {collection_name} already exists")
            vectors = conv.named_vector_params(vectors_config)
            sparse = sparse_vectors_config or {}
            tmp = self.folder / f".new-{collection_name}-{uuid.uuid4().hex[:8]}"
            shard = qe.EdgeShard.create(str(tmp / "shard"), conv.edge_config(vectors, sparse))
            shard.close()
            stored = {
                "vectors": {k: v.model_dump(mode="json") for k, v in vectors.items()},
                "sparse_vectors": {k: v.model_dump(mode="json") for k, v in sparse.items()},
            }
            (tmp / CONFIG_FILE).write_text(json.dumps(stored), encoding="utf-8")
            if final.exists():  # a half-deleted collection: no config, so not a collection
                shutil.rmtree(final)
            tmp.rename(final)
        return True

    def delete_collection(self, collection_name: str, **kwargs: Any) -> bool:
        with self._lock:
            shard = self._shards.pop(collection_name, None)
            self._idf.pop(collection_name, None)
            if shard is not None:
                shard.close()
            path = self._dir(collection_name)
            if not path.exists():
                return False
            (path / CONFIG_FILE).unlink(missing_ok=True)  # first: no longer a collection
            shutil.rmtree(path)
        return True

    def rename_collection(self, old: str, new: str) -> None:
        """Atomically (one directory rename): ``new`` must not exist."""
        with self._lock:
            shard = self._shards.pop(old, None)
            self._idf.pop(old, None)
            self._idf.pop(new, None)
            if shard is not None:
                shard.close()
            if self._dir(new).exists():
                raise ValueError(f"Collection {new} already exists")
            self._dir(old).rename(self._dir(new))

    def _idf_vectors(self, name: str) -> frozenset[str]:
        with self._lock:
            known = self._idf.get(name)
        if known is None:
            stored = json.loads((self._dir(name) / CONFIG_FILE).read_text("utf-8"))
            known = frozenset(
                vector
                for vector, params in stored["sparse_vectors"].items()
                if params.get("modifier") == qm.Modifier.IDF.value
            )
            with self._lock:
                self._idf[name] = known
        return known

    def get_collection(self, collection_name: str, **kwargs: Any) -> qm.CollectionInfo:
        stored = json.loads((self._dir(collection_name) / CONFIG_FILE).read_text("utf-8"))
        info = self._shard(collection_name).info()
        return conv.collection_info(stored, info)

    def create_payload_index(  # type: ignore[override]  # the arguments guichet sends
        self, collection_name: str, field_name: str, field_schema: Any = None, **kwargs: Any
    ) -> qm.UpdateResult:
        op = qe.UpdateOperation.create_field_index(field_name, conv.field_schema(field_schema))
        return self._update(collection_name, op, 0)

    def _shard(self, name: str) -> qe.EdgeShard:
        with self._lock:
            shard = self._shards.get(name)
            if shard is None:
                if self._lock_file.closed:  # the folder lock is released: another may hold it
                    raise RuntimeError(f"the edge index {self.folder} was closed")
                if not self.collection_exists(name):
                    raise ValueError(f"Collection {name} not found")
                shard = qe.EdgeShard.load(str(self._dir(name) / "shard"))
                self._shards[name] = shard
            return shard

    # --- writes ------------------------------------------------------------------------------

    def _update(self, name: str, op: qe.UpdateOperation, points: int) -> qm.UpdateResult:
        shard = self._shard(name)
        shard.update(op)
        with self._lock:
            self._written[name] = self._written.get(name, 0) + points
            due = self._written[name] >= self.optimise_after
            if due:
                self._written[name] = 0
        if due:
            shard.optimize()
        return qm.UpdateResult(operation_id=0, status=qm.UpdateStatus.COMPLETED)

    def upsert(self, collection_name: str, points: Any, **kwargs: Any) -> qm.UpdateResult:
        edge_points = conv.points(points)
        return self._update(
            collection_name, qe.UpdateOperation.upsert_points(edge_points), len(edge_points)
        )

    def upload_points(self, collection_name: str, points: Any, **kwargs: Any) -> None:
        batch: list[Any] = []
        for point in points:
            batch.append(point)
            if len(batch) >= 256:
                self.upsert(collection_name, batch)
                batch = []
        if batch:
            self.upsert(collection_name, batch)

    def delete(self, collection_name: str, points_selector: Any, **kwargs: Any) -> qm.UpdateResult:
        selector = points_selector
        if isinstance(selector, qm.FilterSelector):
            selector = selector.filter
        if isinstance(selector, qm.Filter):
            edge_filter = conv.filter_(selector)
            assert edge_filter is not None
            op = qe.UpdateOperation.delete_points_by_filter(edge_filter)
        else:
            ids = selector.points if isinstance(selector, qm.PointIdsList) else selector
            op = qe.UpdateOperation.delete_points([conv.point_id(i) for i in ids])
        return self._update(collection_name, op, 0)

    def optimize(self, collection_name: str) -> bool:
        """Build the indexes now (a bulk load ends with this; searches stay exact meanwhile)."""
        with self._lock:
            self._written[collection_name] = 0
        return bool(self._shard(collection_name).optimize())

    # --- reads -------------------------------------------------------------------------------

    def query_points(  # type: ignore[override]  # converted by edge_convert.query_request
        self, collection_name: str, **kwargs: Any
    ) -> qm.QueryResponse:
        request = conv.query_request(**kwargs, idf_vectors=self._idf_vectors(collection_name))
        hits = self._shard(collection_name).query(request)
        return qm.QueryResponse(points=[conv.scored(h) for h in hits])

    def query_batch_points(
        self, collection_name: str, requests: Sequence[qm.QueryRequest], **kwargs: Any
    ) -> list[qm.QueryResponse]:
        idf = self._idf_vectors(collection_name)
        batch = qe.QueryBatchRequest([conv.batch_request(r, idf) for r in requests])
        results = self._shard(collection_name).query_batch(batch)
        return [qm.QueryResponse(points=[conv.scored(h) for h in hits]) for hits in results]

    def scroll(  # type: ignore[override]  # the arguments guichet and llama-index send
        self,
        collection_name: str,
        scroll_filter: qm.Filter | None = None,
        limit: int = 10,
        offset: Any = None,
        with_payload: Any = True,
        with_vectors: Any = False,
        order_by: Any = None,
        **kwargs: Any,
    ) -> tuple[list[qm.Record], Any]:
        if order_by is not None:
            raise NotImplementedError("order_by is not used by guichet")
        request = qe.ScrollRequest(
            offset=conv.point_id(offset) if offset is not None else None,
            limit=limit,
            filter=conv.filter_(scroll_filter),
            with_payload=conv.payload_selector(with_payload),
            with_vector=conv.vector_selector(with_vectors),
        )
        records, next_offset = self._shard(collection_name).scroll(request)
        return [conv.record(r) for r in records], (
            None if next_offset is None else conv.out_id(next_offset)
        )

    def count(
        self,
        collection_name: str,
        count_filter: qm.Filter | None = None,
        exact: bool = True,
        **kwargs: Any,
    ) -> qm.CountResult:
        request = qe.CountRequest(filter=conv.filter_(count_filter), exact=True)
        return qm.CountResult(count=self._shard(collection_name).count(request))

    def retrieve(
        self,
        collection_name: str,
        ids: Any,
        with_payload: Any = True,
        with_vectors: Any = False,
        **kwargs: Any,
    ) -> list[qm.Record]:
        records = self._shard(collection_name).retrieve(
            [conv.point_id(i) for i in ids],
            with_payload=conv.payload_selector(with_payload),
            with_vector=conv.vector_selector(with_vectors),
        )
        return [conv.record(r) for r in records]

    def close(self, **kwargs: Any) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
            if not self._lock_file.closed:
                portalocker.unlock(self._lock_file)
                self._lock_file.close()


def edge_client(folder: Path) -> QdrantClient:
    """A ``QdrantClient`` whose backend is the edge engine: the same object every caller of
    ``store.get_client`` and llama-index already use. (qdrant-client has no public hook for
    another backend; it builds an empty in-memory one that is replaced at once.)"""
    backend = EdgeBackend(folder)
    client = QdrantClient(location=":memory:")
    client._client.close()
    client._client = backend
    return client


def copy_points(
    source: QdrantClient, target: QdrantClient, name: str, into: str | None = None, page: int = 256
) -> int:
    """Every point of collection ``name`` (vectors and payload as stored) from ``source`` into
    ``target``'s existing collection ``into`` (default: the same name); returns the count."""
    copied = 0
    offset: Any = None
    while True:
        records, offset = source.scroll(
            name, limit=page, offset=offset, with_payload=True, with_vectors=True
        )
        if records:
            points = [
                qm.PointStruct(id=r.id, vector=cast(Any, r.vector or {}), payload=r.payload)
                for r in records
            ]
            target.upsert(into or name, points)
            copied += len(records)
        if offset is None:
            return copied


def edge_backend(client: QdrantClient) -> EdgeBackend | None:
    inner = getattr(client, "_client", None)
    inner = getattr(inner, "_inner", inner)  # ui.jobs may have wrapped it in a lock
    return inner if isinstance(inner, EdgeBackend) else None
