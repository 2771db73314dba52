"""French BM25 as Qdrant sparse vectors.

Documents carry the BM25 term-frequency part (saturated by k1, length-normalised by b); Qdrant
multiplies by the IDF it maintains itself (``Modifier.IDF`` on the sparse vector), so adding a
document never requires re-encoding the others. Terms are stemmed, accent-folded content words
(``assistant.core.text.content_stems``) hashed to 31-bit ids.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Sequence

from assistant.core.text import content_stems

K1 = 1.2
B = 0.75
# Average chunk length in content stems, measured on the demo corpus and the service-public
# fiches with 900-character chunks (~95-110); a fixed value keeps old vectors valid.
AVG_LEN = 100.0

SparseBatch = tuple[list[list[int]], list[list[float]]]


def term_id(stem: str) -> int:
    return zlib.crc32(stem.encode("utf-8")) & 0x7FFFFFFF


def _merge(stems: Sequence[str]) -> Counter[int]:
    return Counter(term_id(s) for s in stems)


def encode_document(text: str) -> tuple[list[int], list[float]]:
    stems = content_stems(text)
    counts = _merge(stems)
    norm = K1 * (1 - B + B * len(stems) / AVG_LEN)
    indices = sorted(counts)
    return indices, [counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices]


def encode_query(text: str) -> tuple[list[int], list[float]]:
    counts = _merge(content_stems(text))
    indices = sorted(counts)
    return indices, [1.0 for _ in indices]


def encode_documents(texts: list[str]) -> SparseBatch:
    """Batch form, with the signature llama-index's ``QdrantVectorStore`` expects."""
    pairs = [encode_document(t) for t in texts]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def encode_queries(texts: list[str]) -> SparseBatch:
    pairs = [encode_query(t) for t in texts]
    return [p[0] for p in pairs], [p[1] for p in pairs]
