"""Is a sentence about what was asked?

A true sentence of the wrong page passes every "is it in the source" test: the médiathèque's
"Adulte habitant la commune : 12,00 €" is verbatim, yet it is no answer to the pool's adult
price.

``subject`` weighs each question word by its IDF in the corpus (as the relevance gate does) and
measures how much of that weight the sentence's own *subject text* carries: its document title,
its section path, the heading and lead-in above it, and the sentence itself. "piscine" is in
no médiathèque title, section or row, and it outweighs "adulte".

What kind of fact answers the question is :mod:`assistant.grounding.kinds`' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from assistant.core.answer import Check
from assistant.core.text import content_stems, fold
from assistant.retrieval.relevance import TermStats
from assistant.retrieval.synonyms import Alternatives, found

# Words that say what kind of fact is wanted, not what it is about ("horaires de la piscine":
# the subject is the pool). The answer-kind check looks for the fact itself; as subject words
# they would ask a row "Dimanche : de 9 h à 12 h." to repeat "ouverte".
ASKING_WORDS = (
    "ouvert ouverte ouverts ouvre ouvrir ouverture fermé fermée fermeture ferme horaire horaires "
    "heure heures prix tarif tarifs coût coûte coûtent payer payant gratuit gratuite montant "
    "numéro téléphone mail courriel adresse délai durée dure quand combien quel quelle quels "
    "quelles faut besoin savoir"
    # and the asker's own words: conversational verbs and prepositions no page repeats, which
    # would weigh most precisely because no document contains them
    " peux peut veux veut voudrais voudrait dois doit suis sommes quoi pendant durant lors chez"
    " aller vais faire fais possible dire"
)


def subject_stems(question: str) -> set[str]:
    """The question's content stems less the asking words (see ``ASKING_WORDS``)."""
    asking = set(content_stems(ASKING_WORDS))
    stems = set(content_stems(question))
    return (stems - asking) or stems


def known_stems(
    question: str, stats: TermStats, alternatives: Alternatives | None = None
) -> set[str]:
    """Subject stems some indexed document contains. A word no document has cannot be
    covered by any sentence: circumstance ("née à la clinique") or a subject the corpus lacks;
    ``named_subject`` tells the second apart. A word of the city's synonym list whose
    expression the corpus has ("HLM": "logement social") stays a subject word."""
    stems = subject_stems(question)
    alt = alternatives or {}

    def covered(s: str) -> bool:
        return stats.known(s) or any(all(stats.known(x) for x in a) for a in alt.get(s, ()))

    return {s for s in stems if covered(s)} or stems


# "horaires de la patinoire", "numéro de téléphone du médecin": the word an asking word
# governs names what the question is about.
_ASKING_HEAD = re.compile(
    r"\b(?:horaires?|prix|tarifs?|numeros?|telephone|adresse|courriel|contact|acces)\b"
)
_SKIP = frozenset(
    [
        *["de", "du", "des", "d", "la", "le", "les", "l", "a", "au", "aux", "pour"],
        *["mon", "ma", "mes", "notre", "votre", "son", "sa", "ses"],
        *["ouverture", "telephone", "fax", "ete", "hiver"],
    ]
)


def named_subject(question: str) -> str | None:
    """The head word the question names after an asking word, stemmed, if any."""
    folded = fold(question)
    match = _ASKING_HEAD.search(folded)
    if not match:
        return None
    for token in re.findall(r"[a-z][a-z-]*", folded[match.end() :].replace("'", " "))[:6]:
        if token in _SKIP:
            continue
        stems = content_stems(token)
        return stems[0] if stems else None
    return None


# Share of the question (IDF-weighted) a passage without the anchor must add to the best
# passage's to count as answering a second part of the question.
SECOND_PART_MIN = 0.25


