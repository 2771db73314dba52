"""Does what is shown hold the kind of fact the question asks for?

A true sentence of the right page may still not answer: the loan duration for "how many
books", where to register a PACS for "is it free?", the pool's rates for "which decree sets
them?". The question's wording says what it wants (a price, a duration, hours, a date, a phone
number, an e-mail, a contact, a reference, a rate, a person, a count of something);
``holds_kind`` looks for such a fact in the shown text with the verbatim-fact extractor of
:mod:`assistant.grounding.facts`.
A question naming a day must get a text naming it, and a question giving its own figure (a
family quotient of 600) must not get a table row for another bracket.
"""

from __future__ import annotations

import re
from enum import Enum

from assistant.core.text import content_stems, fold
from assistant.grounding.brackets import in_own_bracket, outside_bracket, row_bracket
from assistant.grounding.facts import extract_facts
from assistant.grounding.seasons import outside_season


class AnswerKind(str, Enum):
    price = "price"
    duration = "duration"
    hours = "hours"
    when = "when"
    phone = "phone"
    email = "email"
    contact = "contact"
    reference = "reference"
    rate = "rate"
    quantity = "quantity"
    person = "person"
    since = "since"  # "à partir de quand": a starting point (a date, an age, a stage)
    fine = "fine"  # "combien je risque": the amount of a penalty, not a price
    aid = "aid"  # "une aide pour acheter…": a grant, an allowance, a refund
    comparison = "comparison"  # "A, B : quelles différences ?": what sets them apart


_TIME_UNITS = r"(jours?|semaines?|mois|ans?|annees?|heures?|minutes?)"
# Checked on the accent-folded question; a question may ask for several ("quel délai pour le
# dossier et combien coûte la salle ?").
_KIND_PATTERNS: list[tuple[AnswerKind, re.Pattern[str]]] = [
    (AnswerKind.email, re.compile(r"\b(e-?mail|courriel|adresse (electronique|mail))\b")),
    (
        AnswerKind.phone,
        re.compile(
            r"\b(telephone|appeler|joindre par tel|numero\b(?! (de |du |d')?"
            r"(dossier|cerfa|formulaire|fiscal|allocataire|securite|ligne|bus)))"
        ),
    ),
    (
        AnswerKind.contact,
        re.compile(
            r"\b(qui (dois-je|je dois|faut-il|contacter|appeler|voir)|j'appelle qui|"
            r"a qui (m'adresser|s'adresser|je dois|dois-je))"
        ),
    ),
    (AnswerKind.reference, re.compile(r"\b(cerfa|quel (article|decret|arrete)|quelle loi)\b")),
    (AnswerKind.rate, re.compile(r"\b(taux|pourcentage)\b")),
    (
        AnswerKind.duration,
        re.compile(rf"\b(combien de temps|quel delai|delai|duree|dure\b|combien de {_TIME_UNITS})"),
    ),
    (
        AnswerKind.price,
        re.compile(
            r"\b(prix|tarifs?|coute|coutent|cout|combien ca|c'est combien|payer|paye|paie|"
            r"payant|payante|gratuit|gratuite|caution|ca fait combien|combien par "
            r"(jour|mois|an|semaine|enfant|personne|repas|nuit))"
        ),
    ),
    (
        AnswerKind.hours,
        re.compile(
            r"\b(horaires?|a quelle heure|quelle heure|heures d'ouverture|jours d'ouverture|"
            r"ouverte? quand|quand (est-ce qu'|est-ce que )?(elle|il|c'|ca) (est|ouvre)|"
            r"ouvre quand)"
        ),
    ),
    (AnswerKind.since, re.compile(r"\b(a partir de quand|des quand|depuis quand|quel age)\b")),
    (
        AnswerKind.when,
        re.compile(r"\b(quand(?! meme)|date limite|quelle date|quel jour|quels jours)\b"),
    ),
    (
        AnswerKind.fine,
        re.compile(
            r"\b(amendes?|contraventions?|pv|proces-verbal|je risque|on risque|sanctions?)\b"
        ),
    ),
    (
        AnswerKind.aid,
        re.compile(
            r"\b(subventions?|primes?|bourses?|aides? (financieres?|pour|a l'achat|au|a la|aux)|"
            r"(une|des) aides?\b)"
        ),
    ),
    (AnswerKind.person, re.compile(r"\b(c'est qui|qui est|qui sont|le nom d[eu])\b")),
    (AnswerKind.quantity, re.compile(rf"\bcombien d[e'] ?(?!temps\b|{_TIME_UNITS}\b)(\w+)")),
]

