"""The ``Answer`` contract shared by the CLI, the desk, the public API and the evals.

Plain pydantic models: the grounding logic produces them, every front end only renders them.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field


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


class Timings(BaseModel):
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    verify_ms: float = 0.0
    first_sentence_ms: float | None = None
    total_ms: float = 0.0


class Answer(BaseModel):
    question: str
    verdict: Verdict
    mode: AnswerMode = AnswerMode.paraphrase
    reasons: list[str] = Field(default_factory=list)
    sentences: list[Sentence] = Field(default_factory=list, description="delivered, verified")
    rejected: list[Sentence] = Field(default_factory=list, description="dropped by the checks")
    sources: list[Source] = Field(default_factory=list, description="sources given to the model")
    text: str = Field(default="", description="rendered answer with [n] markers")
    orientation: str | None = Field(default=None, description="who to ask, when refused")
    model: str = ""
    backend: str = ""
    prompt_tokens: int = 0
    output_tokens: int = 0
    timings: Timings = Field(default_factory=Timings)

    @property
    def cited_sources(self) -> list[Source]:
        used = {i for s in self.sentences for i in s.source_ids}
        return [s for s in self.sources if s.id in used]


class Event(BaseModel):
    """One step of a streamed answer; a sentence is only emitted once its checks passed."""

    kind: Literal["sources", "sentence", "rejected", "done"]
    sentence: Sentence | None = None
    sources: list[Source] | None = None
    answer: Answer | None = None
