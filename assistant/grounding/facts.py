"""Verbatim facts: the things a citizen acts on, which a model must never invent.

Phone numbers, e-mails, URLs, amounts (and percentages and quantities with a unit: "15 jours",
"16 ans"), dates, times/opening hours, and references (code articles, Cerfa forms, decrees and
laws). Each fact gets a normalised ``key`` so that the spellings a model may use for the same
fact compare equal:

=========  ===================================================  =====================
kind       spellings that are the same fact                     key
=========  ===================================================  =====================
phone      01 99 00 10 00 · 01.99.00.10.00 · +33 1 99 00 10 00  ``0199001000``
email      Mairie@Ville.fr · mairie@ville.fr                    ``mairie@ville.fr``
url        https://www.ville.fr/etat-civil/ · ville.fr/etat-civil  ``ville.fr/etat-civil``
amount     15 € · 15 euros · 15,00 € · EUR 15 · 15€             ``15.00eur``
amount     1 500 € (any space, U+00A0, U+202F) · 1500 €         ``1500.00eur``
amount     5 % · 5 pour cent                                    ``5%``
amount     15 jours · quinze jours · 15 j                       ``15jours``
amount     15 jours ouvrés                                      ``15joursouvres``
date       1er janvier 2025 · 1 janvier 2025 · 01/01/2025       ``2025-01-01``
date       15 mars (no year)                                    ``--03-15``
date       mars 2025                                            ``2025-03``
date       2024 (a year alone)                                  ``2024``
date       mardi · mardis / du lundi au vendredi · lundi-vendredi  ``mardi`` / ``lundi-vendredi``
time       8h30 · 8 h 30 · 08:30 · 8h30min                      ``08:30``
time       9h · 9 h 00 · 9 heures                               ``09:00``
reference  article L. 2122-22 · art. L2122-22 · L. 2122-22      ``article:l2122-22``
reference  Cerfa n° 13703*07 · cerfa 13703*07 · 13703*07        ``cerfa:13703*07``
reference  décret n° 2016-1234 · loi n° 78-17                   ``decret:2016-1234``
=========  ===================================================  =====================

Not facts: bare integers (list numbers, chunk markers "[2]", counts), postal codes.

Matching rules, :func:`facts_missing_from` (the sentence's fact must be in a source):

* a partial date ("15 mars") matches a full date with the same day and month; a full date
  matches a full date, or a partial date with the same day and month when the year also
  appears in the sources; a year or a month+year matches a full date that contains it;
* a weekday matches a source naming it or a source range containing it ("mardi" in "du lundi
  au vendredi"); a range matches when every day of it is in the sources;
* a Cerfa reference without version ("cerfa 13703") matches any version of that form number in
  the sources ("13703*07"): the number before the star must match. A reference *with* a
  version needs that exact version: a model must not invent a version;
* a quantity without qualifier ("15 jours") matches a qualified one ("15 jours ouvrés"); the
  reverse does not (the qualifier is a fact);
* "décret n° 2016-1234" matches a source with a bare "n° 2016-1234" and vice versa;
* number words count on the source side for "un/une" ("un mois" = "1 mois") but a sentence's
  "un mois" is not extracted (too idiomatic: "un jour", "une fois par an"...). Other number
  words ("deux mois", "dix-huit ans") are facts on both sides;
* for robustness, a phone, e-mail or URL whose extraction failed in a source (odd markup) is
  still found if its key appears in the source's normalised text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from assistant.core.text import fold
from assistant.grounding import fact_patterns as fp

FactKind = Literal["phone", "email", "url", "amount", "date", "time", "reference"]


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    raw: str
    key: str  # normalised form; two facts are the same when kind and key are equal

    def __str__(self) -> str:
        return f"{self.kind} {self.raw!r}"


class _Extractor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.taken: list[tuple[int, int]] = []
        self.found: list[tuple[int, Fact]] = []

    def free(self, start: int, end: int) -> bool:
        return all(end <= a or start >= b for a, b in self.taken)

    def add(self, m: re.Match[str], kind: FactKind, keys: Iterable[str], raw: str = "") -> None:
        start, end = m.span()
        self.taken.append((start, end))
        for key in keys:
            self.found.append((start, Fact(kind, raw or m.group(0).strip(), key)))

    def each(self, pattern: re.Pattern[str]) -> Iterable[re.Match[str]]:
        for m in pattern.finditer(self.text):
            if self.free(*m.span()):
                yield m


def _date_key(day: str, month: str, year: str | None) -> str | None:
    d = 1 if re.fullmatch(r"1\s?(?:er|re)|premier", fold(day).lower()) else int(day)
    mo = fp.MONTHS.get(fold(month).lower().rstrip("."))
    if mo is None or not 1 <= d <= 31:
        return None
    if year:
        return f"{int(year):04d}-{mo:02d}-{d:02d}"
    return f"--{mo:02d}-{d:02d}"


def _amount_keys(nums: Sequence[str], scale: str | None, suffix: str | None) -> list[str]:
    factor = Decimal(1)
    if scale:
        factor = Decimal(1_000_000) if fold(scale).startswith("million") else Decimal(10**9)
    elif suffix:
        factor = Decimal(1000) if suffix.lower() == "k€" else Decimal(1_000_000)
    keys = []
    for n in nums:
        value = fp.number(n)
        if value is not None:
            keys.append(f"{value * factor:.2f}eur")
    return keys


def _quantity_key(num: str, unit: str, qualifier: str | None, allow_one: bool) -> str | None:
    value = fp.word_number(num, allow_one=allow_one)
    if value is None:
        return None
    u = fp.UNITS.get(fold(unit).lower())
    if u is None:
        return None
    q = fold(qualifier).lower() if qualifier else ""
    return f"{fp.canon(value)}{u}{q}"


def _extract(text: str, *, allow_one: bool = False) -> list[Fact]:
    x = _Extractor(text)

    # e-mails before URLs (a domain inside an address is not a URL)
    for m in x.each(fp.EMAIL):
        x.add(m, "email", [m.group(0).lower().rstrip(".")])
    for m in x.each(fp.URL):
        raw = fp.strip_url(m.group(0))
        if "." in raw:
            x.add(m, "url", [fp.url_key(raw)], raw)

    # phones
    for m in x.each(fp.PHONE):
        digits = re.sub(r"\D", "", m.group(2))
        x.add(m, "phone", ["0" + m.group(1) + digits])
    for m in x.each(fp.PHONE_FREE):
        x.add(m, "phone", ["0" + m.group(1) + m.group(2) + m.group(3)])
    for m in x.each(fp.PHONE_SHORT):
        x.add(m, "phone", [m.group(1)], m.group(1))

    # references
    for m in x.each(fp.CERFA):
        key = "cerfa:" + m.group(1) + (f"*{m.group(2)}" if m.group(2) else "")
        x.add(m, "reference", [key])
    for m in x.each(fp.CERFA_STAR):
        x.add(m, "reference", [f"cerfa:{m.group(1)}*{m.group(2)}"])
    for m in x.each(fp.LEGAL_TEXT):
        kind = fold(m.group(1)).lower()
        x.add(m, "reference", [f"{kind}:{m.group(2).replace('/', '-')}"])
    for m in x.each(fp.NUMBERED):
        x.add(m, "reference", [f"n:{m.group(1)}"])
    for m in x.each(fp.ARTICLE):
        keys = [f"article:{(m.group(1) or '').lower()}{m.group(2).replace('‑', '-')}"]
        end = m.end()
        while more := fp.ARTICLE_MORE.match(text, end):
            keys.append(f"article:{(more.group(1) or '').lower()}{more.group(2)}")
            end = more.end()
        x.add(m, "reference", keys)
        x.taken.append((m.start(), end))
    for m in x.each(fp.ARTICLE_BARE):
        x.add(m, "reference", [f"article:{m.group(1).lower()}{m.group(2)}"])

    # dates
    for m in x.each(fp.DATE_RANGE):
        days = [_date_key(m.group(i), m.group(3), m.group(4)) for i in (1, 2)]
        if all(days):
            x.add(m, "date", [k for k in days if k])
    for m in x.each(fp.DATE_TEXT):
        day = _date_key(m.group(1), m.group(2), m.group(3))
        if day:
            x.add(m, "date", [day])
    for m in x.each(fp.DATE_NUM):
        d, mo, y = int(m.group(1)), int(m.group(3)), m.group(4)
        year = int(y) + 2000 if len(y) == 2 else int(y)
        if 1 <= d <= 31 and 1 <= mo <= 12:
            x.add(m, "date", [f"{year:04d}-{mo:02d}-{d:02d}"])
    for m in x.each(fp.DATE_ISO):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= d <= 31 and 1 <= mo <= 12:
            x.add(m, "date", [f"{y:04d}-{mo:02d}-{d:02d}"])
    for m in x.each(fp.MONTH_YEAR):
        month = fp.MONTHS.get(fold(m.group(1)).lower().rstrip("."))
        if month:
            x.add(m, "date", [f"{int(m.group(2)):04d}-{month:02d}"])

    # times
    for m in x.each(fp.TIME_COLON):
        x.add(m, "time", [f"{int(m.group(1)):02d}:{m.group(2)}"])
    for m in x.each(fp.TIME_H):
        x.add(m, "time", [f"{int(m.group(1)):02d}:{m.group(2) or '00'}"])
    for m in x.each(fp.TIME_WORD):
        x.add(m, "time", ["12:00" if fold(m.group(1)).lower() == "midi" else "00:00"], m.group(1))

    # days of the week (opening days): "du lundi au vendredi" is one fact, a range
    for m in x.each(fp.WEEKDAY_RANGE):
        x.add(m, "date", [f"{m.group(1).lower()}-{m.group(2).lower()}"])
    for m in x.each(fp.WEEKDAY_ONE):
        x.add(m, "date", [m.group(1).lower()])

    # amounts, percentages, quantities
    for m in x.each(fp.AMOUNT_RANGE):
        x.add(m, "amount", _amount_keys([m.group(1), m.group(2)], m.group(3), m.group(4)))
    for m in x.each(fp.AMOUNT):
        x.add(m, "amount", _amount_keys([m.group(1)], m.group(2), m.group(3)))
    for m in x.each(fp.AMOUNT_PREFIX):
        x.add(m, "amount", _amount_keys([m.group(1)], None, None))
    for m in x.each(fp.PERCENT):
        value = fp.number(m.group(1))
        if value is not None:
            x.add(m, "amount", [f"{fp.canon(value)}%"])
    for m in x.each(fp.QTY_RANGE):
        qty = [_quantity_key(m.group(i), m.group(3), m.group(4), allow_one) for i in (1, 2)]
        if all(qty):
            x.add(m, "amount", [k for k in qty if k])
    for m in x.each(fp.QTY):
        one = _quantity_key(m.group(1), m.group(2), m.group(3), allow_one)
        if one:
            x.add(m, "amount", [one])

    # a year alone
    for m in x.each(fp.YEAR):
        x.add(m, "date", [m.group(1)])

    seen: set[tuple[str, str]] = set()
    out: list[Fact] = []
    for _, fact in sorted(x.found, key=lambda t: t[0]):
        if (fact.kind, fact.key) not in seen:
            seen.add((fact.kind, fact.key))
            out.append(fact)
    return out


def extract_facts(text: str) -> list[Fact]:
    """The verbatim facts of ``text``, in order of appearance, without duplicates."""
    return _extract(text)


# --------------------------------------------------------------------------------------------
# matching


def _derived(fact: Fact) -> list[str]:
    """Keys a source fact also vouches for (a full date vouches for its year, etc.)."""
    k = fact.key
    out = [k]
    if fact.kind == "date":
        days = _weekday_span(k)
        if days and len(days) > 1:
            out += days
        elif re.fullmatch(r"\d{4}-\d{2}-\d{2}", k):
            out += [f"--{k[5:]}", k[:7], k[:4]]
        elif re.fullmatch(r"\d{4}-\d{2}", k):
            out.append(k[:4])
    elif fact.kind == "reference":
        if k.startswith("cerfa:") and "*" in k:
            out.append(k.split("*")[0])
        elif ":" in k and not k.startswith(("article:", "cerfa:", "n:")):
            out.append("n:" + k.split(":", 1)[1])
    elif fact.kind == "amount":
        q = re.fullmatch(r"([\d.]+(?:jours|semaines|mois|ans|heures|minutes))[a-z]+", k)
        if q:
            out.append(q.group(1))
    return out


def _weekday_span(key: str) -> list[str]:
    """Days covered by a weekday key: "lundi-vendredi" → lundi … vendredi."""
    parts = key.split("-")
    if not all(p in fp.WEEKDAY_NAMES for p in parts) or len(parts) not in (1, 2):
        return []
    a, b = (fp.WEEKDAY_NAMES.index(p) for p in (parts[0], parts[-1]))
    span = range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)]
    return [fp.WEEKDAY_NAMES[i] for i in span]


def source_keys(source_texts: Sequence[str]) -> set[tuple[str, str]]:
    """All (kind, key) pairs the sources vouch for, derived keys included."""
    keys: set[tuple[str, str]] = set()
    for text in source_texts:
        for fact in _extract(text, allow_one=True):
            keys.update((fact.kind, k) for k in _derived(fact))
    return keys


def _compact_digits(text: str) -> str:
    return re.sub(r"(?<=\d)[\s.\-\u00a0\u202f\u2009]+(?=\d)", "", text)


def _in_normalised_text(fact: Fact, texts: Sequence[str]) -> bool:
    """Last-resort lookup of a phone, e-mail or URL key in the raw source text."""
    if fact.kind == "phone":
        pat = re.compile(rf"(?<!\d){re.escape(fact.key)}(?!\d)")
        alt = (
            re.compile(rf"\+33(?:\(0\))?{re.escape(fact.key[1:])}(?!\d)")
            if len(fact.key) == 10
            else None
        )
        for t in texts:
            c = _compact_digits(t)
            if pat.search(c) or (alt and alt.search(c.replace(" ", ""))):
                return True
        return False
    if fact.kind in ("email", "url"):
        pat = re.compile(rf"(?<![\w@]){re.escape(fact.key)}(?![\w@-])")
        return any(pat.search(t.lower()) for t in texts)
    return False


def fact_supported(fact: Fact, keys: set[tuple[str, str]], texts: Sequence[str] = ()) -> bool:
    """Whether ``fact`` (from an answer sentence) is vouched for by the sources' ``keys``."""
    if (fact.kind, fact.key) in keys:
        return True
    k = fact.key
    days = _weekday_span(k) if fact.kind == "date" else []
    if len(days) > 1:  # "du lundi au mercredi" inside the sources' days
        return all(("date", d) in keys for d in days)
    if fact.kind == "date" and re.fullmatch(r"\d{4}-\d{2}-\d{2}", k):
        # "15 mars 2025" is supported by "15 mars" when the sources also name 2025
        return ("date", f"--{k[5:]}") in keys and ("date", k[:4]) in keys
    if fact.kind == "reference" and ":" in k and not k.startswith(("article:", "cerfa:")):
        number = k.split(":", 1)[1]
        return ("reference", f"n:{number}") in keys
    return _in_normalised_text(fact, texts)


def facts_missing_from(sentence: str, source_texts: Sequence[str]) -> list[Fact]:
    """Facts of ``sentence`` that none of ``source_texts`` contains (normalised)."""
    facts = extract_facts(sentence)
    if not facts:
        return []
    keys = source_keys(source_texts)
    return [f for f in facts if not fact_supported(f, keys, source_texts)]
