"""What several benches share: the demo corpus and questions, peak memory, percentiles."""

from __future__ import annotations

import json
import math
import resource
from collections.abc import Iterable
from pathlib import Path

from assistant.core.settings import Settings
from assistant.core.stats import percentile

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "corpora" / "demo"
DEMO_DATASET = REPO / "evals" / "datasets" / "demo.jsonl"


def pct(values: Iterable[float], q: float) -> float:
    """Benches report the linear percentile, NaN where nothing was measured (kept in the
    JSON and shown as "nan" rather than failing the whole bench)."""
    value = percentile(values, q, interpolate=True)
    return math.nan if value is None else value


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def demo_questions(n: int | None = None, *, answerable: bool = True) -> list[str]:
    """The first ``n`` demo questions (only the answerable ones unless told otherwise)."""
    lines = DEMO_DATASET.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    picked = [r["question"] for r in rows if not answerable or r["category"] == "answerable"]
    return picked[:n] if n is not None else picked


def demo_chunk_texts(settings: Settings) -> list[str]:
    """The demo corpus's chunks as the embedder sees them (text + title/section)."""
    from llama_index.core.schema import MetadataMode

    from ingest.chunking import SectionChunker
    from ingest.loaders import load_file
    from ingest.pipeline import discover

    chunker = SectionChunker(
        chunk_chars=settings.ingest.chunk_chars, overlap_chars=settings.ingest.chunk_overlap_chars
    )
    docs = []
    for file, root in discover([DEMO]):
        docs += load_file(file, root, max_bytes=10**8).documents
    return [n.get_content(metadata_mode=MetadataMode.EMBED) for n in chunker(docs)]
