"""Ingestion speed: chunks/s through the whole pipeline vs the raw embedder on the same texts,
and an unchanged re-ingest vs the first one."""

from __future__ import annotations

from collections.abc import Callable

from assistant.core.settings import Settings
from evals.bench.common import DEMO, demo_chunk_texts
from evals.timing import seconds, timed

SettingsFactory = Callable[[str], Settings]


def bench_ingest(settings_factory: SettingsFactory) -> dict:
    from assistant.index.embedding import load_embedder
    from ingest.pipeline import ingest

    settings = settings_factory("ingest")
    first, first_s = timed(ingest, [DEMO], settings, progress=False)
    again, again_s = timed(ingest, [DEMO], settings, progress=False)

    # The raw embedder on exactly the texts the pipeline embedded (chunk text + title/section).
    texts = demo_chunk_texts(settings)
    embedder = load_embedder(settings.index.embedder)
    bs = settings.index.embed_batch_size

    def embed_all() -> None:
        for i in range(0, len(texts), bs):
            embedder.passages(texts[i : i + bs])

    raw_s = seconds(embed_all)
    return {
        "chunks": first.chunks_written,
        "pipeline_chunks_per_s": first.chunks_written / first_s,
        "raw_chunks_per_s": len(texts) / raw_s,
        "ingest_vs_raw": (first.chunks_written / first_s) / (len(texts) / raw_s),
        "first_s": first_s,
        "unchanged_s": again_s,
        "reingest_speedup": first_s / max(again_s, 1e-6),
        "unchanged_files": again.count("unchanged"),
    }
