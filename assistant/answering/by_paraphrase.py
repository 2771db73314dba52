"""Paraphrase mode: the model writes cited lines; each is checked and released when it ends."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable, Iterator

from assistant.answering.degrade import Budget, busy_short, fit, with_note
from assistant.answering.preview import preview_for
from assistant.answering.sentence_checks import SentenceChecks, quote_fallback, repeats
from assistant.answering.turn import Turn, finish
from assistant.core import messages as msg
from assistant.core.answer import (
    AnswerMode,
    Event,
    PreviewEvent,
    Reason,
    RejectedEvent,
    Sentence,
    SentenceEvent,
    Source,
    SourcesEvent,
)
from assistant.core.settings import Settings
from assistant.generation.base import GenerationError, GenerationTimeout, Generator, Usage
from assistant.generation.pace import Pace
from assistant.generation.prompt import NOT_FOUND, build_messages, citation_grammar
from assistant.grounding.decide import decide_paraphrase
from assistant.grounding.verify import SentenceVerifier
from assistant.retrieval.context import select_context


def lines(pieces: Iterable[str]) -> Iterator[str]:
    """Whole lines as soon as their newline arrives, then a last line without one."""
    buffer = ""
    for piece in pieces:
        buffer += piece
        while "\n" in buffer:
            line, buffer = buffer.split("\n", 1)
            yield line
    if buffer.strip():
        yield buffer


def answer_by_paraphrase(
    turn: Turn,
    generator: Generator,
    verifier: SentenceVerifier,
    settings: Settings,
    orientation: msg.Orientation,
    *,
    verify: bool = True,
    pace: Pace | None = None,
) -> Iterator[Event]:
    query, chunks, judge = turn.query, turn.retrieval.chunks, turn.judge
    assert judge is not None
    tokens = settings.retrieval.context_tokens

    def within(budget_tokens: int) -> list[Source]:
        return select_context(
            query.text,
            chunks,
            budget_tokens,
            count_tokens=generator.count_tokens,  # the model's own tokenizer
            mode=settings.retrieval.context_mode,
        )

    sources = within(tokens)
    turn.preview = preview_for(query.text, chunks, tokens, generator.count_tokens, judge)
    max_tokens = settings.generation.llm_max_tokens
    budget = Budget(pace, settings.generation.answer_budget_s, generator.count_tokens, max_tokens)
    build = functools.partial(build_messages, query.text)
    fitted, note = fit(budget, build, sources, within, tokens)
    short = fitted is None and turn.preview is not None
    sources = fitted or sources  # none fits and no preview to fall back on: try anyway
    if short and turn.preview is not None:  # the excerpt alone: its own numbering
        sources = [turn.preview.source]
    yield SourcesEvent(sources=sources)
    if turn.preview is not None:
        turn.timings.first_content_ms = turn.elapsed_ms()
        yield PreviewEvent(preview=turn.preview)
        if short:
            yield from busy_short(turn, turn.preview, sources, orientation, note)
            return
    by_id = {s.id: s for s in sources}
    checks = SentenceChecks(verifier, query, turn.retrieval.stats, judge, enabled=verify)
    delivered: list[Sentence] = []
    rejected: list[Sentence] = []
    usage, raw = Usage(), []
    failure, detail = None, ""
    t_gen = time.perf_counter()
    verify_s = 0.0

    def recorded(pieces: Iterable[str]) -> Iterator[str]:
        for piece in pieces:
            raw.append(piece)
            yield piece

    try:
        messages = build(sources)
        stream = generator.stream(messages, citation_grammar(list(by_id)), max_tokens, usage)
        if pace is not None:
            stream = pace.timed(stream, usage, budget.prompt_tokens(messages))
        for line in lines(recorded(stream)):
            t_v = time.perf_counter()
            sentence = checks.line(line, by_id)
            verify_s += time.perf_counter() - t_v
            if sentence is None or repeats(sentence, delivered):
                continue
            if sentence.passed:
                delivered.append(sentence)
                if turn.timings.first_sentence_ms is None:
                    turn.timings.first_sentence_ms = turn.elapsed_ms()
                yield SentenceEvent(sentence=sentence)
            else:
                rejected.append(sentence)
                yield RejectedEvent(sentence=sentence)
    except GenerationTimeout:
        failure = Reason.timeout
    except GenerationError as exc:
        failure, detail = Reason.generation_error, str(exc)
    turn.timings.generate_ms = (time.perf_counter() - t_gen - verify_s) * 1000
    turn.timings.verify_ms = verify_s * 1000

    declined = "".join(raw).strip().startswith(NOT_FOUND)
    quote = None
    if not delivered and failure is None and not declined:
        quote = quote_fallback(query, chunks, sources, judge, settings.grounding.quote_min_coverage)
        if quote is not None:
            delivered = [quote]
            yield SentenceEvent(sentence=quote)
    decision = decide_paraphrase(
        failure=failure,
        detail=detail,
        delivered=len(delivered) - (quote is not None),
        rejected=len(rejected),
        declined=declined,
        quoted=quote is not None,
    )
    decision = with_note(decision, note)
    yield finish(
        turn,
        decision,
        orientation,
        mode=AnswerMode.paraphrase,
        delivered=delivered,
        rejected=rejected,
        sources=sources,
        usage=usage,
    )
