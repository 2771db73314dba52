"""What a citizen may see of an :class:`~assistant.answer.Answer`.

The public API and the widget only ever serialise these models, built field by field from the
staff ``Answer``: no rejected sentences, no check details, no file-system paths or document
ids, no model or backend names, no per-stage timings (only the total). Adding a field to
``Answer`` therefore never leaks it: it has to be added here on purpose.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from assistant import messages as msg
from assistant.answer import Answer, AnswerMode, Sentence, Source, Verdict


class RefusalReason(str, Enum):
    """Stable codes for why an answer was refused or degraded (API field and metrics label)."""

    no_match = "no_match"
    model_declined = "model_declined"
    nothing_safe = "nothing_safe"
    generation_error = "generation_error"
    timeout = "timeout"
    off_subject = "off_subject"  # the chosen sentences are about another subject
    off_point = "off_point"  # on the subject, but without the kind of fact asked for
    other = "other"


# Longest prefix first: the error reason carries the exception text after " : ".
_REASON_CODES: list[tuple[str, RefusalReason]] = [
    (msg.REFUSAL_REASON_NO_MATCH, RefusalReason.no_match),
    (msg.REFUSAL_REASON_MODEL, RefusalReason.model_declined),
    (msg.REFUSAL_REASON_NOTHING_SAFE, RefusalReason.nothing_safe),
    (msg.REFUSAL_REASON_TIMEOUT, RefusalReason.timeout),
    (msg.REFUSAL_REASON_ERROR, RefusalReason.generation_error),
    (msg.REFUSAL_REASON_OFF_SUBJECT, RefusalReason.off_subject),
    (msg.REASON_OFF_POINT, RefusalReason.off_point),
]

_PUBLIC_REASON_TEXT = {code: text for text, code in _REASON_CODES}


def reason_code(reason: str) -> RefusalReason:
    for prefix, code in _REASON_CODES:
        if reason.startswith(prefix):
            return code
    return RefusalReason.other


class PublicSource(BaseModel):
    id: int = Field(description="numéro affiché [n] dans la réponse")
    title: str
    url: str | None = Field(default=None, description="page publique du document, s'il y en a une")
    page: int | None = None
    section: str = ""
    excerpt: str = Field(description="passage du document sur lequel la réponse s'appuie")
    updated: str | None = Field(default=None, description="date de mise à jour du document")


class PublicSentence(BaseModel):
    text: str
    source_ids: list[int] = Field(description="numéros des sources citées, au moins un")
    context: str = Field(
        default="", description="titre sous lequel la phrase figure dans le document (extraits)"
    )


class PublicAnswer(BaseModel):
    id: str = Field(description="identifiant de la réponse, à rappeler dans /api/v1/feedback")
    question: str
    verdict: Verdict
    mode: AnswerMode = Field(
        description="quote : phrases exactes des documents ; paraphrase : phrases reformulées"
    )
    label: str = Field(description="ce que les vérifications ont établi, à afficher tel quel")
    reason: RefusalReason | None = Field(
        default=None, description="pourquoi la réponse est refusée ou citée (sinon absent)"
    )
    reason_text: str | None = None
    text: str = Field(description="réponse rendue avec les marqueurs [n], ou texte d'orientation")
    sentences: list[PublicSentence] = Field(default_factory=list)
    sources: list[PublicSource] = Field(
        default_factory=list, description="sources citées par au moins une phrase"
    )
    orientation: str | None = Field(default=None, description="à qui s'adresser, si refus")
    duration_ms: float = 0.0


def public_source(source: Source) -> PublicSource:
    return PublicSource(
        id=source.id,
        title=source.title,
        url=_public_url(source.url),
        page=source.page,
        section=source.section,
        excerpt=source.excerpt,
        updated=source.updated,
    )


def public_sentence(sentence: Sentence) -> PublicSentence:
    return PublicSentence(
        text=sentence.text, source_ids=list(sentence.source_ids), context=sentence.context
    )


def main_reason(answer: Answer) -> RefusalReason | None:
    """Why the answer is refused or quoted (None when generated sentences were delivered).
    Staff-only reasons (dropped-sentence counts, cache notes) do not count."""
    if answer.verdict in (Verdict.answered, Verdict.partial):
        return None
    codes = [reason_code(r) for r in answer.reasons]
    return next((c for c in codes if c is not RefusalReason.other), RefusalReason.other)


def public_answer(answer: Answer, answer_id: str) -> PublicAnswer:
    reason = main_reason(answer)
    return PublicAnswer(
        id=answer_id,
        question=answer.question,
        verdict=answer.verdict,
        mode=answer.mode,
        label=msg.verdict_label(answer.verdict.value, answer.mode.value),
        reason=reason,
        reason_text=_PUBLIC_REASON_TEXT.get(reason) if reason else None,
        text=answer.text,
        sentences=[public_sentence(s) for s in answer.sentences],
        sources=[public_source(s) for s in answer.cited_sources],
        orientation=answer.orientation,
        duration_ms=round(answer.timings.total_ms, 1),
    )


def _public_url(url: str | None) -> str | None:
    """Only web links reach the browser (a ``file:`` or ``javascript:`` URL never does)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None
