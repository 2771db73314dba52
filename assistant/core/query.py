"""The question as every stage sees it: cleaned once, its content stems computed once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.core import messages as msg
from assistant.core.text import content_stems

if TYPE_CHECKING:
    from assistant.core.settings import Settings


class QuestionRejected(ValueError):
    """The question cannot be processed as sent (empty, too long); message is for the user."""


def validate_question(question: str, max_chars: int) -> str:
    cleaned = " ".join(question.split())
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    if not cleaned:
        raise QuestionRejected(msg.QUESTION_EMPTY)
    if len(cleaned) > max_chars:
        raise QuestionRejected(msg.QUESTION_TOO_LONG.format(n=len(cleaned), max=max_chars))
    return cleaned


def validate_history(history: Sequence[str], settings: Settings) -> list[str]:
    """The thread's previous questions, each validated like a question; only the last
    ``history_max_turns`` count. More characters than ``history_max_chars`` in all is refused
    (the client sends too much), as a too-long question is."""
    kept = [validate_question(q, settings.serving.max_question_chars) for q in history]
    kept = (
        kept[-settings.serving.history_max_turns :]
        if settings.serving.history_max_turns > 0
        else []
    )
    total = sum(len(q) for q in kept)
    if total > settings.serving.history_max_chars:
        raise QuestionRejected(
            msg.HISTORY_TOO_LONG.format(n=total, max=settings.serving.history_max_chars)
        )
    return kept


@dataclass(frozen=True)
class Query:
    text: str
    stems: tuple[str, ...]
    service: str | None = None
    # Per question stem, the stems of its equivalent expressions in the city's synonym list
    # (assistant.retrieval.synonyms): what else counts as covering it.
    alternatives: tuple[tuple[str, tuple[frozenset[str], ...]], ...] = ()

    @property
    def synonyms(self) -> dict[str, tuple[frozenset[str], ...]]:
        return dict(self.alternatives)

    @classmethod
    def parse(cls, question: str, max_chars: int, service: str | None = None) -> Query:
        text = validate_question(question, max_chars)
        return cls(text=text, stems=tuple(content_stems(text)), service=service)

    @property
    def key(self) -> str:
        """Word order and stop words aside, two spellings of one question share this key."""
        return " ".join(self.stems) or self.text.lower()
