"""What a citizen may see of an :class:`~assistant.core.answer.Answer`.

The public API and the widget only ever serialise these models, built field by field from the
staff ``Answer``: no rejected sentences, no check details, no file-system paths or document
ids, no model or backend names, no per-stage timings (only the total). Adding a field to
``Answer`` therefore never leaks it: it has to be added here on purpose.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from assistant.core import messages as msg
from assistant.core.answer import (
    Answer,
    AnswerMode,
    Choice,
    Preview,
    Reason,
    Sentence,
    Source,
    Suggestions,
    Verdict,
)

# The API's refusal codes are the contract's reason codes (a subset: staff-only notes such as
# dropped-sentence counts or cache hits never become the public reason).
RefusalReason = Reason
_PUBLIC_REASONS = frozenset(Reason) - {Reason.sentences_dropped, Reason.cached}


class PublicSource(BaseModel):
    id: int = Field(description="numéro affiché [n] dans la réponse")
    title: str
    url: str | None = Field(default=None, description="page publique du document, s'il y en a une")
    page: int | None = None
    section: str = ""
    excerpt: str = Field(description="passage du document sur lequel la réponse s'appuie")
    updated: str | None = Field(default=None, description="date de mise à jour du document")
    ocr: bool = Field(default=False, description="texte reconnu automatiquement sur un scan")


class PublicSentence(BaseModel):
    text: str
    source_ids: list[int] = Field(description="numéros des sources citées, au moins un")
    context: str = Field(
        default="", description="titre sous lequel la phrase figure dans le document (extraits)"
    )


class PublicPage(BaseModel):
    title: str
    url: str | None = Field(default=None, description="page publique, s'il y en a une")
    excerpt: str = Field(default="", description="début du passage retrouvé")
    updated: str | None = None


class PublicContact(BaseModel):
    text: str = Field(description="ligne du document, telle quelle (téléphone, courriel, adresse)")
    title: str = Field(description="document où elle figure")
    url: str | None = None


class PublicSuggestions(BaseModel):
    """Ce qu'un refus propose à la place d'une réponse."""

    pages_label: str = Field(description="intitulé à afficher au-dessus des pages proches")
    pages: list[PublicPage] = Field(
        default_factory=list, description="pages proches, qui ne répondent peut-être pas"
    )
    contact_label: str | None = None
    contact: PublicContact | None = None
    retry: bool = Field(default=False, description="délai dépassé : la question peut être reposée")


class PublicChoice(BaseModel):
    """Un document proche : un clic repose la même question sur ce document seul."""

    key: str = Field(description="à renvoyer dans « document » de /api/v1/ask pour le choisir")
    title: str = Field(description="titre du document, ou début de son passage s'il n'en a pas")
    section: str = ""
    excerpt: str = Field(default="", description="début du passage retrouvé")
    url: str | None = None


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
    suggestions: PublicSuggestions | None = Field(
        default=None, description="si refus : pages proches, contact du service, réessayer"
    )
    choices_label: str | None = Field(default=None, description="« Votre question porte sur : »")
    choices: list[PublicChoice] = Field(
        default_factory=list,
        description="documents trop proches pour choisir seul (0, 2 ou 3) : à proposer au citoyen",
    )
    duration_ms: float = 0.0


class PublicPreview(BaseModel):
    """L'extrait exact le plus proche de la question, envoyé avant la réponse vérifiée."""

    label: str = Field(description="intitulé à afficher tel quel (un extrait, pas la réponse)")
    sentence: PublicSentence = Field(description="la phrase du document, à surligner")
    source: PublicSource = Field(description="la source citée, avec l'extrait qui la contient")


def public_preview(preview: Preview) -> PublicPreview:
    return PublicPreview(
        label=msg.PREVIEW_LABEL,
        sentence=public_sentence(preview.sentence),
        source=public_source(preview.source),
    )


def public_source(source: Source) -> PublicSource:
    return PublicSource(
        id=source.id,
        title=source.title,
        url=_public_url(source.url),
        page=source.page,
        section=source.section,
        excerpt=source.excerpt,
        updated=source.updated,
        ocr=source.ocr,
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
    return next((r for r in answer.reasons if r in _PUBLIC_REASONS), None)


def public_answer(answer: Answer, answer_id: str) -> PublicAnswer:
    reason = main_reason(answer)
    return PublicAnswer(
        id=answer_id,
        question=answer.question,
        verdict=answer.verdict,
        mode=answer.mode,
        label=(
            msg.BUSY_SHORT_LABEL
            if reason is Reason.busy_short
            else msg.verdict_label(answer.verdict.value, answer.mode.value)
        ),
        reason=reason,
        reason_text=msg.REASON_TEXT[reason] if reason else None,
        text=answer.text,
        sentences=[public_sentence(s) for s in answer.sentences],
        sources=[public_source(s) for s in answer.cited_sources],
        orientation=answer.orientation,
        suggestions=public_suggestions(answer.suggestions),
        choices_label=msg.CHOICES_LEAD if answer.choices else None,
        choices=[public_choice(c) for c in answer.choices],
        duration_ms=round(answer.timings.total_ms, 1),
    )


def public_choice(choice: Choice) -> PublicChoice:
    # a fiche without a title is named by the start of its passage
    title = choice.title or choice.section or choice.excerpt[:80]
    return PublicChoice(
        key=choice.key,
        title=title,
        section=choice.section if choice.title else "",
        excerpt=choice.excerpt,
        url=_public_url(choice.url),
    )


def public_suggestions(suggestions: Suggestions | None) -> PublicSuggestions | None:
    if suggestions is None:
        return None
    contact = suggestions.contact
    return PublicSuggestions(
        pages_label=msg.SUGGESTED_PAGES,
        pages=[
            PublicPage(title=p.title, url=_public_url(p.url), excerpt=p.excerpt, updated=p.updated)
            for p in suggestions.pages
        ],
        contact_label=msg.SUGGESTED_CONTACT.format(title=contact.title) if contact else None,
        contact=(
            PublicContact(text=contact.text, title=contact.title, url=_public_url(contact.url))
            if contact
            else None
        ),
        retry=suggestions.retry,
    )


def _public_url(url: str | None) -> str | None:
    """Only web links reach the browser (a ``file:`` or ``javascript:`` URL never does)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None
