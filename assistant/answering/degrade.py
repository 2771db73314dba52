"""Answer in a cheaper way rather than run into the time-out.

Before the model is called, the prompt's cost is estimated from the recent pace
(``generation.pace``). Over ``GUICHET_ANSWER_BUDGET_S``, the answer stages try half the context;
still over, they deliver the preview alone (``Reason.busy_short``: an exact excerpt, labelled as
a short answer of a busy service, never as a verified one). A time-out that still happens is
reported as one (``Reason.timeout``, with a retry), never as "not found".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from assistant.answering.turn import Turn, finish
from assistant.core import messages as msg
from assistant.core.answer import (
    AnswerMode,
    Event,
    Preview,
    Reason,
    SentenceEvent,
    Source,
    Verdict,
)
from assistant.generation.pace import Pace
from assistant.grounding.decide import Decision

# Chat-template tokens around each message (ChatML: "<|im_start|>role\n" … "<|im_end|>\n").
MESSAGE_OVERHEAD_TOKENS = 5
# The smaller context tried when the full one would be over budget, as a share of it.
SMALLER_CONTEXT = 0.5


@dataclass(frozen=True)
class Budget:
    pace: Pace | None
    seconds: float
    count_tokens: Callable[[str], int]
    max_tokens: int

    def prompt_tokens(self, messages: list[dict[str, str]]) -> int:
        return sum(self.count_tokens(m["content"]) + MESSAGE_OVERHEAD_TOKENS for m in messages)

    def estimate_s(self, messages: list[dict[str, str]]) -> float | None:
        if self.pace is None:
            return None
        output = self.pace.typical_output(self.max_tokens)
        return self.pace.estimate_s(self.prompt_tokens(messages), output)

    def over(self, messages: list[dict[str, str]]) -> bool:
        """Whether this prompt is expected to take longer than the budget (never when the
        pace is unknown or the budget is off, ``seconds <= 0``)."""
        estimate = self.estimate_s(messages)
        return self.seconds > 0 and estimate is not None and estimate > self.seconds

    def note(self, messages: list[dict[str, str]], what: str) -> str:
        """Staff detail: what was done and why."""
        estimate = self.estimate_s(messages) or 0.0
        return f"{what} (estimé {estimate:.0f} s > budget {self.seconds:.0f} s)"


def smaller_context(tokens: int) -> int:
    return max(1, int(tokens * SMALLER_CONTEXT))


def fit(
    budget: Budget,
    build: Callable[[list[Source]], list[dict[str, str]]],
    sources: list[Source],
    select: Callable[[int], list[Source]],
    tokens: int,
) -> tuple[list[Source] | None, str]:
    """The sources to prompt with and a staff note: ``sources`` when in budget, else those
    ``select`` finds within half the context when that is in budget, else None (nothing the
    model can read in time)."""
    messages = build(sources)
    if not budget.over(messages):
        return sources, ""
    smaller = select(smaller_context(tokens))
    if smaller and not budget.over(build(smaller)):
        return smaller, budget.note(messages, "contexte réduit")
    return None, budget.note(messages, "extrait seul")


def with_note(decision: Decision, note: str) -> Decision:
    if not note:
        return decision
    detail = "; ".join(d for d in (decision.detail, note) if d)
    return Decision(decision.verdict, decision.reasons, detail)


def busy_short(
    turn: Turn, preview: Preview, sources: list[Source], orientation: msg.Orientation, note: str
) -> Iterator[Event]:
    """The preview (already streamed) delivered as the answer: an exact excerpt, labelled as a
    busy service's short answer (verdict quoted, never answered)."""
    yield SentenceEvent(sentence=preview.sentence)
    yield finish(
        turn,
        Decision(Verdict.quoted, [Reason.busy_short], note),
        orientation,
        mode=AnswerMode.quote,
        delivered=[preview.sentence],
        sources=sources,
        lead=msg.BUSY_SHORT_LEAD,
    )