_PENALTY = re.compile(r"\b(amendes?|passibles?|penalites?|contraventions?|sanctionnee?s?)\b")
_AID = re.compile(
    r"\b(aides?|subventions?|primes?|bourses?|allocations?|rembourse\w*|financ\w*|cheques?|"
    r"particip\w* (aux|au|a vos) (frais|depenses|cout)|prise en charge|pris en charge)\b"
)
_START = re.compile(
    r"\b(a partir d(e|u|')|des (le|la|l')|des sa |des son |au plus tot|"
    r"\d+(e|eme|er) mois|avant (le|la|l'|\d)|au plus tard|"
    r"\d+ (heures?|jours?|semaines?|mois) avant|jusqu'a|jusqu'au|la veille|"
    r"le jour de (ses|son|sa) |la fin d|entre le|(jour|semaine|mois) (qui suit|suivant))"
)
_MONTHS = re.compile(
    r"\b(janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre)\b"
)
_PERSON = re.compile(r"\b(M\.|Mme|Mlle|Monsieur|Madame|Dr|Docteur)\s+[A-ZÀ-Ý]")
_DURATION_UNITS = ("jour", "semaine", "mois", "an", "heure", "minute")
_NUMBER = re.compile(r"\b\d+\b|\b(un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix)\b")


def answer_kinds(question: str) -> list[tuple[AnswerKind, str]]:
    """Every kind of fact the question asks for, with the counted noun for a quantity."""
    folded = fold(question)
    kinds: dict[AnswerKind, str] = {}
    for kind, pattern in _KIND_PATTERNS:
        match = pattern.search(folded)
        if match and kind not in kinds:
            kinds[kind] = match.group(match.lastindex or 0) if kind is AnswerKind.quantity else ""
            if kind is AnswerKind.since and "age" in match.group(0):
                kinds[kind] = "age"
    if AnswerKind.duration in kinds or AnswerKind.hours in kinds or AnswerKind.since in kinds:
        # "jusqu'à quand" is then the deadline's duration; "ouverte quand" asks for hours;
        # "à partir de quand" wants a starting point, which a weekday timetable is not.
        kinds.pop(AnswerKind.when, None)
    if AnswerKind.fine in kinds:
        kinds.pop(AnswerKind.price, None)  # "combien je dois payer si…": the penalty
    if items := compared_items(question):
        kinds[AnswerKind.comparison] = "|".join(items)
    return list(kinds.items())


_COMPARED = [
    re.compile(r"^(?P<items>.+?)\s*:\s*(quelles?|les) (sont les )?differences?\b"),
    re.compile(r"\bdifferences? (qu'il y a )?entre (?P<items>.+?)\s*\??$"),
    re.compile(r"^(?P<items>.+?)\s*:\s*(que|lequel|laquelle) choisir\b"),
]
_DIFFERENCE = re.compile(
    r"\b(differen\w*|distingu\w*|contrairement|alors que|tandis que|a l'inverse|"
    r"plus (limitati\w*|contraignant\w*)|moins (limitati\w*|contraignant\w*))"
)


def compared_items(question: str) -> list[str]:
    """The things a comparison question sets side by side ("tutelle", "curatelle",
    "sauvegarde de justice"), or [] when it compares nothing."""
    folded = fold(question).strip()
    for pattern in _COMPARED:
        if m := pattern.search(folded):
            items = [i.strip() for i in re.split(r",| et | ou ", m.group("items")) if i.strip()]
            return items if len(items) >= 2 else []
    return []


