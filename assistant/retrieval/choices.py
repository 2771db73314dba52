"""Close documents: when retrieval cannot tell two pages apart, the citizen is asked which.

On the service-public fiches the right fiche is in the top five for every spf-105 question but
first for only 87 %: the misses are siblings (the car-insurance deductible beside the general
insurance deductible, the creditor's page beside the debtor's) whose best passages score
within a few hundredths of each other. No reranker ships offline, so rather than guess, the
answer carries the close documents as choices ("Votre question porte sur : … / … ?") and a
click asks the same question again, restricted to the chosen document.

The rule is deliberately plain, over what retrieval already returned (no model): documents are
ranked by their best passage; those whose best fused score is within ``margin`` of the first
document's, and whose passages cover the question's words (IDF-weighted, as the relevance gate
counts them) at least ``min_coverage`` of what the first document's cover, are close; two or
more close documents, at most ``max_choices``, are offered. The thresholds are settings,
calibrated by ``evals/studies/choices.py`` on spf-105 and spf-535 (README, "Choices").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.core.answer import Choice, Chunk
from assistant.retrieval.relevance import TermStats, weighted_coverage
from assistant.retrieval.synonyms import Alternatives

EXCERPT_CHARS = 160


@dataclass(frozen=True)
class ChoiceRule:
    margin: float  # fused-score distance to the first document
    min_coverage: float  # question coverage relative to the first document's
    max_choices: int = 3


def best_per_document(chunks: Sequence[Chunk]) -> list[list[Chunk]]:
    """The retrieved chunks grouped by document, documents in the rank of their best chunk."""
    groups: dict[str, list[Chunk]] = {}
    for chunk in chunks:
        groups.setdefault(chunk.doc_id, []).append(chunk)
    return list(groups.values())


def close_documents(
    question: str,
    chunks: Sequence[Chunk],
    stats: TermStats,
    rule: ChoiceRule,
    alternatives: Alternatives | None = None,
) -> list[list[Chunk]]:
    """The documents too close to the first one to pick between, first included; [] when
    the first one stands out (or fewer than two documents qualify)."""
    if rule.max_choices < 2:
        return []
    docs = best_per_document(chunks)
    if len(docs) < 2:
        return []
    top = docs[0][0].score
    cover = [_coverage(question, doc, stats, alternatives) for doc in docs]
    close = [
        doc
        for doc, cov in zip(docs, cover, strict=True)
        if top - doc[0].score <= rule.margin and cov >= rule.min_coverage * cover[0]
    ]
    if not close or close[0] is not docs[0]:
        return []
    close = close[: rule.max_choices]
    return close if len(close) >= 2 else []


def _coverage(
    question: str, doc: list[Chunk], stats: TermStats, alternatives: Alternatives | None
) -> float:
    texts = (f"{c.title} {c.section} {c.text}" for c in doc)
    return weighted_coverage(question, texts, stats, alternatives)


def choice_key(doc_id: str) -> str:
    """An opaque, stable name for a document, for clients that must not see its id (a path)."""
    return hashlib.sha256(doc_id.encode("utf-8")).hexdigest()[:16]


def as_choice(doc: list[Chunk]) -> Choice:
    best = doc[0]
    text = " ".join(best.text.split())
    excerpt = text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS].rsplit(" ", 1)[0] + "…"
    return Choice(
        doc_id=best.doc_id,
        key=choice_key(best.doc_id),
        title=best.title,
        section=best.section,
        excerpt=excerpt,
        url=best.url,
        score=best.score,
    )


def choices_for(
    question: str,
    chunks: Sequence[Chunk],
    stats: TermStats,
    rule: ChoiceRule,
    alternatives: Alternatives | None = None,
) -> list[Choice]:
    close = close_documents(question, chunks, stats, rule, alternatives)
    return [as_choice(doc) for doc in close]
