"""Paraphrase mode's checks of one written line, and its fallback of a verbatim passage."""

from __future__ import annotations

from assistant.core import messages as msg
from assistant.core.answer import Check, Chunk, Sentence, Source
from assistant.core.query import Query
from assistant.core.text import content_stems, split_sentences
from assistant.generation.prompt import NOT_FOUND, parse_line
from assistant.grounding.meaning import meaning_checks
from assistant.grounding.quotes import subject_text
from assistant.grounding.subject import SubjectJudge
from assistant.grounding.verify import SentenceVerifier
from assistant.retrieval.gate import coverage
from assistant.retrieval.relevance import TermStats


class SentenceChecks:
    def __init__(
        self,
        verifier: SentenceVerifier,
        query: Query,
        stats: TermStats,
        judge: SubjectJudge,
        *,
        enabled: bool = True,
    ) -> None:
        self.verifier = verifier
        self.asked = (query.text, stats)
        self.alternatives = query.synonyms
        self.judge = judge
        self.enabled = enabled

    def line(self, line: str, by_id: dict[int, Source]) -> Sentence | None:
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
        if not self.enabled:
            return sentence
        vector = self.verifier.embed([text])[0] if self.verifier.embed is not None else None
        checked = self._beyond_support(
            self.verifier.verify(
                sentence, by_id, vector, asked=self.asked, alternatives=self.alternatives
            ),
            by_id,
        )
        if checked.passed:
            return checked
        return self._recite(checked, by_id, vector) or checked

    def _beyond_support(self, sentence: Sentence, by_id: dict[int, Source]) -> Sentence:
        """The checks a written sentence needs beyond word-level support: the subject check of
        quote mode (one of its cited passages covers the question nearly as well as the best
        retrieved one), and the meaning checks against its closest source sentence
        (polarity, periods, conditions: assistant/grounding/meaning.py)."""
        cited = [by_id[i] for i in sentence.source_ids if i in by_id]
        judge = self.judge
        best = max(
            (judge.relative(f"{s.title} {s.section}", s.excerpt) for s in cited), default=0.0
        )
        own = max((judge.unit(subject_text(s, text=sentence.text)) for s in cited), default=0.0)
        meaning = meaning_checks(sentence.text, sentence.supporting_excerpt)
        checks = [*sentence.checks, judge.decide(best, own), *meaning]
        return sentence.model_copy(update={"checks": checks})

    def _recite(self, failed: Sentence, by_id: dict[int, Source], vector) -> Sentence | None:
        """Small models often cite the wrong number. If the sentence fully passes every check
        against exactly one other source it was given, cite that one instead, and say so."""
        if any(c.name == "not_instruction" and not c.passed for c in failed.checks):
            return None
        for other in by_id:
            if other in failed.source_ids:
                continue
            retry = self._beyond_support(
                self.verifier.verify(
                    failed.model_copy(update={"source_ids": [other]}),
                    by_id,
                    vector,
                    asked=self.asked,
                    alternatives=self.alternatives,
                ),
                by_id,
            )
            if retry.passed:
                note = Check(
                    name="citation_corrected",
                    passed=True,
                    detail=f"citation {failed.source_ids} corrigée en [{other}]",
                )
                return retry.model_copy(update={"checks": [*retry.checks, note]})
        return None


def quote_fallback(
    query: Query,
    chunks: list[Chunk],
    sources: list[Source],
    judge: SubjectJudge,
    min_coverage: float,
) -> Sentence | None:
    """The most relevant source sentence window, quoted verbatim, when retrieval is sure
    and the passage is about the question's subject (the same check as any sentence)."""
    if not sources:
        return None
    source = sources[0]
    if coverage(query.text, [chunks[0]]) < min_coverage:
        return None
    q = set(query.stems)
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


def repeats(sentence: Sentence, delivered: list[Sentence]) -> bool:
    """Small models loop: a sentence already delivered (same words) is not said twice."""
    key = " ".join(content_stems(sentence.text))
    return any(" ".join(content_stems(d.text)) == key for d in delivered)