def _compares(items: list[str], text: str) -> bool:
    """A text that speaks of what differs, or names every compared item by what sets it
    apart from the others ("simple" and "plénière" for the two adoptions): one sentence on
    one of them is no comparison."""
    folded = fold(text)
    if _DIFFERENCE.search(folded):
        return True
    stems = [set(content_stems(i)) for i in items]
    common = set.intersection(*stems) if stems else set()
    said = set(content_stems(folded))
    return all((own - common) & said if own - common else own & said for own in stems)


def answer_kind(question: str) -> AnswerKind | None:
    """The first kind of fact the question asks for, or None when its wording does not say."""
    kinds = answer_kinds(question)
    return kinds[0][0] if kinds else None


def holds_kind(kind: AnswerKind, text: str, noun: str = "") -> bool:
    """Whether ``text`` holds a fact of ``kind`` (for a quantity: a number of ``noun``)."""
    facts = extract_facts(text)
    folded = fold(text)
    if kind is AnswerKind.price:
        # "passible d'une amende de 135 €" is what breaking the rule costs, not the price of
        # the service asked about ("dois-je payer l'horodateur ?").
        priced = not _PENALTY.search(folded) and any(
            f.kind == "amount" and f.key.endswith("eur") for f in facts
        )
        return priced or bool(re.search(r"\b(gratuit\w*|payants?|payantes?)\b", folded))
    if kind is AnswerKind.fine:
        return bool(_PENALTY.search(folded)) and any(
            f.kind == "amount" and f.key.endswith("eur") for f in facts
        )
    if kind is AnswerKind.aid:
        return bool(_AID.search(folded))
    if kind is AnswerKind.comparison:
        return _compares(noun.split("|"), text)
    if kind is AnswerKind.since:
        # "à partir de quel âge": an age answers; "à partir de quand": an age does not.
        aged = noun == "age" and bool(re.search(r"\b\d+ (ans|mois)\b", folded))
        return aged or _calendar_date(facts) or bool(_START.search(folded))
    if kind is AnswerKind.duration:
        return any(
            f.kind == "amount" and any(u in f.key for u in _DURATION_UNITS) for f in facts
        ) or bool(re.search(rf"\b{_TIME_UNITS}\b", folded))
    if kind is AnswerKind.hours:
        return any(f.kind == "time" for f in facts) or bool(
            re.search(r"\b(ferme|fermee|fermes|fermees|ouvert|ouverte|24 ?h)\b", folded)
        )
    if kind is AnswerKind.when:
        # A time of day alone ("de 7 h 30 à 18 h 30") tells when a place is open, not when
        # something happens or may be done; a day, a date, a month or a stage does.
        return (
            any(f.kind == "date" for f in facts)
            or names_a_day(folded)
            or bool(_START.search(folded) or _MONTHS.search(folded))
            or bool(re.search(r"\b(toute l'annee|chaque (annee|mois|semaine))\b", folded))
        )
    if kind is AnswerKind.phone:
        return any(f.kind == "phone" for f in facts)
    if kind is AnswerKind.email:
        return any(f.kind == "email" for f in facts)
    if kind is AnswerKind.contact:
        return any(f.kind in ("phone", "email") for f in facts) or bool(
            re.search(r"\b(adressez|contactez|appelez|presentez-vous|aupres d)", folded)
        )
    if kind is AnswerKind.reference:
        return any(f.kind == "reference" for f in facts)
    if kind is AnswerKind.rate:
        return any(f.kind == "amount" and f.key.endswith("%") for f in facts)
    if kind is AnswerKind.person:
        return bool(_PERSON.search(text))
    return _counts(noun, facts, folded)


def _calendar_date(facts: list) -> bool:
    """A date on the calendar ("le 30 novembre", "en mars"), not a weekday ("du lundi au
    vendredi"): a timetable's days do not say from when something may be done."""
    return any(
        f.kind == "date" and (re.search(r"\d", f.raw) or _MONTHS.search(fold(f.raw))) for f in facts
    )


