"""The spellings of French facts as patterns: numbers, amounts, dates, times, phones,
references. Only the patterns and the number helpers; ``facts`` extracts and compares."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from assistant.core.text import fold

SP = "[ \u00a0\u202f\u2009]"  # spaces a French text may put inside numbers
NUM = (
    rf"\d{{1,3}}(?:{SP}\d{{3}})+(?:[,.]\d+)?"  # 1 500 / 1 500,50 (thousands with spaces)
    r"|\d{1,3}(?:\.\d{3})+(?:,\d+)?"  # 1.500 / 1.500,50 (thousands with dots)
    r"|\d+(?:[,.]\d+)?"  # 15 / 15,50 / 15.50
)
NUMBER_WORDS = {
    "zero": 0, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15,
    "seize": 16, "dix-sept": 17, "dix-huit": 18, "dix-neuf": 19, "vingt": 20, "trente": 30,
    "quarante": 40, "cinquante": 50, "soixante": 60, "cent": 100,
}  # fmt: skip
ONE_WORDS = {"un": 1, "une": 1}
WORD_NUM = (
    r"dix-sept|dix-huit|dix-neuf|z[ée]ro|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze"
    r"|douze|treize|quatorze|quinze|seize|vingt|trente|quarante|cinquante|soixante|cent"
)
MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "fevr": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4,
    "mai": 5, "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9,
    "octobre": 10, "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12,
}  # fmt: skip
MONTH = (
    r"(?:janvier|janv\.|f[ée]vrier|f[ée]vr\.|f[ée]v\.|mars|avril|avr\.|mai|juin|juillet|juil\."
    r"|ao[uû]t|septembre|sept\.|octobre|oct\.|novembre|nov\.|d[ée]cembre|d[ée]c\.)"
)
DAY = r"(?:1\s?er|1\s?re|premier|\d{1,2})"

# units of quantities a citizen acts on -> canonical unit
UNITS = {
    "jour": "jours", "jours": "jours", "j": "jours",
    "semaine": "semaines", "semaines": "semaines",
    "mois": "mois",
    "an": "ans", "ans": "ans", "annee": "ans", "annees": "ans",
    "heure": "heures", "heures": "heures", "h": "heures",
    "minute": "minutes", "minutes": "minutes", "min": "minutes", "mn": "minutes",
    "trimestre": "trimestres", "trimestres": "trimestres",
    "km": "km", "kilometre": "km", "kilometres": "km",
    "m2": "m2", "m²": "m2",
    "kg": "kg",
}  # fmt: skip
UNIT = (
    r"(?:jours?|j|semaines?|mois|ans?|ann[ée]es?|heures?|h|minutes?|min|mn|trimestres?"
    r"|km|kilom[èe]tres?|m2|m²|kg)"
)
QUALIFIER = r"(?:\s+(ouvr[ée]s|ouvrables|calendaires|francs|r[ée]volus))?"


def number(text: str) -> Decimal | None:
    s = re.sub(SP, "", text.strip())
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?", s):
        s = s.replace(".", "")
    s = s.replace(",", ".")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def word_number(text: str, *, allow_one: bool) -> Decimal | None:
    w = fold(text.strip())
    if w in NUMBER_WORDS:
        return Decimal(NUMBER_WORDS[w])
    if allow_one and w in ONE_WORDS:
        return Decimal(1)
    return number(text)


def canon(d: Decimal) -> str:
    """``Decimal`` without trailing zeros: 5 → "5", 5.50 → "5.5"."""
    out = format(d.normalize(), "f")
    return out


def strip_url(raw: str) -> str:
    return raw.rstrip(".,;:!?»\"')]}")


def url_key(raw: str) -> str:
    k = strip_url(raw).lower()
    k = re.sub(r"^[a-z][a-z0-9+.-]*://", "", k)
    k = re.sub(r"^www\.", "", k)
    return k.rstrip("/")


# --------------------------------------------------------------------------------------------
# patterns, applied in order; a later match overlapping an earlier fact is ignored

FLAGS = re.IGNORECASE | re.UNICODE

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", FLAGS)
URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]{}]+"
    r"|(?<![\w@.-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:gouv\.fr|fr|com|org|net|eu|info)"
    r"(?![\w-])(?:/[^\s<>\"'()\[\]{}]*)?",
    FLAGS,
)
PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)33" + SP + r"?(?:\(0\)" + SP + r"?)?|0)([1-9])"
    r"((?:[\s.\-\u00a0\u202f]?\d{2}){4})(?!\d)",
    FLAGS,
)
PHONE_FREE = re.compile(rf"(?<![\d+])0{SP}?([89]\d\d){SP}?(\d{{3}}){SP}?(\d{{3}})(?!\d)")
PHONE_SHORT = re.compile(
    r"\b(?:t[ée]l[ée]phone|t[ée]l\.|t[ée]l|appele[rz]|compose[rz]|num[ée]ro)\s*"
    r"(?:le|au|:)?\s*(3\d{3})(?!\d|[,.]\d)",
    FLAGS,
)
CERFA = re.compile(
    r"\bcerfa\s*(?:n\s?[°º]|no\.?|num[ée]ro|n\.)?\s*(\d{5})(?:\s?\*\s?(\d{2}))?(?!\d)", FLAGS
)
CERFA_STAR = re.compile(r"(?<![\d*])(\d{5})\s?\*\s?(\d{2})(?!\d)")
LEGAL_TEXT = re.compile(
    r"\b(d[ée]cret|loi|ordonnance|arr[êe]t[ée]|circulaire|directive|r[èe]glement)"
    r"(?:\s+(?:organique|minist[ée]riel|pr[ée]fectoral|municipal|interminist[ée]riel"
    r"|\(UE\)|\(CE\)|UE|CE))?\s*(?:n\s?[°º]|no\.?|num[ée]ro)?\s*(\d{2,4}[-/]\d+(?:[-/]\d+)?)"
    r"(?![\d-])",
    FLAGS,
)
NUMBERED = re.compile(r"\bn\s?[°º]\s*(\d{2,4}-\d+(?:-\d+)?)(?![\d-])", FLAGS)
ARTICLE_ID = r"(?:([LRDA])\s?\*?\.?\s?)?(\d+(?:[-‑.]\d+)*)(?:er)?"
ARTICLE = re.compile(
    r"\b(?:articles?|art\.)\s*(?:n\s?[°º]\s*)?" + ARTICLE_ID + r"(?![\w-])",
    FLAGS,
)
ARTICLE_MORE = re.compile(
    r"\s*(?:,|\bet\b|\bà\b)\s*(?:([LRDA])\s?\.?\s?)?(\d+(?:-\d+)+)(?![\w-])", FLAGS
)
ARTICLE_BARE = re.compile(r"(?<![\w.-])([LRD])\.?\s?(\d{1,4}(?:-\d+){1,3})(?![\w-])")

DATE_RANGE = re.compile(
    rf"(?<![\d,.])({DAY})\s*(?:au|-|–|et)\s*({DAY})\s+({MONTH})(?:\s+(\d{{4}}))?(?!\d)",
    FLAGS,
)
DATE_TEXT = re.compile(rf"(?<![\d,.])({DAY})\s+({MONTH})(?:\s+(\d{{4}}))?(?![\d\w])", FLAGS)
DATE_NUM = re.compile(r"(?<![\d/.-])(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?![\d/-]|[.,]\d)")
DATE_ISO = re.compile(r"(?<![\d-])(\d{4})-(\d{2})-(\d{2})(?![\d-])")
MONTH_YEAR = re.compile(rf"\b({MONTH})\s+(\d{{4}})(?!\d)", FLAGS)
TIME_COLON = re.compile(r"(?<![\d:,.])([01]?\d|2[0-3]):([0-5]\d)(?![\d:])")
TIME_H = re.compile(
    r"(?<![\w,.:])([01]?\d|2[0-3])\s?(?:h|heures?)(?:\s?([0-5]\d)(?:\s?(?:min|mn))?)?(?!\w)",
    FLAGS,
)
TIME_WORD = re.compile(
    r"(?:\b(?:à|de|dès|jusqu['’]à|avant|après)\s+|[-–]\s*)(midi|minuit)\b", FLAGS
)
WEEKDAY_NAMES = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
WEEKDAY = r"(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s?"
WEEKDAY_RANGE = re.compile(rf"\b{WEEKDAY}\s*(?:au|à|a|-|–|jusqu['’]au)\s*{WEEKDAY}\b", FLAGS)
WEEKDAY_ONE = re.compile(rf"\b{WEEKDAY}\b", FLAGS)
AMOUNT_TAIL = (
    r"(?:\s?(millions?|milliards?)\s+(?:d['’]\s?)?)?"
    r"\s?(?:€|euros?(?!\w)|EUR(?!\w)|(k€|M€))"
)
AMOUNT_RANGE = re.compile(rf"(?<![\d,.])({NUM})\s*(?:à|-|–|et|ou)\s*({NUM}){AMOUNT_TAIL}", FLAGS)
AMOUNT = re.compile(rf"(?<![\d,.])({NUM}){AMOUNT_TAIL}", FLAGS)
AMOUNT_PREFIX = re.compile(rf"(?:€|\bEUR)\s?({NUM})(?![\d])", FLAGS)
PERCENT = re.compile(rf"(?<![\d,.])({NUM})\s?(?:%|pour\s?cent\b|pourcents?\b)", FLAGS)
QTY_NUM = rf"{NUM}|{WORD_NUM}|une?"
QTY_RANGE = re.compile(
    rf"(?<![\w,.])({QTY_NUM})\s*(?:à|-|–|et|ou)\s*({QTY_NUM})\s?({UNIT}){QUALIFIER}(?!\w)",
    FLAGS,
)
QTY = re.compile(rf"(?<![\w,.])({QTY_NUM})\s?({UNIT}){QUALIFIER}(?!\w)", FLAGS)
YEAR = re.compile(r"(?<![\d,.\w])(19\d{2}|20\d{2})(?!\d|[,.]\d|\w)")
