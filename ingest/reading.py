"""What a file becomes depends on the bytes *and* on the code and settings that read it.

The docstore remembers a hash per file and per document so that an unchanged corpus is not
read again. Bytes alone are not enough: when a loader, the Markdown renderer, the table
reader or the chunker changes what a file becomes (e.g. table rows gaining their header
line), an index built before would keep the old passages for ever, reported "unchanged".
The stored hashes therefore carry a reading signature: bump ``READING_VERSION`` with any
change to what ingest produces; chunk sizes and OCR settings are part of it too.
"""

from __future__ import annotations

import hashlib

from assistant.core.settings import Settings

# 2: two-column table rows carry their header line; consecutive headings combine.
READING_VERSION = 2


def reading_signature(settings: Settings) -> str:
    s = settings.ingest
    parts = (
        READING_VERSION,
        s.chunk_chars,
        s.chunk_overlap_chars,
        s.ocr,
        s.ocr_language,
        s.ocr_dpi,
        s.ocr_min_confidence,
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def signed(digest: str, signature: str) -> str:
    """The hash stored for a file or a document: its content's, read the current way."""
    return f"{digest}~{signature}"