@dataclass(frozen=True)
class SubjectJudge:
    """Per question: does a unit's document and text speak of the question's subject?

    Two conditions, calibrated together (evals/calibrate/subject.py): the unit's passage must
    cover the question about as well as the best retrieved passage does (``relative``: the
    médiathèque's rates are not the pool's page), and the unit's own subject text (title,
    section, heading, words) must cover a minimum of it (``unit``).
    """

    stems: frozenset[str]
    stats: TermStats
    best_passage: float
    min_relative: float
    min_unit: float
    # The rarest question word in the title or section of the first-ranked passage that has
    # one ("piscine" beside "adulte", "entrée"; "passeport" for "un passeport pour un
    # adulte", where the pool's rates cover "adulte" better than the page that says
    # "majeur"). Titles name what a page is about, and retrieval's rank says which page the
    # question is about; a passage without the anchor speaks of something else.
    anchor: str | None = None
    anchor_held: frozenset[str] = frozenset()  # question words the anchor's passage holds
    # the city's synonyms of the question's words (assistant.retrieval.synonyms)
    alternatives: Alternatives = field(default_factory=dict)

    @classmethod
    def for_question(
        cls,
        question: str,
        passages: Iterable[tuple[str, str]],
        stats: TermStats,
        min_relative: float,
        min_unit: float,
        alternatives: Alternatives | None = None,
    ) -> SubjectJudge:
        """``passages``: (title and section, text) of each retrieved chunk, in rank order."""
        alt = dict(alternatives or {})
        stems = frozenset(known_stems(question, stats, alt))
        rows = [(h, t, set(content_stems(h)), set(content_stems(f"{h} {t}"))) for h, t in passages]
        best = max(
            (subject_coverage(stems, f"{h} {t}", stats, alt) for h, t, _, _ in rows), default=0.0
        )
        # (candidate anchor words, question words of their passage)
        titled: tuple[frozenset[str] | set[str], frozenset[str] | set[str]] = (set(), set())
        for _, _, head_stems, all_stems in rows:
            if stems & head_stems:
                titled = (stems & head_stems, stems & all_stems)
                break
        else:  # no title names a question word: the best-covering passage's words
            if rows:
                covering = max(rows, key=lambda r: len(stems & r[3]))[3]
                titled = (stems & covering, stems & covering)
        anchor = max(titled[0], key=lambda x: (stats.idf(x), x)) if titled[0] else None
        held = frozenset(titled[1])
        return cls(stems, stats, best, min_relative, min_unit, anchor, held, alt)

    def relative(self, head: str, text: str) -> float:
        """Coverage of a passage (title and section, text) over the best passage's; 0 when
        it lacks the anchor and does not answer another part of the question."""
        if self.best_passage <= 0:
            return 0.0
        have = set(content_stems(f"{head} {text}"))
        if self.anchor is not None and self.anchor not in have and not self.second_part(head):
            return 0.0
        cov = subject_coverage(self.stems, f"{head} {text}", self.stats, self.alternatives)
        return cov / self.best_passage

    def second_part(self, head: str) -> bool:
        """A passage whose title or section names question words the anchor's passage lacks
        (weighing at least ``SECOND_PART_MIN`` of the question) answers another part of it:
        "… et la cantine ?". Words only in its text ("adulte" in the pool's rates, for a
        passport question) are qualifiers, not a second subject."""
        total = sum(self.stats.idf(x) for x in self.stems)
        new = (self.stems & set(content_stems(head))) - self.anchor_held
        return bool(total) and sum(self.stats.idf(x) for x in new) / total >= SECOND_PART_MIN

    def anchored(self, passage: str) -> bool:
        """Whether ``passage`` holds the anchor (always, when there is none)."""
        return self.anchor is None or self.anchor in set(content_stems(passage))

    def unit(self, subject_text: str) -> float:
        return subject_coverage(self.stems, subject_text, self.stats, self.alternatives)

    def decide(self, relative: float, own: float) -> Check:
        """The ``subject`` check from a passage's relative coverage and a sentence's own."""
        return Check(
            name="subject",
            passed=relative >= self.min_relative and own >= self.min_unit,
            detail=f"passage covers {relative:.2f} of the best passage, sentence {own:.2f}",
        )

    def check(self, head: str, text: str, subject_text: str) -> Check:
        """The ``subject`` check of a sentence (``subject_text``) from a passage (head, text)."""
        return self.decide(self.relative(head, text), self.unit(subject_text))


def subject_coverage(
    question_stems: Iterable[str],
    subject_text: str,
    stats: TermStats,
    alternatives: Alternatives | None = None,
) -> float:
    """IDF-weighted share of the question's content words present in ``subject_text`` (or
    through one of their synonyms' expressions)."""
    wanted = set(question_stems)
    if not wanted:
        return 0.0
    have = set(content_stems(subject_text))
    total = sum(stats.idf(s) for s in wanted)
    hit = {s for s in wanted if found(s, have, alternatives or {})}
    return sum(stats.idf(s) for s in hit) / total if total else 0.0


def added_coverage(
    question_stems: Iterable[str], covered: set[str], subject_text: str, stats: TermStats
) -> float:
    """IDF-weighted share of the question that ``subject_text`` covers beyond ``covered``."""
    wanted = set(question_stems)
    total = sum(stats.idf(s) for s in wanted)
    if not total:
        return 0.0
    new = (wanted & set(content_stems(subject_text))) - covered
    return sum(stats.idf(s) for s in new) / total
