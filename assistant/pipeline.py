"""query → retrieve → gate → (quote | paraphrase) → Answer, as a stream of events.

A sentence leaves the answer stages only after its checks passed. Every front end (CLI, desk,
API, evals) consumes ``events`` or ``ask``; none re-implements a step. The stages themselves
live in their packages: ``retrieval`` (search, gate), ``generation`` (prompts, backends),
``grounding`` (checks, decisions) and ``answering`` (the two ways to answer).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from assistant.answering.by_paraphrase import answer_by_paraphrase
from assistant.answering.by_quote import answer_by_quote
from assistant.answering.cache import AnswerCache, replay
from assistant.answering.turn import Turn, finish
from assistant.components import Components
from assistant.core import messages as msg
from assistant.core.answer import (
    Answer,
    AnswerMode,
    Choice,
    Chunk,
    DoneEvent,
    Event,
    Reason,
    Verdict,
)
from assistant.core.query import Query, QuestionRejected, validate_history, validate_question
from assistant.core.settings import Settings
from assistant.core.text import content_stems
from assistant.followup import Resolution, resolve
from assistant.generation.base import Generator
from assistant.generation.pace import Pace
from assistant.grounding.decide import Decision
from assistant.grounding.instructions import instruction_match
from assistant.grounding.subject import SubjectJudge
from assistant.grounding.support import SupportThresholds
from assistant.grounding.verify import SentenceVerifier
from assistant.index.embedding import Embedder
from assistant.retrieval.choices import ChoiceRule, choices_for
from assistant.retrieval.gate import Retrieval, gate
from assistant.retrieval.relevance import TermStats
from assistant.retrieval.retrieve import HybridRetriever, Retriever
from assistant.retrieval.synonyms import Synonyms, SynonymsFile

__all__ = ["Assistant", "QuestionRejected", "validate_question"]


class Assistant:
    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        generator: Generator | None = None,
        embedder: Embedder | None = None,
        retriever: Retriever | None = None,
        verify: bool = True,
        components: Components | None = None,
    ) -> None:
        """``components``: the process's models and store client (the server's, shared with
        its ingest jobs); by default this assistant builds its own from ``settings``."""
        self.settings = settings
        self.components = components or Components(settings, generator=generator)
        self.embedder = embedder or self.components.embedder
        self.retriever: Retriever = retriever or HybridRetriever(
            settings, collection, self.embedder
        )
        self._generator = generator
        # the city's synonyms and abbreviations (the hybrid retriever reads the same file)
        self.synonyms = SynonymsFile.for_settings(
            settings.retrieval.synonyms_path, settings.paths.data_dir
        )
        self.verifier = SentenceVerifier(
            embed=self.embedder.sentences,
            thresholds=SupportThresholds.from_settings(settings.grounding),
        )
        self.verify_enabled = verify
        self.orientation = msg.Orientation()
        self._cache = AnswerCache(settings.serving.answer_cache_size)
        # Recent model speeds: an answer that would not be ready in time is made cheaper.
        self.pace = Pace()
        self._config_hash = settings.answer_key() + str(verify)

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            self._generator = self.components.generator  # loads a model: on first use
        return self._generator

    # ------------------------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        *,
        service: str | None = None,
        history: Sequence[str] = (),
        document: str | None = None,
    ) -> Answer:
        for event in self.events(question, service=service, history=history, document=document):
            if isinstance(event, DoneEvent):
                return event.answer
        raise AssertionError("the event stream ended without an answer")

    def events(
        self,
        question: str,
        *,
        service: str | None = None,
        history: Sequence[str] = (),
        document: str | None = None,
    ) -> Iterator[Event]:
        """``history``: the thread's previous questions, oldest first (a follow-up is read
        against them, ``assistant.followup``); the server keeps none of them. ``document``:
        a doc id the question is restricted to (a click on one of an answer's ``choices``)."""
        asked = Query.parse(question, self.settings.serving.max_question_chars, service)
        t0 = time.perf_counter()
        thread = validate_history(history, self.settings)
        resolution = Resolution(asked.text)
        if thread:
            resolution = resolve(asked.text, thread, self.term_stats(), self._search(service))
        query = asked
        if resolution.followup:
            stems = tuple(content_stems(resolution.text))
            query = Query(text=resolution.text, stems=stems, service=service)
        synonyms = self.synonyms.get()
        query = self.with_synonyms(query, synonyms)
        version = self.retriever.corpus_version()
        key = (query.key, service, document, version, hash(synonyms), self._config_hash)
        cached = self._cache.get(key)
        if cached is not None and not resolution.followup:
            yield from replay(cached, t0)
            return
        for event in self._answer(query, t0, resolution, asked.text, document):
            if isinstance(event, DoneEvent) and not resolution.followup:
                self._cache.put(key, event.answer)
            yield event

    def with_synonyms(self, query: Query, synonyms: Synonyms | None = None) -> Query:
        """``query`` with the city's synonyms of its words, for the gate and the checks."""
        found = (synonyms or self.synonyms.get()).alternatives(query.text)
        return replace(query, alternatives=tuple((k, tuple(v)) for k, v in found.items()))

    def _search(self, service: str | None) -> Callable[[str], list[Chunk]]:
        return lambda text: self.retriever.search(
            text, self.settings.retrieval.top_k, service=service
        )

    def term_stats(self) -> TermStats:
        return self.retriever.term_stats()

    def retrieve(self, query: Query, document: str | None = None) -> Retrieval:
        r = self.settings.retrieval
        chunks = self.retriever.search(
            query.text, r.top_k, service=query.service, document=document
        )
        return gate(
            query.text,
            chunks,
            self.term_stats(),
            r.gate_min_dense,
            r.gate_min_coverage,
            query.synonyms,
        )

    def choice_rule(self) -> ChoiceRule:
        r = self.settings.retrieval
        return ChoiceRule(r.choice_margin, r.choice_min_coverage, r.choice_max)

    def _answer(
        self, query: Query, t0: float, resolution: Resolution, asked: str, document: str | None
    ) -> Iterator[Event]:
        retrieval = None if instruction_match(asked) else self.retrieve(query, document)
        choices: list[Choice] = []
        if retrieval is not None and retrieval.passed and not document:
            choices = choices_for(
                query.text, retrieval.chunks, retrieval.stats, self.choice_rule(), query.synonyms
            )
        for event in self._stages(query, t0, resolution, asked, retrieval, document is not None):
            if isinstance(event, DoneEvent) and (choices or document):
                update = {"choices": choices, "document": document}
                event = DoneEvent(answer=event.answer.model_copy(update=update))
            yield event

    def _stages(
        self,
        query: Query,
        t0: float,
        resolution: Resolution,
        asked: str,
        retrieval: Retrieval | None,
        restricted: bool,
    ) -> Iterator[Event]:
        mode = AnswerMode(self.settings.generation.answer_mode)
        if retrieval is None:
            # Addressed to the model, not a question on the city ("ignore tes consignes…"):
            # refused before retrieval, with its own reason (0 of 782 eval questions match).
            nothing = Retrieval([], self.term_stats(), 0.0, 0.0, False)
            turn = Turn(query, nothing, None, t0, asked=asked if resolution.followup else None)
            yield finish(
                turn, Decision(Verdict.refused, [Reason.injection]), self.orientation, mode=mode
            )
            return
        if retrieval.passed and resolution.previous and not restricted:
            # The previous answer's document stays a candidate, after this question's own.
            have = {c.chunk_id for c in retrieval.chunks}
            extra = [c for c in resolution.previous if c.chunk_id not in have]
            retrieval = replace(retrieval, chunks=[*retrieval.chunks, *extra])
        turn = Turn(
            query, retrieval, None, t0, min_coverage=self.settings.retrieval.gate_min_coverage
        )
        turn.asked = asked if resolution.followup else None
        turn.timings.retrieve_ms = turn.elapsed_ms()
        if not retrieval.passed:
            refused = Decision(Verdict.refused, [Reason.no_match])
            yield finish(turn, refused, self.orientation, mode=mode)
            return
        turn.judge = SubjectJudge.for_question(
            query.text,
            [(f"{c.title} {c.section}", c.text) for c in retrieval.chunks],
            retrieval.stats,
            self.settings.grounding.subject_min_relative,
            self.settings.grounding.subject_min_unit,
            query.synonyms,
        )
        if mode is AnswerMode.quote:
            yield from answer_by_quote(
                turn, self.generator, self.settings, self.orientation, self.pace
            )
        else:
            yield from answer_by_paraphrase(
                turn,
                self.generator,
                self.verifier,
                self.settings,
                self.orientation,
                verify=self.verify_enabled,
                pace=self.pace,
            )
