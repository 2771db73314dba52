"""The relevance gate: refuse before calling the model when retrieval found nothing relevant.

Two signals, because each fails alone: e5's cosine is high even for unrelated French text
(~0.78), and plain word coverage is fooled by common words. A question passes when the best
dense score is high, or when it is fair and the retrieved passages cover enough of the
question, each word weighted by its IDF in the corpus (``assistant.retrieval.relevance``), so
that the one word no document contains ("patinoire") outweighs "horaires". Thresholds come from
``evals/calibrate/gate.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.core.answer import Chunk
from assistant.core.text import content_stems
from assistant.retrieval.relevance import TermStats, weighted_coverage
from assistant.retrieval.synonyms import Alternatives

# A dense score this much above the threshold passes on its own.
DENSE_ALONE_MARGIN = 0.03


def coverage(question: str, chunks: list[Chunk]) -> float:
    """Best share of the question's content stems found in one retrieved chunk (+ title)."""
    q = set(content_stems(question))
    if not q or not chunks:
        return 0.0
    best = 0.0
    for c in chunks:
        found = set(content_stems(f"{c.title} {c.section} {c.text}"))
        best = max(best, len(q & found) / len(q))
    return best


def topic_coverage(
    question: str, chunks: list[Chunk], stats: TermStats, alternatives: Alternatives | None = None
) -> float:
    """IDF-weighted share of the question found in the retrieved passages (titles included);
    ``alternatives``: the city's synonyms of the question's words (``retrieval.synonyms``)."""
    texts = (f"{c.title} {c.section} {c.text}" for c in chunks)
    return weighted_coverage(question, texts, stats, alternatives)


def passes(dense: float, cov: float, min_dense: float, min_coverage: float) -> bool:
    if dense >= min_dense + DENSE_ALONE_MARGIN:
        return True
    return dense >= min_dense and cov >= min_coverage


def best_dense(chunks: list[Chunk]) -> float:
    return max((c.dense_score for c in chunks if c.dense_score is not None), default=0.0)


@dataclass(frozen=True)
class Retrieval:
    """What retrieval handed to the answer stages, and what the gate made of it."""

    chunks: list[Chunk]
    stats: TermStats
    dense: float
    coverage: float
    passed: bool


def gate(
    question: str,
    chunks: list[Chunk],
    stats: TermStats,
    min_dense: float,
    min_coverage: float,
    alternatives: Alternatives | None = None,
) -> Retrieval:
    dense, cov = best_dense(chunks), topic_coverage(question, chunks, stats, alternatives)
    return Retrieval(chunks, stats, dense, cov, passes(dense, cov, min_dense, min_coverage))
