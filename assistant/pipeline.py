"""retrieve → gate → select context → generate → verify → Answer, as a stream of events.

A sentence leaves this module only after its checks passed. When nothing generated survives,
the answer falls back to quoting the most relevant passage (if retrieval was confident) or to
the city's orientation text. Every front end (CLI, desk, API, evals) consumes ``events`` or
``ask``; none re-implements a step.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator

from assistant import messages as msg
from assistant.answer import (
    Answer,
    AnswerMode,
    Check,
    Chunk,
    Event,
    Sentence,
    Source,
    Timings,
    Verdict,
)
from assistant.context import select_context
from assistant.embedding import Embedder, load_embedder
from assistant.gate import best_dense, coverage, passes, topic_coverage
from assistant.generate import GenerationError, GenerationTimeout, Generator, Usage
from assistant.generation.quote import (
    build_quote_messages,
    parse_selection,
    quote_grammar,
    select_units,
)
from assistant.grounding.kinds import answers
from assistant.grounding.meaning import meaning_checks
from assistant.grounding.quotes import decide_quotes, render_quotes, subject_text
from assistant.grounding.subject import SubjectJudge, named_subject
from assistant.prompt import NOT_FOUND, build_messages, citation_grammar, parse_line
from assistant.relevance import TermStats, TermStatsCache
from assistant.retrieve import HybridRetriever
from assistant.settings import Settings
from assistant.text import content_stems, split_sentences
from assistant.verify import SentenceVerifier


class QuestionRejected(ValueError):
    """The question cannot be processed as sent (empty, too long); message is for the user."""


def render(sentences: list[Sentence]) -> str:
    return " ".join(f"{s.text} [{', '.join(map(str, s.source_ids))}]" for s in sentences)


def validate_question(question: str, max_chars: int) -> str:
    cleaned = " ".join(question.split())
    cleaned = "".join(ch for ch in cleaned if ch.isprintable())
    if not cleaned:
        raise QuestionRejected(msg.QUESTION_EMPTY)
    if len(cleaned) > max_chars:
        raise QuestionRejected(msg.QUESTION_TOO_LONG.format(n=len(cleaned), max=max_chars))
    return cleaned


class Assistant:
    def __init__(
        self,
        settings: Settings,
        *,
        collection: str | None = None,
        generator: Generator | None = None,
        embedder: Embedder | None = None,
        retriever: HybridRetriever | None = None,
        verify: bool = True,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or load_embedder(settings.embedder)
        self.retriever = retriever or HybridRetriever(settings, collection, self.embedder)
        self._generator = generator
        self.verifier = SentenceVerifier(embed=self.embedder.sentences)
        self.verify_enabled = verify
        self.orientation = msg.Orientation()
        self._cache = AnswerCache(settings.answer_cache_size)
        self._term_stats = TermStatsCache()
        self._config_hash = settings.model_dump_json(
            include={
                "top_k",
                "dense_weight",
                "context_tokens",
                "context_mode",
                "llm_path",
                "llm_urls",
                "llm_max_tokens",
                "gate_min_dense",
                "gate_min_coverage",
                "quote_min_coverage",
                "answer_mode",
                "quote_max_tokens",
                "subject_min_relative",
                "subject_min_unit",
            }
        ) + str(verify)

    @property
    def generator(self) -> Generator:
        if self._generator is None:
            from assistant.generate import load_generator

            self._generator = load_generator(self.settings)
        return self._generator

    # ------------------------------------------------------------------------------------------
    def ask(self, question: str, *, service: str | None = None) -> Answer:
        answer = None
        for event in self.events(question, service=service):
            if event.kind == "done":
                answer = event.answer
        assert answer is not None
        return answer

    def events(self, question: str, *, service: str | None = None) -> Iterator[Event]:
        question = validate_question(question, self.settings.max_question_chars)
        t0 = time.perf_counter()
        key = self._cache_key(question, service)
        cached = self._cache.get(key)
        if cached is not None:
            yield from _replay(cached, t0)
            return
        for event in self._answer(question, service, t0):
            if event.kind == "done" and event.answer is not None and _cacheable(event.answer):
                self._cache.put(key, event.answer)
            yield event

    def term_stats(self) -> TermStats:
        retriever = self.retriever
        return self._term_stats.get(
            retriever.store.client, retriever.collection, retriever.corpus_version()
        )

    def _cache_key(self, question: str, service: str | None) -> tuple:
        """Same normalised question, same corpus version, same configuration."""
        normalised = " ".join(content_stems(question)) or question.lower()
        return (normalised, service, self.retriever.corpus_version(), self._config_hash)

    def _answer(self, question: str, service: str | None, t0: float) -> Iterator[Event]:
        timings = Timings()
        chunks = self.retriever.search(question, self.settings.top_k, service=service)
        timings.retrieve_ms = (time.perf_counter() - t0) * 1000
        stats = self.term_stats()
        dense, cov = best_dense(chunks), topic_coverage(question, chunks, stats)
        if not passes(dense, cov, self.settings.gate_min_dense, self.settings.gate_min_coverage):
            yield self._done(
                question, Verdict.refused, [msg.REFUSAL_REASON_NO_MATCH], [], [], [], timings, t0
            )
            return

        if self.settings.answer_mode == "quote":
            yield from self._quote_answer(question, chunks, stats, timings, t0)
        else:
            yield from self._paraphrase_answer(question, chunks, stats, timings, t0)

    def _quote_answer(
        self, question: str, chunks: list[Chunk], stats: TermStats, timings: Timings, t0: float
    ) -> Iterator[Event]:
        """The model chooses numbered units; the chosen ones that pass are shown verbatim."""
        judge = self._judge(question, chunks, stats)
        head = named_subject(question)
        sources = (
            []
            if head is not None and not stats.known(head)
            else select_units(
                question,
                chunks,
                self.settings.context_tokens,
                self.generator.count_tokens,
                judge=judge,
            )
        )
        # No passage speaks of the question's subject (or the subject it names, "horaires de
        # la patinoire", is in no document): nothing to choose from, no model call. Nor when
        # no offered unit holds the kind of fact asked (a Cerfa number, a decree, the mayor's
        # name the documents never give): whatever the model chose would not answer.
        reason = None
        if not sources:
            reason = msg.REFUSAL_REASON_OFF_SUBJECT
        elif not answers(question, [f"{u.context} {u.text}" for s in sources for u in s.units]):
            reason = msg.REASON_OFF_POINT
        if reason is not None:
            yield self._done(
                question,
                Verdict.refused,
                [reason],
                [],
                [],
                [],
                timings,
                t0,
                mode=AnswerMode.quote,
            )
            return
        yield Event(kind="sources", sources=sources)
        usage, raw, reasons = Usage(), "", []
        t_gen = time.perf_counter()
        try:
            for piece in self.generator.stream(
                build_quote_messages(question, sources),
                quote_grammar(sources),
                self.settings.quote_max_tokens,
                usage,
            ):
                raw += piece
        except GenerationTimeout:
            reasons.append(msg.REFUSAL_REASON_TIMEOUT)
        except GenerationError as exc:
            reasons.append(f"{msg.REFUSAL_REASON_ERROR} : {exc}")
        timings.generate_ms = (time.perf_counter() - t_gen) * 1000
        t_v = time.perf_counter()
        chosen = parse_selection(raw)
        decision = decide_quotes(question, chosen or [], sources, judge)
        timings.verify_ms = (time.perf_counter() - t_v) * 1000
        delivered, rejected = decision.delivered, decision.rejected
        if reasons:
            verdict, delivered = Verdict.refused, []
        elif chosen is None:
            verdict, reasons = Verdict.refused, [msg.REFUSAL_REASON_MODEL]
        elif not delivered:
            verdict, reasons = Verdict.refused, [msg.REFUSAL_REASON_OFF_SUBJECT]
        elif not decision.holds_kind:
            verdict, reasons = Verdict.quoted, [msg.REASON_OFF_POINT]
        elif rejected:
            verdict = Verdict.partial
            reasons = [f"{len(rejected)} phrase(s) écartée(s) par les vérifications"]
        else:
            verdict = Verdict.answered
        if delivered:
            timings.first_sentence_ms = (time.perf_counter() - t0) * 1000
        for sentence in rejected:
            yield Event(kind="rejected", sentence=sentence)
        for sentence in delivered:
            yield Event(kind="sentence", sentence=sentence)
        yield self._done(
            question,
            verdict,
            reasons,
            delivered,
            rejected,
            sources,
            timings,
            t0,
            usage,
            mode=AnswerMode.quote,
        )

    def _paraphrase_answer(
        self, question: str, chunks: list[Chunk], stats: TermStats, timings: Timings, t0: float
    ) -> Iterator[Event]:
        """The model writes cited lines; each is checked and released as soon as it ends."""
        sources = select_context(
            question,
            chunks,
            self.settings.context_tokens,
            count_tokens=self.generator.count_tokens,  # the model's own tokenizer
            mode=self.settings.context_mode,
        )
        yield Event(kind="sources", sources=sources)
        by_id = {s.id: s for s in sources}
        judge = self._judge(question, chunks, stats)
        delivered: list[Sentence] = []
        rejected: list[Sentence] = []
        usage = Usage()
        raw = ""
        reasons: list[str] = []
        t_gen = time.perf_counter()
        verify_s = 0.0

        def checked(line: str) -> Iterator[Event]:
            nonlocal verify_s
            t_v = time.perf_counter()
            sentence = self._check(line, by_id, question, stats, judge)
            verify_s += time.perf_counter() - t_v
            if sentence is None or _repeats(sentence, delivered):
                return
            if sentence.passed:
                delivered.append(sentence)
                if timings.first_sentence_ms is None:
                    timings.first_sentence_ms = (time.perf_counter() - t0) * 1000
                yield Event(kind="sentence", sentence=sentence)
            else:
                rejected.append(sentence)
                yield Event(kind="rejected", sentence=sentence)

        try:
            stream = self.generator.stream(
                build_messages(question, sources),
                citation_grammar(list(by_id)),
                self.settings.llm_max_tokens,
                usage,
            )
            buffer = ""
            for piece in stream:
                raw += piece
                buffer += piece
                while "\n" in buffer:
                    line, buffer = buffer.split("\n", 1)
                    yield from checked(line)
            if buffer.strip():  # a last line without its newline
                yield from checked(buffer)
        except GenerationTimeout:
            reasons.append(msg.REFUSAL_REASON_TIMEOUT)
        except GenerationError as exc:
            reasons.append(f"{msg.REFUSAL_REASON_ERROR} : {exc}")
        timings.generate_ms = (time.perf_counter() - t_gen - verify_s) * 1000
        timings.verify_ms = verify_s * 1000

        if delivered:
            # Cut short by a time-out or an error: what was delivered is verified but may be
            # incomplete, so never call it a full answer.
            verdict = Verdict.answered if not rejected and not reasons else Verdict.partial
            if rejected:
                reasons.append(f"{len(rejected)} phrase(s) écartée(s) par les vérifications")
        elif reasons:
            verdict = Verdict.refused
        elif raw.strip().startswith(NOT_FOUND):
            verdict, reasons = Verdict.refused, [msg.REFUSAL_REASON_MODEL]
        else:
            quote = self._quote(question, chunks, sources, judge)
            if quote is not None:
                delivered = [quote]
                verdict = Verdict.quoted
                reasons = [msg.REFUSAL_REASON_NOTHING_SAFE]
                yield Event(kind="sentence", sentence=quote)
            else:
                verdict, reasons = Verdict.refused, [msg.REFUSAL_REASON_NOTHING_SAFE]
        yield self._done(
            question, verdict, reasons, delivered, rejected, sources, timings, t0, usage
        )

    # ------------------------------------------------------------------------------------------
    def _check(
        self,
        line: str,
        by_id: dict[int, Source],
        question: str,
        stats: TermStats,
        judge: SubjectJudge,
    ) -> Sentence | None:
        # The "not in the sources" marker is a signal, not a sentence, even when the model
        # decorates it with a citation ("AUCUNE_SOURCE [1]").
        if not line.strip() or line.strip().startswith(NOT_FOUND):
            return None
        parsed = parse_line(line)
        if parsed is None:  # the grammar forbids it, but a remote backend might not obey
            return Sentence(
                text=line.strip(),
                source_ids=[],
                checks=[Check(name="citations", passed=False, detail="aucune citation")],
            )
        text, ids = parsed
        if not text:  # the line held only the not-found marker (parse_line drops it)
            return None
        sentence = Sentence(text=text, source_ids=ids)
        if not self.verify_enabled:
            return sentence
        vector = self.verifier.embed([text])[0] if self.verifier.embed is not None else None
        asked = (question, stats)
        checked = self._beyond_support(
            self.verifier.verify(sentence, by_id, vector, asked=asked), by_id, judge
        )
        if checked.passed:
            return checked
        return self._recite(checked, by_id, vector, asked, judge) or checked

    def _judge(self, question: str, chunks: list[Chunk], stats: TermStats) -> SubjectJudge:
        return SubjectJudge.for_question(
            question,
            [(f"{c.title} {c.section}", c.text) for c in chunks],
            stats,
            self.settings.subject_min_relative,
            self.settings.subject_min_unit,
        )

    def _beyond_support(
        self, sentence: Sentence, by_id: dict[int, Source], judge: SubjectJudge
    ) -> Sentence:
        """The checks a written sentence needs beyond word-level support: the subject check of
        quote mode (one of its cited passages covers the question nearly as well as the best
        retrieved one), and the meaning checks against its closest source sentence
        (polarity, periods, conditions: assistant/grounding/meaning.py)."""
        cited = [by_id[i] for i in sentence.source_ids if i in by_id]
        best = max(
            (judge.relative(f"{s.title} {s.section}", s.excerpt) for s in cited), default=0.0
        )
        own = max((judge.unit(subject_text(s, text=sentence.text)) for s in cited), default=0.0)
        meaning = meaning_checks(sentence.text, sentence.supporting_excerpt)
        checks = [*sentence.checks, judge.decide(best, own), *meaning]
        return sentence.model_copy(update={"checks": checks})

    def _recite(
        self,
        failed: Sentence,
        by_id: dict[int, Source],
        vector,
        asked: tuple[str, TermStats],
        judge: SubjectJudge,
    ) -> Sentence | None:
        """Small models often cite the wrong number. If the sentence fully passes every check
        against exactly one other source it was given, cite that one instead, and say so."""
        if any(c.name == "not_instruction" and not c.passed for c in failed.checks):
            return None
        for other in by_id:
            if other in failed.source_ids:
                continue
            retry = self._beyond_support(
                self.verifier.verify(
                    failed.model_copy(update={"source_ids": [other]}), by_id, vector, asked=asked
                ),
                by_id,
                judge,
            )
            if retry.passed:
                note = Check(
                    name="citation_corrected",
                    passed=True,
                    detail=f"citation {failed.source_ids} corrigée en [{other}]",
                )
                return retry.model_copy(update={"checks": [*retry.checks, note]})
        return None

    def _quote(
        self, question: str, chunks: list[Chunk], sources: list[Source], judge: SubjectJudge
    ) -> Sentence | None:
        """The most relevant source sentence window, quoted verbatim, when retrieval is sure
        and the passage is about the question's subject (the same check as any sentence)."""
        if not sources:
            return None
        source = sources[0]
        if coverage(question, [chunks[0]]) < self.settings.quote_min_coverage:
            return None
        q = set(content_stems(question))
        sentences = split_sentences(source.excerpt) or [source.excerpt]
        best = max(range(len(sentences)), key=lambda i: len(q & set(content_stems(sentences[i]))))
        excerpt = " ".join(sentences[best : best + 2])
        head = f"{chunks[0].title} {chunks[0].section}"
        if not judge.check(head, chunks[0].text, subject_text(source, text=excerpt)).passed:
            return None
        return Sentence(
            text=f"{msg.QUOTED_INTRO} « {excerpt} »",
            source_ids=[source.id],
            checks=[Check(name="quote", passed=True, detail="citation verbatim de la source")],
            supporting_excerpt=excerpt,
        )

    def _text(self, delivered: list[Sentence], sources: list[Source], mode: AnswerMode) -> str:
        if not delivered:
            return self.orientation.text()
        if mode is AnswerMode.quote:
            return render_quotes(delivered, sources, msg.QUOTE_LEAD)
        return render(delivered)

    def _done(
        self,
        question,
        verdict,
        reasons,
        delivered,
        rejected,
        sources,
        timings,
        t0,
        usage: Usage | None = None,
        *,
        mode: AnswerMode = AnswerMode.paraphrase,
    ) -> Event:
        timings.total_ms = (time.perf_counter() - t0) * 1000
        usage = usage or Usage()
        answer = Answer(
            question=question,
            verdict=verdict,
            mode=mode,
            reasons=reasons,
            sentences=delivered,
            rejected=rejected,
            sources=sources,
            text=self._text(delivered, sources, mode),
            orientation=self.orientation.text() if verdict == Verdict.refused else None,
            model=usage.model,
            backend=usage.backend,
            prompt_tokens=usage.prompt_tokens,
            output_tokens=usage.output_tokens,
            timings=timings,
        )
        return Event(kind="done", answer=answer)


