"""How much of a question the retrieved or cited passages actually speak about.

Plain word coverage treats "horaires" and "patinoire" alike, so an out-of-corpus question
("horaires de la patinoire") looks three-quarters covered by the pool's opening hours. Here
each question word weighs its BM25 IDF in the indexed corpus: a word no document contains
weighs most, a word every page repeats ("mairie") almost nothing. The document frequencies are
read from the BM25 sparse vectors already in Qdrant (local or server alike), once per corpus
version.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from assistant.core.text import content_stems
from assistant.index.sparse import term_id
from assistant.index.store import SPARSE
from assistant.retrieval.synonyms import Alternatives, found


@dataclass(frozen=True)
class TermStats:
    points: int
    df: dict[int, int]

    def idf(self, stem: str) -> float:
        d = self.df.get(term_id(stem), 0)
        return math.log(1 + (self.points - d + 0.5) / (d + 0.5))

    def known(self, stem: str) -> bool:
        return term_id(stem) in self.df


def read_term_stats(client, collection: str, page: int = 512) -> TermStats:
    """Document frequency of every BM25 term, from one scroll over the sparse vectors."""
    df: Counter[int] = Counter()
    points = 0
    offset = None
    while True:
        batch, offset = client.scroll(
            collection, limit=page, offset=offset, with_vectors=[SPARSE], with_payload=False
        )
        for point in batch:
            vector = (point.vector or {}).get(SPARSE) if isinstance(point.vector, dict) else None
            if vector is None:
                continue
            points += 1
            df.update(set(vector.indices))
        if offset is None:
            return TermStats(points, dict(df))


class TermStatsCache:
    """One ``TermStats`` per (collection, corpus version): re-read after each ingest."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._stats: TermStats | None = None

    def get(self, client, collection: str, version: tuple) -> TermStats:
        with self._lock:
            if self._stats is None or self._key != version:
                self._stats = read_term_stats(client, collection)
                self._key = version
            return self._stats


def weighted_coverage(
    question: str,
    texts: Iterable[str],
    stats: TermStats,
    alternatives: Alternatives | None = None,
) -> float:
    """IDF-weighted share of the question's content words found in ``texts`` taken together
    (a word also counts as found through one of its synonyms' expressions, all words found)."""
    wanted = set(content_stems(question))
    if not wanted:
        return 0.0
    have: set[str] = set()
    for text in texts:
        have |= set(content_stems(text))
    total = sum(stats.idf(s) for s in wanted)
    hit = {s for s in wanted if found(s, have, alternatives or {})}
    return sum(stats.idf(s) for s in hit) / total if total else 0.0


def foreign_question_terms(
    sentence: str,
    question: str,
    cited: set[str],
    stats: TermStats,
    alternatives: Alternatives | None = None,
) -> list[str]:
    """Question words that the sentence asserts although no indexed document contains them.

    The signature of an answer to the wrong subject: asked about the tourist office, the model
    copies the town hall's hours and writes "L'office de tourisme est ouvert de 8 h 30…". Only
    words unknown to the whole corpus count, so paraphrases of indexed topics stay allowed.
    Numbers are left to the facts check: "un quotient familial de 700" is the asker's own
    figure, matched against the source's brackets, not a subject. ``cited``: the stems of the
    cited sources (titles included), as the verifier already holds them. A word of the city's
    synonym list whose expression the sources hold ("HLM": "logement social") is on topic.
    """
    asked = set(content_stems(question))
    said = set(content_stems(sentence)) & asked
    if not said:
        return []
    alt = alternatives or {}
    return sorted(
        s
        for s in said - cited
        if not stats.known(s) and not any(c.isdigit() for c in s) and not found(s, cited, alt)
    )
