"""Retrieval latency p50/p95 at the demo size, at the fiche-corpus size and at 100k synthetic
points (and, at 100k, the engine alone: ``evals.bench.engines``)."""

from __future__ import annotations

from typing import Any

from evals.bench.common import DEMO, pct
from evals.bench.engines import bench_engines, synthetic_collection
from evals.bench.ingest import SettingsFactory
from evals.timing import seconds

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
    sizes = [("fiches", 4500)] + ([] if skip_100k else [("100k", 100_000)])
    for label, n in sizes:
        name = f"bench_{n}"
        s = settings_factory(f"synthetic-{n}")
        out[f"{label}_build_s"] = seconds(synthetic_collection, s, name, n)
        retriever = HybridRetriever(s, name, embedder)
        out[f"{label}_points"] = n
        out[f"{label}_p50_ms"], out[f"{label}_p95_ms"] = time_queries(retriever, QUESTIONS, 2)
        if label == "100k":
            out["engines"] = bench_engines(retriever.store.client, name, n)
    return out
