"""Quote mode: the model chooses numbered units; the chosen ones that pass are shown verbatim."""

from __future__ import annotations

import time
from collections.abc import Iterator

from assistant.answering.turn import Turn, finish
from assistant.core import messages as msg
from assistant.core.answer import (
    AnswerMode,
    Event,
    Reason,
    RejectedEvent,
    SentenceEvent,
    Source,
    SourcesEvent,
    Verdict,
)
from assistant.core.settings import Settings
from assistant.generation.base import GenerationError, GenerationTimeout, Generator, Usage
from assistant.generation.quote import (
    build_quote_messages,
    parse_selection,
    quote_grammar,
    select_units,
)
from assistant.grounding.decide import Decision, decide_quote
from assistant.grounding.kinds import answers, choosable_units
from assistant.grounding.quotes import decide_quotes
from assistant.grounding.subject import named_subject


def answer_by_quote(
    turn: Turn, generator: Generator, settings: Settings, orientation: msg.Orientation
) -> Iterator[Event]:
    question, stats, judge = turn.query.text, turn.retrieval.stats, turn.judge
    assert judge is not None
    head = named_subject(question)
    sources = (
        []
        if head is not None and not stats.known(head)
        else select_units(
            question,
            turn.retrieval.chunks,
            settings.retrieval.context_tokens,
            generator.count_tokens,
            judge=judge,
        )
    )
    # No passage speaks of the question's subject (or the subject it names, "horaires de
    # la patinoire", is in no document): nothing to choose from, no model call. Nor when
    # no offered unit holds the kind of fact asked (a Cerfa number, a decree, the mayor's
    # name the documents never give): whatever the model chose would not answer.
    early: Reason | None = None
    if not sources:
        early = Reason.off_subject
    elif not answers(question, [f"{u.context} {u.text}" for s in sources for u in s.units]):
        early = Reason.off_point
    else:
        sources = offer_choosable(question, sources)
    if early is not None:
        refused = Decision(Verdict.refused, [early])
        yield finish(turn, refused, orientation, mode=AnswerMode.quote)
        return
    yield SourcesEvent(sources=sources)
    usage, raw = Usage(), ""
    failure, detail = None, ""
    t_gen = time.perf_counter()
    try:
        for piece in generator.stream(
            build_quote_messages(question, sources),
            quote_grammar(sources),
            settings.generation.quote_max_tokens,
            usage,
        ):
            raw += piece
    except GenerationTimeout:
        failure = Reason.timeout
    except GenerationError as exc:
        failure, detail = Reason.generation_error, str(exc)
    turn.timings.generate_ms = (time.perf_counter() - t_gen) * 1000
    t_v = time.perf_counter()
    chosen = parse_selection(raw)
    checked = decide_quotes(question, chosen or [], sources, judge)
    turn.timings.verify_ms = (time.perf_counter() - t_v) * 1000
    decision = decide_quote(
        failure=failure,
        detail=detail,
        chose=chosen is not None,
        delivered=len(checked.delivered),
        rejected=len(checked.rejected),
        holds_kind=checked.holds_kind,
    )
    delivered = checked.delivered if failure is None else []
    if delivered:
        turn.timings.first_sentence_ms = turn.elapsed_ms()
    for sentence in checked.rejected:
        yield RejectedEvent(sentence=sentence)
    for sentence in delivered:
        yield SentenceEvent(sentence=sentence)
    yield finish(
        turn,
        decision,
        orientation,
        mode=AnswerMode.quote,
        delivered=delivered,
        rejected=checked.rejected,
        sources=sources,
        usage=usage,
    )


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
