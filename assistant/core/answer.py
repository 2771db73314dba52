"""The ``Answer`` contract shared by the CLI, the desk, the public API and the evals.

Plain pydantic models: the grounding logic produces them, every front end only renders them.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field


class Chunk(BaseModel):
    """A retrieved passage, as stored in Qdrant's payload."""

    chunk_id: str
    doc_id: str
    text: str
    title: str = ""
    url: str | None = None
    path: str | None = None
    page: int | None = None
    section: str = ""
    updated: str | None = None
    service: str | None = None
    ocr: bool = False  # text recognised from a scan
    ocr_confidence: float | None = None  # Tesseract's, 0-100
    score: float = 0.0
    dense_score: float | None = None
    sparse_score: float | None = None


class SourceUnit(BaseModel):
    """One quotable unit of a source (quote mode): numbered [n.k] in the prompt."""

    id: str = Field(description='"n.k": unit k of source n')
    text: str = Field(description="verbatim text of the document")
    context: str = Field(default="", description="heading or lead-in above it in the document")
    subject: float | None = Field(
        default=None, description="its passage's subject coverage, relative to the best passage"
    )
    offered: bool = Field(
        default=True,
        description="numbered for the model to choose; False: shown to it as context only",
    )
    item: bool = Field(default=False, description="an item of a list in the document")


class Source(BaseModel):
    """A source as the user sees it: numbered [n] in the answer."""

    id: int = Field(description="number shown as [n] in the answer, 1-based")
    chunk_id: str
    doc_id: str
    title: str
    url: str | None = None
    path: str | None = None
    page: int | None = None
    section: str = ""
    excerpt: str = Field(description="the passage given to the model")
    updated: str | None = None
    ocr: bool = Field(default=False, description="text recognised from a scan (OCR)")
    ocr_confidence: float | None = Field(default=None, description="OCR confidence, 0-100")
    score: float = 0.0
    units: list[SourceUnit] = Field(
        default_factory=list, description="quote mode: the numbered units the model chose from"
    )


