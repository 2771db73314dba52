"""Is a sentence about what was asked, and does it hold the kind of fact the question wants?

Two checks the lexical ones miss. A true sentence of the wrong page passes every "is it in the
source" test: the médiathèque's "Adulte habitant la commune : 12,00 €" is verbatim, yet it is
no answer to the pool's adult price. And a true sentence of the right page may not answer:
the loan duration for "how many books".

``subject`` weighs each question word by its IDF in the corpus (as the relevance gate does) and
measures how much of that weight the sentence's own *subject text* carries: its document title,
its section path, the heading and lead-in above it, and the sentence itself. "piscine" is in
no médiathèque title, section or row, and it outweighs "adulte".

``answer_kind`` reads what the question asks for (a price, a duration, hours, a phone number,
an e-mail, a count) from its wording; ``holds_kind`` says whether a text holds such a fact,
with the verbatim-fact extractor of :mod:`assistant.facts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from assistant.facts import extract_facts
from assistant.relevance import TermStats
from assistant.text import content_stems, fold


class AnswerKind(str, Enum):
    price = "price"
    duration = "duration"
    hours = "hours"
    phone = "phone"
    email = "email"
    quantity = "quantity"


# Checked on the accent-folded question, most specific first.
_KIND_PATTERNS: list[tuple[AnswerKind, re.Pattern[str]]] = [
    (AnswerKind.email, re.compile(r"\b(e-?mail|courriel|adresse (electronique|mail))\b")),
    (AnswerKind.phone, re.compile(r"\b(telephone|numero de tel|appeler|joindre par tel)")),
    (AnswerKind.duration, re.compile(r"\b(combien de temps|quel delai|delai|duree|dure\b)")),
    (
        AnswerKind.price,
        re.compile(r"\b(prix|tarifs?|coute|coutent|cout|combien ca|c'est combien|payer combien)"),
    ),
    (AnswerKind.hours, re.compile(r"\b(horaires?|a quelle heure|quelle heure|heures d'ouverture)")),
    (AnswerKind.quantity, re.compile(r"\bcombien d[e'] ?(?!temps)\w+")),
]

_DURATION_UNITS = ("jour", "semaine", "mois", "an", "heure", "minute")
_NUMBER = re.compile(r"\b\d+\b|\b(un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix)\b")


def answer_kind(question: str) -> AnswerKind | None:
    """The kind of fact the question asks for, or None when its wording does not say."""
    folded = fold(question)
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(folded):
            return kind
    return None


def holds_kind(kind: AnswerKind, text: str) -> bool:
    """Whether ``text`` holds a fact of ``kind`` (a price for a price question…)."""
    facts = extract_facts(text)
    folded = fold(text)
    if kind is AnswerKind.price:
        return any(f.kind == "amount" and f.key.endswith("eur") for f in facts) or bool(
            re.search(r"\b(gratuit|gratuite|gratuits|gratuites|payant|payante)\b", folded)
        )
    if kind is AnswerKind.duration:
        return any(
            f.kind == "amount" and any(u in f.key for u in _DURATION_UNITS) for f in facts
        ) or bool(re.search(r"\b(jours?|semaines?|mois|ans?|heures?)\b", folded))
    if kind is AnswerKind.hours:
        return any(f.kind == "time" for f in facts) or bool(
            re.search(r"\b(ferme|fermee|fermes|fermees|ouvert|ouverte|24 ?h)\b", folded)
        )
    if kind is AnswerKind.phone:
        return any(f.kind == "phone" for f in facts)
    if kind is AnswerKind.email:
        return any(f.kind == "email" for f in facts)
    # A count: a number that is not a duration, a price or an hour.
    stripped = folded
    for f in facts:
        if f.kind in ("time", "phone", "date") or (
            f.kind == "amount"
            and (f.key.endswith("eur") or any(u in f.key for u in _DURATION_UNITS))
        ):
            stripped = stripped.replace(fold(f.raw), " ")
    return bool(_NUMBER.search(stripped))


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


def known_stems(question: str, stats: TermStats) -> set[str]:
    """Subject stems some indexed document contains. A word no document has cannot be
    covered by any sentence: circumstance ("née à la clinique") or a subject the corpus lacks;
    ``named_subject`` tells the second apart."""
    stems = subject_stems(question)
    return {s for s in stems if stats.known(s)} or stems


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

    Two conditions, calibrated together (evals/calibrate_subject.py): the unit's passage must
    cover the question about as well as the best retrieved passage does (``relative``: the
    médiathèque's rates are not the pool's page), and the unit's own subject text (title,
    section, heading, words) must cover a minimum of it (``unit``).
    """

    stems: frozenset[str]
    stats: TermStats
    best_passage: float
    min_relative: float
    min_unit: float
    # The rarest question word in the best passage's title or section ("piscine" beside
    # "adulte", "entrée"): a passage without it speaks of something else, however much else
    # it shares. Titles name what a page is about; a page repeats its own subject in every
    # chunk, which lowers that word's chunk-level IDF, so the text alone would pick "adulte".
    anchor: str | None = None
    best_held: frozenset[str] = frozenset()  # question words the best passage holds

    @classmethod
    def for_question(
        cls,
        question: str,
        passages: Iterable[tuple[str, str]],
        stats: TermStats,
        min_relative: float,
        min_unit: float,
    ) -> SubjectJudge:
        """``passages``: (title and section, text) of each retrieved chunk."""
        stems = frozenset(known_stems(question, stats))
        scored = [(subject_coverage(stems, f"{h} {t}", stats), h, t) for h, t in passages]
        best, head, text = max(scored, default=(0.0, "", ""), key=lambda x: x[0])
        held = stems & set(content_stems(f"{head} {text}"))
        titled = held & set(content_stems(head)) or held
        anchor = max(titled, key=lambda x: (stats.idf(x), x)) if titled else None
        return cls(stems, stats, best, min_relative, min_unit, anchor, frozenset(held))

    def relative(self, passage: str) -> float:
        """Coverage of ``passage`` over the best passage's; 0 without the anchor word."""
        if self.best_passage <= 0:
            return 0.0
        have = set(content_stems(passage))
        # Without the anchor, a passage still counts when it answers another part of the
        # question ("… et la garderie du soir finit à quelle heure ?"): it must then hold
        # question words the best passage lacks.
        if self.anchor is not None and self.anchor not in have:
            total = sum(self.stats.idf(x) for x in self.stems)
            new = (self.stems & have) - self.best_held
            if not total or sum(self.stats.idf(x) for x in new) / total < SECOND_PART_MIN:
                return 0.0
        return subject_coverage(self.stems, passage, self.stats) / self.best_passage

    def unit(self, subject_text: str) -> float:
        return subject_coverage(self.stems, subject_text, self.stats)

    def passes(self, passage: str, subject_text: str) -> bool:
        return (
            self.relative(passage) >= self.min_relative and self.unit(subject_text) >= self.min_unit
        )


