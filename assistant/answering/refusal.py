"""What a refusal offers instead of an answer: the closest pages and their service's contact.

Only when the pages are on the question's topic: the gate passed, each page's retrieved
passages cover the question's subject words (IDF-weighted, at the gate's own coverage
threshold), and the refusal came
after retrieval (the model declined, nothing was on point, a time-out). Showing the pool's page
for "la patinoire" would be a wrong answer, so an off-subject or out-of-corpus refusal offers
only the town hall's orientation. The contact is a unit of the top page's retrieved passages,
shown verbatim: a phone number or an e-mail the verbatim-fact extractor finds, or a line that
starts with "Adresse".
"""

from __future__ import annotations

import re

from assistant.core.answer import Chunk, Contact, Reason, Suggestion, Suggestions
from assistant.grounding.facts import extract_facts
from assistant.grounding.subject import subject_coverage, subject_stems
from assistant.grounding.units import split_units
from assistant.retrieval.gate import Retrieval

# Refusals after retrieval, where the right pages were probably found.
PAGES_FOR = frozenset(
    {
        Reason.model_declined,
        Reason.nothing_safe,
        Reason.off_point,
        Reason.timeout,
        Reason.generation_error,
    }
)
RETRY_FOR = frozenset({Reason.timeout, Reason.generation_error})
MAX_PAGES = 3
EXCERPT_CHARS = 240
_ADDRESS = re.compile(r"^\s*(adresse|accueil|courrier)\b", re.IGNORECASE)


def suggest(
    question: str, retrieval: Retrieval, reasons: list[Reason], min_coverage: float
) -> Suggestions | None:
    """Close pages, a contact and a retry flag for a refusal; None when there is nothing to
    offer beyond the orientation text."""
    reason = reasons[0] if reasons else Reason.no_match
    retry = reason in RETRY_FOR
    pages: list[Suggestion] = []
    contact: Contact | None = None
    if reason in PAGES_FOR and retrieval.passed:
        pages = close_pages(question, retrieval, min_coverage)
        if pages:
            top = [c for c in retrieval.chunks if c.doc_id == pages[0].doc_id]
            contact = find_contact(top)
    if not pages and not retry:
        return None
    return Suggestions(pages=pages, contact=contact, retry=retry)


def close_pages(question: str, retrieval: Retrieval, min_coverage: float) -> list[Suggestion]:
    """Documents in rank order whose own retrieved passages cover the question's subject
    words (asking words such as "ouverte" or "tarifs" aside: the page may lack them)."""
    wanted = subject_stems(question)
    by_doc: dict[str, list[Chunk]] = {}
    for chunk in retrieval.chunks:
        by_doc.setdefault(chunk.doc_id, []).append(chunk)
    pages = []
    for doc_id, chunks in by_doc.items():
        text = " ".join(f"{c.title} {c.section} {c.text}" for c in chunks)
        if subject_coverage(wanted, text, retrieval.stats) < min_coverage:
            continue
        best = chunks[0]
        pages.append(
            Suggestion(
                title=best.title or doc_id,
                doc_id=doc_id,
                url=best.url,
                path=best.path,
                excerpt=_excerpt(best.text),
                updated=best.updated,
            )
        )
        if len(pages) == MAX_PAGES:
            break
    return pages


def find_contact(chunks: list[Chunk]) -> Contact | None:
    """The first unit, in rank order, that gives a phone number, an e-mail or an address."""
    for chunk in chunks:
        for unit in split_units(chunk.text):
            kinds = {f.kind for f in extract_facts(unit.text)}
            if kinds & {"phone", "email"} or _ADDRESS.match(unit.text):
                return Contact(text=unit.text, title=chunk.title or chunk.doc_id, url=chunk.url)
    return None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= EXCERPT_CHARS:
        return flat
    cut = flat[:EXCERPT_CHARS].rsplit(" ", 1)[0]
    return cut + " …"
