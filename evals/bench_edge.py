"""Qdrant engines at 100k points: qdrant-client local mode vs qdrant-edge-py, raw, same run.

Local mode keeps points in Python and scores every one of them per query, fine for a town's
few thousand passages, not for 100k (qdrant-client warns above 20k). Qdrant's embedded engine
(``qdrant-edge-py``, beta) builds real HNSW and sparse indexes in-process. Both engines get the
same points (``synthetic_points``) and the same queries (a dense nearest and a sparse nearest,
what ``HybridRetriever`` asks); timings are per pair of searches.

    python -m evals.bench_edge [--points 100000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

DIM = 384
VOCAB = 50_000  # synthetic sparse term ids
TERMS_PER_POINT = 60


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


def queries(count: int = 20, dim: int = DIM) -> list[tuple[np.ndarray, list[int]]]:
    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        v = rng.standard_normal(dim).astype(np.float32)
        out.append((v / np.linalg.norm(v), sorted(set(rng.integers(0, VOCAB, 6).tolist()))))
    return out


def _percentiles(times: list[float]) -> tuple[float, float]:
    arr = np.asarray(times) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


def time_local(client, collection: str, qs, k: int = 30) -> tuple[float, float]:
    """Raw qdrant-client calls (no embedding, no llama-index): the engine alone."""
    from qdrant_client import models as qm

    from assistant.store import DENSE, SPARSE

    times = []
    for dense, sparse in qs:
        t0 = time.perf_counter()
        hits = client.query_points(collection, query=dense.tolist(), using=DENSE, limit=k)
        assert len(hits.points) == k, "local mode answered fewer points than asked"
        client.query_points(
            collection,
            query=qm.SparseVector(indices=sparse, values=[1.0] * len(sparse)),
            using=SPARSE,
            limit=k,
        )
        times.append(time.perf_counter() - t0)
    return _percentiles(times)


def build_edge(path: Path, n: int):
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


def time_edge(shard, qs, k: int = 30) -> tuple[float, float]:
    import qdrant_edge as qe

    times = []
    for dense, sparse in qs:
        t0 = time.perf_counter()
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
        times.append(time.perf_counter() - t0)
    return _percentiles(times)


def bench_engines(client, collection: str, n: int) -> dict:
    """``collection`` must already hold ``synthetic_points(n)`` (see evals.bench)."""
    qs = queries()
    out: dict = {"points": n}
    out["local_p50_ms"], out["local_p95_ms"] = time_local(client, collection, qs)
    try:
        import qdrant_edge  # noqa: F401
    except ImportError:
        out["edge"] = "qdrant-edge-py not installed"
        return out
    with tempfile.TemporaryDirectory(prefix="guichet-edge-") as tmp:
        t0 = time.perf_counter()
        shard = build_edge(Path(tmp) / "shard", n)
        out["edge_build_s"] = time.perf_counter() - t0
        out["edge_p50_ms"], out["edge_p95_ms"] = time_edge(shard, qs)
        shard.close()
    out["local_vs_edge"] = out["local_p50_ms"] / out["edge_p50_ms"]
    return out


def main() -> None:
    from assistant.offline import enforce_offline

    enforce_offline()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()

    from assistant.settings import Settings
    from assistant.store import get_client
    from evals.bench import synthetic_collection

    with tempfile.TemporaryDirectory(prefix="guichet-local-") as tmp:
        settings = Settings(data_dir=Path(tmp))
        name = f"bench_{args.points}"
        synthetic_collection(settings, name, args.points)
        print(json.dumps(bench_engines(get_client(settings), name, args.points), indent=1))


if __name__ == "__main__":
    main()