def subject_coverage(question_stems: Iterable[str], subject_text: str, stats: TermStats) -> float:
    """IDF-weighted share of the question's content words present in ``subject_text``."""
    wanted = set(question_stems)
    if not wanted:
        return 0.0
    have = set(content_stems(subject_text))
    total = sum(stats.idf(s) for s in wanted)
    return sum(stats.idf(s) for s in wanted & have) / total if total else 0.0


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


_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
# Days only: months and seasons are written as ranges ("du 1er octobre au 31 mars" for
# winter) that a word match cannot read.
_PERIOD_WORDS = re.compile(r"\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s?\b")
_DAY_RANGE = re.compile(
    r"\b(?:du )?(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) au "
    r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\b"
)


def asked_periods(question: str) -> set[str]:
    """Days of the week the question names ("le dimanche")."""
    return {m.group(1) for m in _PERIOD_WORDS.finditer(fold(question))}


def names_period(period: str, text: str) -> bool:
    """Whether ``text`` speaks of ``period``, a day inside a range ("du lundi au samedi")
    counting; "tous les jours" covers every day."""
    folded = fold(text)
    if re.search(rf"\b{period}s?\b", folded):
        return True
    if period in _DAYS:
        if "tous les jours" in folded:
            return True
        for m in _DAY_RANGE.finditer(folded):
            a, b = _DAYS.index(m.group(1)), _DAYS.index(m.group(2))
            if a <= _DAYS.index(period) <= b:
                return True
    return False