def _repeats(sentence: Sentence, delivered: list[Sentence]) -> bool:
    """Small models loop: a sentence already delivered (same words) is not said twice."""
    key = " ".join(content_stems(sentence.text))
    return any(" ".join(content_stems(d.text)) == key for d in delivered)


class AnswerCache:
    """LRU of finished answers. Keys carry the corpus version, so a re-ingest invalidates."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def put(self, key: tuple, answer: Answer) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def _cacheable(answer: Answer) -> bool:
    """Errors and time-outs are not answers: never serve them again."""
    return not any(
        r.startswith((msg.REFUSAL_REASON_ERROR, msg.REFUSAL_REASON_TIMEOUT)) for r in answer.reasons
    )


def _replay(cached: Answer, t0: float) -> Iterator[Event]:
    answer = cached.model_copy(deep=True)
    answer.timings = Timings(
        total_ms=(time.perf_counter() - t0) * 1000,
        first_sentence_ms=(time.perf_counter() - t0) * 1000,
    )
    answer.reasons = [*answer.reasons, "réponse déjà calculée (cache)"]
    if answer.sources:
        yield Event(kind="sources", sources=answer.sources)
    for sentence in answer.sentences:
        yield Event(kind="sentence", sentence=sentence)
    yield Event(kind="done", answer=answer)
