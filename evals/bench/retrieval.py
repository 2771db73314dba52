"""Retrieval latency p50/p95 at the demo size, then at the fiche-corpus size and at 100k synthetic
points for both embedded engines (qdrant-client local mode, Qdrant's edge engine), through
``HybridRetriever.search``: the query embedding, the hybrid dense + BM25 request and the fusion,
the answers' code path. The raw engines alone: ``guichet bench engines``."""

from __future__ import annotations

import os
from typing import Any

from evals.bench.common import DEMO, pct
from evals.bench.engines import synthetic_collection
from evals.bench.ingest import SettingsFactory
from evals.timing import seconds

ENGINES = ("local", "edge")
SIZES = [("fiches", 4500), ("100k", 100_000)]
QUESTIONS = [
    "horaires de la piscine",
    "renouveler un passeport",
    "tarif cantine",
    "inscription listes électorales",
    "encombrants ramassage",
    "louer une salle",
    "permis de construire délai",
    "aide sociale CCAS",
    "stationnement résident",
    "acte de naissance copie",
]


def time_queries(retriever: Any, questions: list[str], repeat: int = 3) -> tuple[float, float]:
    """p50 and p95 in milliseconds of ``retriever.search`` over ``questions``, ``repeat`` times."""
    times = [seconds(retriever.search, q, 5) * 1000 for _ in range(repeat) for q in questions]
    return pct(times, 50), pct(times, 95)


def bench_retrieval(settings_factory: SettingsFactory, skip_100k: bool) -> dict:
    from assistant.index.embedding import load_embedder
    from assistant.retrieval.retrieve import HybridRetriever
    from ingest.pipeline import ingest

    out: dict[str, Any] = {}
    settings = settings_factory("ingest")  # reuses the demo index of bench_ingest
    ingest([DEMO], settings, progress=False)
    demo = HybridRetriever(settings)
    out["demo_points"] = demo.store.client.count(settings.index.collection).count
    out["demo_p50_ms"], out["demo_p95_ms"] = time_queries(demo, QUESTIONS)
    embedder = load_embedder(settings.index.embedder)
    # the query embedding alone, part of every search below: where the time goes
    embed_ms = [seconds(embedder.query, q) * 1000 for _ in range(2) for q in QUESTIONS]
    out["embed_p50_ms"], out["embed_p95_ms"] = pct(embed_ms, 50), pct(embed_ms, 95)
    sizes = [s for s in SIZES if not (skip_100k and s[0] == "100k")]
    for label, n in sizes:
        name = f"bench_{n}"
        out[f"{label}_points"] = n
        for engine in ENGINES:
            s = settings_factory(f"synthetic-{n}-{engine}").model_copy(
                update={"qdrant_engine": engine}
            )
            # edge: the build includes the HNSW index the store builds every 20,000 points
            out[f"{label}_{engine}_build_s"] = seconds(synthetic_collection, s, name, n)
            retriever = HybridRetriever(s, name, embedder)
            retriever.search(QUESTIONS[0], 5)  # the first request opens the index
            p50, p95 = time_queries(retriever, QUESTIONS, 2)
            out[f"{label}_{engine}_p50_ms"], out[f"{label}_{engine}_p95_ms"] = p50, p95
            print(label, engine, f"{p50:.1f} / {p95:.1f} ms", flush=True)
    out["load_avg"] = list(os.getloadavg())  # 1, 5, 15 min: the cores are shared
    return out
