"""One question on its way through the answer stages, and how it ends as an ``Answer``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from assistant.answering.refusal import suggest
from assistant.core import messages as msg
from assistant.core.answer import (
    Answer,
    AnswerMode,
    DoneEvent,
    Preview,
    Reason,
    Sentence,
    Source,
    Timings,
    Verdict,
)
from assistant.core.query import Query
from assistant.generation.base import Usage
from assistant.grounding.decide import Decision
from assistant.grounding.quotes import render_quotes
from assistant.grounding.subject import SubjectJudge
from assistant.retrieval.gate import Retrieval


@dataclass
class Turn:
    query: Query
    retrieval: Retrieval
    judge: SubjectJudge | None
    t0: float
    timings: Timings = field(default_factory=Timings)
    # The gate's coverage threshold: a refusal offers pages only when they cover the question.
    min_coverage: float = 1.0
    # A follow-up as the citizen typed it; ``query`` is then its resolution (assistant.followup).
    asked: str | None = None
    # The exact excerpt streamed before the model's answer (assistant.answering.preview).
    preview: Preview | None = None

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.t0) * 1000


def render(sentences: list[Sentence]) -> str:
    return " ".join(f"{s.text} [{', '.join(map(str, s.source_ids))}]" for s in sentences)


def finish(
    turn: Turn,
    decision: Decision,
    orientation: msg.Orientation,
    *,
    mode: AnswerMode,
    delivered: list[Sentence] | None = None,
    rejected: list[Sentence] | None = None,
    sources: list[Source] | None = None,
    usage: Usage | None = None,
    lead: str = msg.QUOTE_LEAD,
) -> DoneEvent:
    """``lead``: the first line of a quote-mode answer."""
    turn.timings.total_ms = turn.elapsed_ms()
    if turn.timings.first_content_ms is None:
        turn.timings.first_content_ms = turn.timings.first_sentence_ms
    usage = usage or Usage()
    delivered, rejected, sources = delivered or [], rejected or [], sources or []
    refused = decision.verdict is Verdict.refused
    guidance = orientation.text(msg.refusal_lead(decision.reasons)) if refused else None
    if not delivered:
        text = guidance or orientation.text()
    elif mode is AnswerMode.quote:
        if Reason.off_point in decision.reasons and lead == msg.QUOTE_LEAD:
            # On the subject, without the fact asked: the excerpt is not presented as the answer.
            lead = msg.OFF_POINT_LEAD
        text = render_quotes(delivered, sources, lead)
    else:
        text = render(delivered)
    suggestions = (
        suggest(turn.query.text, turn.retrieval, decision.reasons, turn.min_coverage)
        if refused
        else None
    )
    answer = Answer(
        question=turn.asked or turn.query.text,
        resolved=turn.query.text if turn.asked else None,
        verdict=decision.verdict,
        mode=mode,
        reasons=decision.reasons,
        detail=decision.detail,
        sentences=delivered,
        rejected=rejected,
        sources=sources,
        text=text,
        orientation=guidance,
        suggestions=suggestions,
        model=usage.model,
        backend=usage.backend,
        prompt_tokens=usage.prompt_tokens,
        output_tokens=usage.output_tokens,
        timings=turn.timings,
        preview=turn.preview,
        retrieved=turn.retrieval.chunks,
    )
    return DoneEvent(answer=answer)
