"""What the index holds, and what it should hold: shared by the ingest, kill and fault tests."""

from __future__ import annotations

from pathlib import Path

from assistant.core.settings import Settings
from assistant.index.store import get_client


def stored_point_ids(settings: Settings) -> list[str]:
    """Every point id of the settings' collection (none when it does not exist)."""
    client = get_client(settings)
    ids: list[str] = []
    offset = None
    while client.collection_exists(settings.index.collection):
        points, offset = client.scroll(
            settings.index.collection, limit=256, offset=offset, with_payload=False
        )
        ids += [str(p.id) for p in points]
        if offset is None:
            break
    return ids


def expected_chunk_ids(folder: Path, settings: Settings) -> set[str]:
    """The deterministic chunk ids a complete ingest of ``folder`` must produce (no embedding)."""
    from ingest.chunking import SectionChunker
    from ingest.loaders import load_file
    from ingest.pipeline import discover

    chunker = SectionChunker(
        chunk_chars=settings.ingest.chunk_chars, overlap_chars=settings.ingest.chunk_overlap_chars
    )
    docs = []
    for file, root in discover([folder]):
        docs += load_file(file, root, max_bytes=10**8).documents
    return {n.node_id for n in chunker(docs)}
