"""Quote mode: the model chooses numbered units; the chosen ones that pass are shown verbatim."""

from __future__ import annotations

import time
from collections.abc import Iterator

from assistant.answering.degrade import Budget, busy_short, fit, with_note
from assistant.answering.preview import best_preview, offer_choosable, quotable_sources
from assistant.answering.turn import Turn, finish
from assistant.core import messages as msg
from assistant.core.answer import (
    AnswerMode,
    Event,
    PreviewEvent,
    Reason,
    RejectedEvent,
    SentenceEvent,
    Source,
    SourcesEvent,
    Verdict,
)
from assistant.core.settings import Settings
from assistant.generation.base import GenerationError, GenerationTimeout, Generator, Usage
from assistant.generation.pace import Pace
from assistant.generation.quote import build_quote_messages, parse_selection, quote_grammar
from assistant.grounding.decide import Decision, decide_quote
from assistant.grounding.quotes import decide_quotes

__all__ = ["answer_by_quote", "offer_choosable"]


def answer_by_quote(
    turn: Turn,
    generator: Generator,
    settings: Settings,
    orientation: msg.Orientation,
    pace: Pace | None = None,
) -> Iterator[Event]:
    question, judge = turn.query.text, turn.judge
    assert judge is not None

    def sources_within(tokens: int) -> tuple[list[Source], Reason | None]:
        return quotable_sources(
            question, turn.retrieval.chunks, tokens, generator.count_tokens, judge
        )

    # No passage speaks of the question's subject (or the subject it names, "horaires de
    # la patinoire", is in no document): nothing to choose from, no model call. Nor when
    # no offered unit holds the kind of fact asked (a Cerfa number, a decree, the mayor's
    # name the documents never give): whatever the model chose would not answer.
    sources, early = sources_within(settings.retrieval.context_tokens)
    if early is not None:
        yield finish(turn, Decision(Verdict.refused, [early]), orientation, mode=AnswerMode.quote)
        return
    turn.preview = best_preview(question, sources, judge)
    budget = Budget(
        pace,
        settings.generation.answer_budget_s,
        generator.count_tokens,
        settings.generation.quote_max_tokens,
    )
    fitted, note = fit(
        budget,
        lambda offered: build_quote_messages(question, offered),
        sources,
        lambda tokens: sources_within(tokens)[0],
        settings.retrieval.context_tokens,
    )
    sources = fitted or sources  # none fits and no preview to fall back on: try anyway
    yield SourcesEvent(sources=sources)
    if turn.preview is not None:
        turn.timings.first_content_ms = turn.elapsed_ms()
        yield PreviewEvent(preview=turn.preview)
        if fitted is None:
            # Even half the context would not be read in time: the exact excerpt alone,
            # said to be a busy service's short answer.
            yield from busy_short(turn, turn.preview, sources, orientation, note)
            return
    usage, raw = Usage(), ""
    failure, detail = None, ""
    t_gen = time.perf_counter()
    try:
        messages = build_quote_messages(question, sources)
        stream = generator.stream(
            messages, quote_grammar(sources), settings.generation.quote_max_tokens, usage
        )
        if pace is not None:
            stream = pace.timed(stream, usage, budget.prompt_tokens(messages))
        for piece in stream:
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
    decision = with_note(decision, note)
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