class Check(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class Sentence(BaseModel):
    text: str
    source_ids: list[int]
    checks: list[Check] = Field(default_factory=list)
    support_score: float | None = None
    supporting_excerpt: str | None = Field(
        default=None, description="best-matching source sentence, for highlighting"
    )
    unit_id: str | None = Field(
        default=None, description='quote mode: the source unit shown verbatim ("2.3")'
    )
    context: str = Field(
        default="", description="quote mode: the heading the unit sits under in its document"
    )

    @property
    def passed(self) -> bool:
        return bool(self.source_ids) and all(c.passed for c in self.checks)


class AnswerMode(str, Enum):
    quote = "quote"  # the model chose sentences; they are shown verbatim
    paraphrase = "paraphrase"  # the model wrote sentences; they are checked word by word


class Verdict(str, Enum):
    answered = "answered"  # every generated sentence passed the checks
    partial = "partial"  # some sentences dropped, at least one delivered
    quoted = "quoted"  # nothing generated survived: a source passage is quoted instead
    refused = "refused"  # nothing relevant, or nothing safe to show: orientation given


class Reason(str, Enum):
    """Why an answer was refused or degraded. Stable codes: the API, the audit log and the
    metrics carry them; the French wording is rendered at the edge (``messages.reason_text``)."""

    no_match = "no_match"  # the relevance gate found no relevant passage
    model_declined = "model_declined"  # the model said the sources do not answer
    nothing_safe = "nothing_safe"  # nothing generated passed the checks
    generation_error = "generation_error"
    timeout = "timeout"
    off_subject = "off_subject"  # the passages or chosen sentences are about another subject
    off_point = "off_point"  # on the subject, but without the kind of fact asked for
    injection = "injection"  # the question tries to change the assistant's instructions
    sentences_dropped = "sentences_dropped"  # some sentences failed a check, others passed
    cached = "cached"  # served from the answer cache
    # the machine was too slow for the model in time: the best exact passage alone was shown
    busy_short = "busy_short"


# Answers stored before reasons became codes (eval reports, replays) carry French sentences.
_LEGACY_REASONS = {
    "aucun document pertinent trouvé": Reason.no_match,
    "le modèle indique que les sources ne répondent pas": Reason.model_declined,
    "aucune phrase générée n'a passé les vérifications": Reason.nothing_safe,
    "erreur pendant la génération": Reason.generation_error,
    "délai de génération dépassé": Reason.timeout,
    "aucune phrase choisie ne porte sur le sujet de la question": Reason.off_subject,
    "les extraits portent sur le sujet": Reason.off_point,
    "phrase(s) écartée(s)": Reason.sentences_dropped,
    "réponse déjà calculée": Reason.cached,
}


def _reason(value: object) -> object:
    if isinstance(value, str) and value not in Reason._value2member_map_:
        for text, code in _LEGACY_REASONS.items():
            if text in value:
                return code
    return value


class Suggestion(BaseModel):
    """A page close to a refused question: retrieved and on its topic, but it may not answer."""

    title: str
    doc_id: str
    url: str | None = None
    path: str | None = None
    excerpt: str = Field(default="", description="the start of its best retrieved passage")
    updated: str | None = None


class Contact(BaseModel):
    """A service's contact, a unit of a retrieved passage shown verbatim (never generated)."""

    text: str = Field(description="the unit as the document writes it (phone, e-mail, address)")
    title: str = Field(description="title of the document it was found in")
    url: str | None = None


class Suggestions(BaseModel):
    """What a refusal offers instead of an answer."""

    pages: list[Suggestion] = Field(default_factory=list, description="closest pages, 0-3")
    contact: Contact | None = None
    retry: bool = Field(default=False, description="a time-out: the same question may pass later")


class Choice(BaseModel):
    """A document retrieval could not tell apart from the first one (``retrieval.choices``):
    offered to the asker, who re-asks restricted to it."""

    doc_id: str
    key: str = Field(description="opaque name of the document for public clients")
    title: str = ""
    section: str = ""
    excerpt: str = Field(default="", description="the start of its best retrieved passage")
    url: str | None = None
    score: float = 0.0


class Timings(BaseModel):
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    verify_ms: float = 0.0
    first_sentence_ms: float | None = None
    # the first thing shown that the citizen can read: the preview, else the first sentence
    first_content_ms: float | None = None
    total_ms: float = 0.0


class Preview(BaseModel):
    """The exact unit that best matches the question, shown before the model has answered:
    chosen without the model (``assistant.answering.preview``) and checked like any quote."""

    sentence: Sentence
    source: Source = Field(description="the source it sits in (its excerpt, its citation)")


class Answer(BaseModel):
    question: str
    verdict: Verdict
    mode: AnswerMode = AnswerMode.paraphrase
    reasons: list[Annotated[Reason, BeforeValidator(_reason)]] = Field(default_factory=list)
    detail: str = Field(default="", description="staff-only detail (error text, counts)")
    sentences: list[Sentence] = Field(default_factory=list, description="delivered, verified")
    rejected: list[Sentence] = Field(default_factory=list, description="dropped by the checks")
    sources: list[Source] = Field(default_factory=list, description="sources given to the model")
    text: str = Field(default="", description="rendered answer with [n] markers")
    orientation: str | None = Field(default=None, description="who to ask, when refused")
    suggestions: Suggestions | None = Field(
        default=None, description="when refused: close pages, a service contact, retry"
    )
    resolved: str | None = Field(
        default=None,
        description="a follow-up as retrieval and the checks read it (words of the thread added)",
    )
    choices: list[Choice] = Field(
        default_factory=list,
        description="close documents to choose between (0 or 2-3); empty when restricted",
    )
    document: str | None = Field(
        default=None, description="the document the question was restricted to (a choice)"
    )
    model: str = ""
    backend: str = ""
    prompt_tokens: int = 0
    output_tokens: int = 0
    timings: Timings = Field(default_factory=Timings)
    preview: Preview | None = Field(
        default=None, description="the exact excerpt streamed before the model's answer"
    )
    retrieved: list[Chunk] = Field(
        default_factory=list, description="ranked passages retrieval returned (staff, evals)"
    )

    @property
    def cited_sources(self) -> list[Source]:
        used = {i for s in self.sentences for i in s.source_ids}
        return [s for s in self.sources if s.id in used]


# One step of a streamed answer; a sentence is only emitted once its checks passed.
class SourcesEvent(BaseModel):
    kind: Literal["sources"] = "sources"
    sources: list[Source]


class PreviewEvent(BaseModel):
    """Sent as soon as retrieval and the checks allow, before any model output."""

    kind: Literal["preview"] = "preview"
    preview: Preview


class SentenceEvent(BaseModel):
    kind: Literal["sentence"] = "sentence"
    sentence: Sentence


class RejectedEvent(BaseModel):
    kind: Literal["rejected"] = "rejected"
    sentence: Sentence


class DoneEvent(BaseModel):
    kind: Literal["done"] = "done"
    answer: Answer


Event = Annotated[
    SourcesEvent | PreviewEvent | SentenceEvent | RejectedEvent | DoneEvent,
    Field(discriminator="kind"),
]
