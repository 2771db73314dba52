"""The best exact passage, found without the model, shown while the model answers.

Reading a prompt takes the model seconds on a CPU (a minute on a busy one); the passages are
known within a few hundred milliseconds. So as soon as retrieval, the relevance gate and the
subject check have passed, the single unit (sentence, table row, list item) that best covers
the question is sent, verbatim and cited, labelled as an excerpt. It is chosen among the units
the model itself may choose from (``offer_choosable``: the right kind of fact, day, season and
bracket) by IDF-weighted coverage of the question's words, and it must pass every check a
model-chosen unit passes (``grounding.quotes.decide_quotes``): a preview can never show what
an answer could not. When none passes, there is no preview.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.core.answer import Chunk, Preview, Reason, Source
from assistant.core.text import content_stems
from assistant.generation.quote import select_units
from assistant.grounding.kinds import answers, choosable_units
from assistant.grounding.quotes import decide_quotes, subject_text
from assistant.grounding.subject import SubjectJudge, named_subject, subject_coverage
from assistant.grounding.units import Unit, is_statement

# Candidates checked in score order; past a few, the best-covering units have all failed and
# a lower one would be a poor excerpt anyway.
MAX_TRIED = 5


def offer_choosable(question: str, sources: list[Source]) -> list[Source]:
    """Number for the model only the units that could answer (``kinds.choosable_units``):
    asked for the pool's Wednesday hours, it cannot pick the swimming school's lessons."""
    offered = choosable_units(
        question, {u.id: (u.text, u.context) for s in sources for u in s.units}
    )
    return [
        s.model_copy(
            update={"units": [u.model_copy(update={"offered": u.id in offered}) for u in s.units]}
        )
        for s in sources
    ]


def quotable_sources(
    question: str,
    chunks: list[Chunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    judge: SubjectJudge,
) -> tuple[list[Source], Reason | None]:
    """Quote mode's numbered sources (units on the subject, the choosable ones offered), or
    none and why: no passage on the subject, the subject the question names is in no document
    (``off_subject``), or no unit holds the kind of fact asked (``off_point``). Then neither
    the model nor the preview has anything to choose from."""
    head = named_subject(question)
    if head is not None and not judge.stats.known(head):
        return [], Reason.off_subject
    sources = select_units(question, chunks, budget_tokens, count_tokens, judge=judge)
    if not sources:
        return [], Reason.off_subject
    if not answers(question, [f"{u.context} {u.text}" for s in sources for u in s.units]):
        return [], Reason.off_point
    return offer_choosable(question, sources), None


def best_preview(question: str, sources: list[Source], judge: SubjectJudge) -> Preview | None:
    """The offered unit that best covers the question and passes the quote checks, or None."""
    q = set(content_stems(question))
    ranked = []
    for rank, source in enumerate(sources):
        for order, unit in enumerate(source.units):
            if not unit.offered or not is_statement(Unit(unit.text)):
                continue
            own = subject_coverage(q, f"{unit.context} {unit.text}", judge.stats)
            whole = subject_coverage(q, subject_text(source, unit), judge.stats)
            # Title and section count first: among units that cover the question as well, the
            # best-ranked document's (demo set: 35 of 44 previews hold the expected fact,
            # against 34 ranking by the unit's own words first).
            ranked.append((-whole, -own, rank, order, unit.id))
    ranked.sort()
    by_id = {s.id: s for s in sources}
    for *_, uid in ranked[:MAX_TRIED]:
        checked = decide_quotes(question, [uid], sources, judge)
        if checked.delivered and checked.holds_kind:
            sentence = checked.delivered[0]
            return Preview(sentence=sentence, source=by_id[sentence.source_ids[0]])
    return None


def preview_for(
    question: str,
    chunks: list[Chunk],
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    judge: SubjectJudge,
) -> Preview | None:
    """The preview of paraphrase mode, whose prompt has no numbered units: the units are cut
    as quote mode cuts them, and the same choice and checks apply."""
    sources, _ = quotable_sources(question, chunks, budget_tokens, count_tokens, judge)
    return best_preview(question, sources, judge) if sources else None
