"""The question as every stage sees it: cleaned once, its content stems computed once."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.core import messages as msg
from assistant.core.text import content_stems


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


@dataclass(frozen=True)
class Query:
    text: str
    stems: tuple[str, ...]
    service: str | None = None

    @classmethod
    def parse(cls, question: str, max_chars: int, service: str | None = None) -> Query:
        text = validate_question(question, max_chars)
        return cls(text=text, stems=tuple(content_stems(text)), service=service)

    @property
    def key(self) -> str:
        """Word order and stop words aside, two spellings of one question share this key."""
        return " ".join(self.stems) or self.text.lower()
