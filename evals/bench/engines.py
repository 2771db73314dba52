"""Qdrant engines at 100k points: qdrant-client local mode vs qdrant-edge-py, raw, same run.

Local mode keeps points in Python and scores every one of them per query, fine for a town's
few thousand passages, not for 100k (qdrant-client warns above 20k). Qdrant's embedded engine
(``qdrant-edge-py``, beta) builds real HNSW and sparse indexes in-process. Both engines get the
same points (``synthetic_points``) and the same queries (a dense nearest and a sparse nearest,
what ``HybridRetriever`` asks); timings are per pair of searches.

    guichet bench engines [--points 100000]
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.settings import Settings
from evals.bench.common import pct
from evals.timing import seconds, timed

DIM = 384
VOCAB = 50_000  # synthetic sparse term ids
TERMS_PER_POINT = 60
Query = tuple[np.ndarray, list[int]]  # a dense vector and sparse term ids


def synthetic_points(n: int, dim: int = DIM, batch: int = 2000) -> Iterator[list[tuple]]:
    """Batches of (id, unit dense vector, sorted sparse indices), the same for every engine."""
    rng = np.random.default_rng(0)
    for start in range(0, n, batch):
        size = min(batch, n - start)
        vecs = rng.standard_normal((size, dim)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        yield [
            (
                start + i,
                vecs[i],
                sorted(set(rng.integers(0, VOCAB, TERMS_PER_POINT).tolist())),
            )
            for i in range(size)
        ]


def queries(count: int = 20, dim: int = DIM) -> list[Query]:
    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        v = rng.standard_normal(dim).astype(np.float32)
        out.append((v / np.linalg.norm(v), sorted(set(rng.integers(0, VOCAB, 6).tolist()))))
    return out


def synthetic_collection(settings: Settings, name: str, n: int) -> None:
    """n synthetic points (``synthetic_points``) in Qdrant, shaped like real chunks."""
    from qdrant_client import models as qm

    from assistant.index.store import DENSE, SPARSE, ensure_collection, get_client

    client = get_client(settings)
    if client.collection_exists(name) and client.count(name).count >= n:
        return
    ensure_collection(client, settings, name, DIM)
    for batch in synthetic_points(n):
        points = [
            qm.PointStruct(
                id=pid,
                vector={
                    DENSE: vec.tolist(),
                    SPARSE: qm.SparseVector(indices=idx, values=[1.0] * len(idx)),
                },
                payload={
                    "doc_id": f"doc{pid // 6}",
                    "text": "x",
                    "service": "bench",
                    "_node_content": json.dumps({"id_": str(pid), "text": "x", "metadata": {}}),
                    "_node_type": "TextNode",
                },
            )
            for pid, vec, idx in batch
        ]
        client.upsert(name, points, wait=True)


def _time_pairs(
    search_pair: Callable[[np.ndarray, list[int]], None], qs: list[Query]
) -> tuple[float, float]:
    """p50 and p95 in milliseconds of one dense and one sparse search per query."""
    ms = [seconds(search_pair, dense, sparse) * 1000 for dense, sparse in qs]
    return pct(ms, 50), pct(ms, 95)


def time_local(client: Any, collection: str, qs: list[Query], k: int = 30) -> tuple[float, float]:
    """Raw qdrant-client calls (no embedding, no llama-index): the engine alone."""
    from qdrant_client import models as qm

    from assistant.index.store import DENSE, SPARSE

    def search_pair(dense: np.ndarray, sparse: list[int]) -> None:
        hits = client.query_points(collection, query=dense.tolist(), using=DENSE, limit=k)
        assert len(hits.points) == k, "local mode answered fewer points than asked"
        client.query_points(
            collection,
            query=qm.SparseVector(indices=sparse, values=[1.0] * len(sparse)),
            using=SPARSE,
            limit=k,
        )

    return _time_pairs(search_pair, qs)


def build_edge(path: Path, n: int) -> Any:
    import qdrant_edge as qe

    config = qe.EdgeConfig(
        vectors={"dense": qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine)},
        sparse_vectors={"bm25": qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
    )
    shard = qe.EdgeShard.create(str(path), config)
    for batch in synthetic_points(n):
        points = [
            qe.Point(
                id=pid,
                vector={
                    "dense": vec.tolist(),
                    "bm25": qe.SparseVector(indices=idx, values=[1.0] * len(idx)),
                },
                payload={"doc_id": f"doc{pid // 6}"},
            )
            for pid, vec, idx in batch
        ]
        shard.update(qe.UpdateOperation.upsert_points(points))
    shard.optimize()  # build the HNSW and sparse indexes now, not during the timed queries
    return shard


def time_edge(shard: Any, qs: list[Query], k: int = 30) -> tuple[float, float]:
    import qdrant_edge as qe

    def search_pair(dense: np.ndarray, sparse: list[int]) -> None:
        hits = shard.query(
            qe.QueryRequest(limit=k, query=qe.Query.Nearest(dense.tolist(), "dense"))
        )
        assert len(hits) == k, "the edge shard answered fewer points than asked"
        shard.query(
            qe.QueryRequest(
                limit=k,
                query=qe.Query.Nearest(
                    qe.SparseVector(indices=sparse, values=[1.0] * len(sparse)), "bm25"
                ),
            )
        )

    return _time_pairs(search_pair, qs)


def bench_engines(client: Any, collection: str, n: int) -> dict:
    """``collection`` must already hold ``synthetic_points(n)`` (``synthetic_collection``)."""
    qs = queries()
    out: dict = {"points": n}
    out["local_p50_ms"], out["local_p95_ms"] = time_local(client, collection, qs)
    try:
        import qdrant_edge  # noqa: F401
    except ImportError:
        out["edge"] = "qdrant-edge-py not installed"
        return out
    with tempfile.TemporaryDirectory(prefix="guichet-edge-") as tmp:
        shard, out["edge_build_s"] = timed(build_edge, Path(tmp) / "shard", n)
        out["edge_p50_ms"], out["edge_p95_ms"] = time_edge(shard, qs)
        shard.close()
    out["local_vs_edge"] = out["local_p50_ms"] / out["edge_p50_ms"]
    return out


def engines_study(points: int = 100_000) -> dict:
    """Both engines at ``points`` synthetic points, in a throwaway data folder."""
    from assistant.index.store import get_client

    with tempfile.TemporaryDirectory(prefix="guichet-local-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        name = f"bench_{points}"
        synthetic_collection(settings, name, points)
        return bench_engines(get_client(settings), name, points)