def _counts(noun: str, facts: list, folded: str) -> bool:
    """A number that is not a duration, a price or an hour, and the counted thing named."""
    stripped = folded
    for f in facts:
        measure = f.kind == "amount" and (
            f.key.endswith("eur") or any(u in f.key for u in _DURATION_UNITS)
        )
        if f.kind in ("time", "phone", "date") or measure:
            stripped = stripped.replace(fold(f.raw), " ")
    if not _NUMBER.search(stripped):
        return False
    wanted = set(content_stems(noun))
    return not wanted or bool(wanted & set(content_stems(folded)))


def choosable(question: str, text: str, context: str = "") -> bool:
    """Whether a unit may be offered to the model to choose: it holds one of the kinds of fact
    the question asks for (any unit, when the wording asks for none), and it is not a table row
    for another bracket than the asker's own figure, nor for another season or another day
    than the question names. ``context`` is the heading above the unit ("Horaires d'hiver",
    "Mercredi"). The others stay in the prompt, unnumbered, as context: the model reads the
    whole passage but can only pick what could answer."""
    where = f"{context} {text}"
    if outside_bracket(question, text) or outside_season(question, where):
        return False
    days = asked_periods(question)
    if days and names_a_day(where) and not any(names_period(d, where) for d in days):
        return False  # the Tuesday aquagym for a question on Wednesday
    if any(
        asked.search(fold(question)) and not said.search(fold(where)) for asked, said in _ASPECTS
    ):
        return False  # the waiting time for "how long is my application valid?"
    # A comparison is made of several units (one per compared thing): it is judged on what is
    # shown together (``answers``), not unit by unit.
    kinds = [(k, n) for k, n in answer_kinds(question) if k is not AnswerKind.comparison]
    return not kinds or any(holds_kind(kind, where, noun) for kind, noun in kinds)


# A duration has an aspect the question names and the unit must name too: how long a paper
# stays valid is not how long one waits for it.
_ASPECTS = [
    (
        re.compile(r"\b(valables?|validite|valides?|expire)\b"),
        re.compile(r"\b(valab\w*|valid\w*|expir\w*|renouvel\w*|perime\w*)"),
    ),
    (
        re.compile(r"\b(attendre|attente)\b"),
        re.compile(r"\b(attend\w*|attente|delais?)\b"),
    ),
]


def choosable_units(question: str, units: dict[str, tuple[str, str]]) -> set[str]:
    """The ids of ``units`` (id → (text, context)) that may be offered. When a table has the
    row of the asker's own bracket ("de 451 à 800 €" for a quotient of 600), a price without
    any bracket ("enfant non domicilié : 5,90 €") is not the asker's price either."""
    ids = {i for i, (text, context) in units.items() if choosable(question, text, context)}
    own = {i for i in ids if in_own_bracket(question, units[i][0])}
    if not own:
        return ids
    return {
        i
        for i in ids
        if i in own
        or row_bracket(units[i][0]) is not None
        or not holds_kind(AnswerKind.price, units[i][0])
    }


_LIST = re.compile(
    r"\b(quel(le)?s? (papiers|documents|pieces|justificatifs|conditions|etapes|demarches)|"
    r"(apporter|fournir|presenter|amener)\b|liste d(es|u)|pieces a )"
)


def asks_for_list(question: str) -> bool:
    """ "Quels papiers pour…", "que faut-il apporter": the answer is a whole list, and one of
    its items alone is a misleading answer (the photo without the proof of address)."""
    return bool(_LIST.search(fold(question)))


def names_a_day(text: str) -> bool:
    folded = fold(text)
    return bool(_PERIOD_WORDS.search(folded)) or "tous les jours" in folded


def answers(question: str, shown: list[str]) -> bool:
    """Whether the shown texts, together, hold every kind of fact the question asks for and
    name the days it names."""
    for kind, noun in answer_kinds(question):
        if kind is AnswerKind.comparison:
            if not holds_kind(kind, " ".join(shown), noun):
                return False
        elif not any(holds_kind(kind, t, noun) for t in shown):
            return False
    return all(any(names_period(p, t) for t in shown) for p in asked_periods(question))


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
