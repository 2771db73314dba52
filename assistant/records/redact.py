"""Find and mask personal data in what guichet stores or logs (never in what it answers).

Two layers, cheapest first:
- regular expressions for structured identifiers (e-mail, French phone, NIR, IBAN, card
  numbers), street addresses, and names after a title or a cue ("Mme Perrin", "je m'appelle
  …"): well under a millisecond for a question. A NIR, IBAN or card number is masked by its
  shape whatever its key: a mistyped social-security number is still personal data. Checksums
  only remain where the shape alone is loose (an IBAN of a country whose length we do not
  know), measured on the labelled sets and the 3,588 service-public fiches (README, "Privacy");
- spaCy's ``fr_core_news_sm`` named entities (PER) for the other names, loaded lazily, on when
  the model is installed unless ``GUICHET_REDACT_NAMES=0`` (about 30 ms a question on CPU).

Spans are found on the original text and merged (the most specific label wins an overlap), then
replaced right to left by tokens such as ``[EMAIL]``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from assistant.core.answer import Answer, Sentence

TOKENS = {
    "EMAIL": "[EMAIL]",
    "PHONE": "[TÉLÉPHONE]",
    "NIR": "[NIR]",
    "IBAN": "[IBAN]",
    "CARD": "[CARTE]",
    "ADDRESS": "[ADRESSE]",
    "PERSON": "[NOM]",
}
# Overlaps: a structured identifier beats a looser pattern, a pattern beats a name.
PRIORITY = {"EMAIL": 0, "IBAN": 1, "NIR": 2, "CARD": 3, "PHONE": 4, "ADDRESS": 5, "PERSON": 6}


class Span(NamedTuple):
    start: int
    end: int
    label: str


# --- structured identifiers -------------------------------------------------------------------
_EMAIL = re.compile(
    r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,24}(?![\w-])", re.UNICODE
)
_SEP = r"[ \u00a0.\-]?"
_PHONE = re.compile(
    r"(?<![\w+])(?:"
    rf"(?:\+|00)33{_SEP}(?:\(0\){_SEP})?[1-9](?:{_SEP}\d{{2}}){{4}}"  # +33 6 12 34 56 78
    rf"|0[1-9](?:{_SEP}\d{{2}}){{4}}"  # 06 12 34 56 78, 06.12.34.56.78, 0612345678
    rf"|0{_SEP}[89]\d{{2}}(?:{_SEP}\d{{3}}){{2}}"  # 0 800 123 456
    r")(?![\w/])"
)
_NIR = re.compile(
    r"(?<![\w])[1-478](?:[ \u00a0.]?\d){2}(?:[ \u00a0.]?\d){2}[ \u00a0.]?(?:\d\d|2[AB])"
    r"(?:[ \u00a0.]?\d){6}[ \u00a0.]?\d\d(?![\w])"
)
_IBAN = re.compile(r"(?<![\w])[A-Za-z]{2}\d{2}(?:[ \u00a0]?[A-Za-z0-9]){11,30}")
_CARD = re.compile(
    r"(?<![\w])(?:"
    r"(?:4\d|5[1-5]|2[2-7]|35|6\d)\d\d(?:[ \-]?\d{4}){3}(?:[ \-]?\d{3})?"  # 16/19 digits
    r"|3[47]\d{2}[ \-]?\d{6}[ \-]?\d{5}"  # American Express 4-6-5
    r")(?![\w])"
)
IBAN_LENGTHS = {
    "FR": 27, "MC": 27, "DE": 22, "BE": 16, "ES": 24, "IT": 27, "CH": 21, "LU": 20,
    "GB": 22, "PT": 25, "NL": 18, "AT": 20, "IE": 22, "DZ": 26, "MA": 28, "TN": 24,
}  # fmt: skip


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def nir_shaped(text: str) -> bool:
    """15 characters with a plausible month: the shape of a NIR, whatever its key."""
    raw = _digits(text).upper()
    if len(raw) != 15 or not raw[13:].isdigit():
        return False
    month = int(raw[3:5])
    return 1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99


def nir_valid(text: str) -> bool:
    """Key = 97 - (13 first characters mod 97); Corsica's 2A/2B count as 19/18."""
    raw = _digits(text).upper()
    if len(raw) != 15:
        return False
    body = raw[:13].replace("2A", "19", 1) if raw[5:7] == "2A" else raw[:13]
    body = body.replace("2B", "18", 1) if raw[5:7] == "2B" else body
    if not body.isdigit() or not raw[13:].isdigit():
        return False
    month = int(raw[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(raw[13:])


def iban_valid(compact: str) -> bool:
    if not (15 <= len(compact) <= 34) or not compact[2:4].isdigit():
        return False
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def luhn_valid(number: str) -> bool:
    digits = [int(d) for d in number if d.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) >= 13 and total % 10 == 0


def iban_shaped(compact: str) -> bool:
    """A known country's exact length and a mostly numeric account part (GB and IT accounts
    hold a few letters): keeps words such as "de12 rue des lilas" out without a checksum."""
    expected = IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact[2:4].isdigit():
        return False
    account = compact[4:]
    return sum(ch.isdigit() for ch in account) >= 0.6 * len(account)


def _iban_spans(text: str) -> list[Span]:
    """Candidates run greedily over the next words: keep the prefix with the country's length
    (any key), else, for other countries, the longest prefix whose mod-97 key validates."""
    spans = []
    for m in _IBAN.finditer(text):
        positions = [m.start() + i for i, ch in enumerate(m.group()) if ch.isalnum()]
        compact = "".join(text[p] for p in positions).upper()
        for n in range(len(compact), 14, -1):
            end = positions[n - 1] + 1
            if (end == len(text) or not text[end].isalnum()) and (
                iban_shaped(compact[:n]) or iban_valid(compact[:n])
            ):
                spans.append(Span(m.start(), end, "IBAN"))
                break
    return spans


def _nir_spans(text: str) -> list[Span]:
    """NIR shapes, any key; the keys only settle a 15-digit American Express number (measured:
    the one NIR false alarm on the holdout set), which stays a card."""
    spans = []
    for m in _NIR.finditer(text):
        found = m.group()
        if not nir_shaped(found):
            continue
        if not nir_valid(found) and _CARD.fullmatch(found) and luhn_valid(found):
            continue
        spans.append(Span(m.start(), m.end(), "NIR"))
    return spans


# --- addresses --------------------------------------------------------------------------------
_UP = "A-ZÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸ"
_WAY = (
    r"rue|avenue|av\.?|bd|boulevard|blvd|chemin|ch\.|impasse|imp\.|place|pl\.|all[ée]e|route|"
    r"rte|quai|cours|square|passage|voie|sentier|lotissement|r[ée]sidence|rond-point|faubourg|"
    r"mont[ée]e|traverse|esplanade|promenade|parvis|cit[ée]|hameau|clos|domaine|chauss[ée]e|"
    r"ruelle|mail|villa|lieu-dit|carrefour|cour"
)
_PARTICLE = r"(?:de|du|des|la|le|les|d'|d’|l'|l’|de\s+la|de\s+l'|de\s+l’|aux?|sur|en|et)"
_CAPWORD = rf"(?:[{_UP}][\w'’.-]*|\d+(?:e|er|ème)?)"
_ADDRESS = re.compile(
    rf"(?<![\w])\d{{1,4}}(?:\s?(?:bis|ter|quater|[A-D])\b)?,?\s+(?i:{_WAY})\s+"
    rf"(?:{_PARTICLE}\s*)*[\w'’-]+"  # the street's first word, any case ("rue de la gare")
    rf"(?:\s+(?:{_PARTICLE}\s*)*{_CAPWORD})*"  # then only capitalised words
    rf"(?:,?\s+\d{{5}}\s+[{_UP}][\w'’-]*(?:\s+(?:{_PARTICLE}\s*)*[{_UP}][\w'’-]*)*"
    rf"(?:\s+(?i:cedex)(?:\s+\d{{1,2}})?)?)?"  # postal code and town
)

# --- names after a title or a cue --------------------------------------------------------------
_NAME = rf"[{_UP}][a-zà-ÿ'’]+(?:-[{_UP}][a-zà-ÿ'’]+)*"
_SURNAME = rf"(?:{_NAME}|[{_UP}]{{2,}}(?:-[{_UP}]{{2,}})*)"
_FULLNAME = rf"{_NAME}(?:\s+(?:(?:de|da|du|dos|van|von|le|la|di|el|ben|ibn)\s+)?{_SURNAME}){{0,2}}"
_TITLE = (
    r"(?:M\.|Mr\.?|MM\.|Mme|Mmes|Mlle|Madame|Monsieur|Mademoiselle|Me|Ma[îi]tre|Dr\.?|Docteur|"
    r"Pr\.?|Professeur)"
)
_CUE = (
    r"(?i:je\s+(?:suis|m'appelle|m’appelle|me\s+nomme)|c'est|c’est|(?:il|elle)\s+s'appel(?:le|ait)"
    r"|s'appel(?:le|ait)|de\s+la\s+part\s+de|au\s+nom\s+de|titulaire\s*:?|pr[ée]sident(?:e)?\s*:"
    r"|t[ée]moins?\s+(?:du\s+mariage\s*)?:|famille|l'agent|l’agent|inscription\s+de|de\s+son\s+"
    r"(?:fr[èe]re|s[œo]eur|fils|fille)|mon\s+(?:fils|mari|fr[èe]re|p[èe]re)|ma\s+(?:fille|femme|"
    r"s[œo]eur|m[èe]re)|maman\s+de|papa\s+de|papiers\s+de|et\s+de)"
)
_TITLED = re.compile(rf"(?<![\w]){_TITLE}\s+({_FULLNAME})")
_CUED = re.compile(rf"(?<![\w]){_CUE},?\s+({_FULLNAME})")
# Capitalised words after a cue that are not names (town hall vocabulary).
_NOT_NAMES = {
    "Bonjour", "Bonsoir", "Bonne", "Bon", "Cordialement", "Salut", "Madame", "Monsieur",
    "Mademoiselle", "Mme", "Mlle", "Docteur", "Maître",
    "Mairie", "Merci", "Le", "La", "Les", "Un", "Une", "Je", "Mon", "Ma", "Mes", "Ce", "Cet",
    "Cette", "Il", "Elle", "Nous", "Vous", "Pour", "Pas", "Oui", "Non", "CCAS", "CAF",
    "Service", "Accueil", "Montpellier", "Pacs", "PACS",
}  # fmt: skip


def _title_spans(text: str) -> list[Span]:
    spans = []
    for rx in (_TITLED, _CUED):
        for m in rx.finditer(text):
            name = m.group(1)
            if name.split()[0] in _NOT_NAMES:
                continue
            spans.append(Span(m.start(1), m.end(1), "PERSON"))
    return spans


# --- spaCy (optional) -------------------------------------------------------------------------
_nlp: Any = None
_nlp_state = "unloaded"  # unloaded | ready | missing
_nlp_lock = threading.Lock()
_nlp_call_lock = threading.Lock()
SPACY_MODEL = "fr_core_news_sm"


def names_enabled() -> bool:
    """``GUICHET_REDACT_NAMES``: 1 / 0; unset means on when the spaCy model is installed."""
    value = os.environ.get("GUICHET_REDACT_NAMES", "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    return _load_nlp() is not None


def _load_nlp() -> Any:
    global _nlp, _nlp_state
    if _nlp_state != "unloaded":
        return _nlp
    with _nlp_lock:
        if _nlp_state == "unloaded":
            try:
                import spacy

                # Only the entity recogniser is used; the rest costs time for nothing.
                _nlp = spacy.load(
                    SPACY_MODEL, exclude=["parser", "lemmatizer", "morphologizer", "senter"]
                )
                _nlp_state = "ready"
            except (ImportError, OSError):
                _nlp_state = "missing"
    return _nlp


def preload() -> bool:
    """Load the name model now (server start-up) rather than on the first question."""
    return names_enabled()


def _ner_spans(text: str) -> list[Span]:
    nlp = _load_nlp()
    if nlp is None:
        return []
    with _nlp_call_lock:  # one document at a time: spaCy does not promise thread safety
        entities = list(nlp(text).ents)
    spans = []
    for ent in entities:
        if ent.label_ != "PER":
            continue
        words = ent.text.split()
        # The small model tags greetings and single lowercase words too: keep capitalised ones.
        if (
            not words
            or words[0] in _NOT_NAMES
            or not all(w[:1].isupper() for w in words)
            or len(ent.text) < 3
            or any(ch.isdigit() for ch in ent.text)
            or (len(words) == 1 and not text[: ent.start_char].strip(" \"'«"))
        ):
            continue
        spans.append(Span(ent.start_char, ent.end_char, "PERSON"))
    return spans


# --- public API -------------------------------------------------------------------------------
def _regex_spans(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    spans += _iban_spans(text)
    spans += _nir_spans(text)
    # Cards by shape alone: Luhn rejected nothing on the fiches nor on the labelled sets.
    spans += [Span(m.start(), m.end(), "CARD") for m in _CARD.finditer(text)]
    spans += [Span(m.start(), m.end(), "PHONE") for m in _PHONE.finditer(text)]
    spans += [Span(m.start(), m.end(), "ADDRESS") for m in _ADDRESS.finditer(text)]
    spans += _title_spans(text)
    return spans


def _merge(spans: list[Span]) -> list[Span]:
    """Drop spans overlapping a higher-priority (then longer) one; merge same-label overlaps."""
    ranked = sorted(spans, key=lambda s: (PRIORITY[s.label], -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ranked:
        clash = [k for k in kept if k.start < span.end and span.start < k.end]
        if not clash:
            kept.append(span)
        elif all(k.label == span.label for k in clash):
            for k in clash:
                kept.remove(k)
            start = min([span.start, *(k.start for k in clash)])
            end = max([span.end, *(k.end for k in clash)])
            kept.append(Span(start, end, span.label))
    return sorted(kept)


def find_personal_data(text: str, *, names: bool | None = None) -> list[Span]:
    """Spans of personal data, sorted. ``names``: use spaCy too (default: ``names_enabled()``)."""
    if not text:
        return []
    spans = _regex_spans(text)
    if names is None:
        names = names_enabled()
    if names:
        spans += _ner_spans(text)
    return _merge(spans)


def redact(text: str, *, names: bool | None = None) -> str:
    """``text`` with each personal datum replaced by its token (``[EMAIL]``, ``[NOM]`` …)."""
    out = text
    for span in reversed(find_personal_data(text, names=names)):
        out = out[: span.start] + TOKENS[span.label] + out[span.end :]
    return out


def redact_answer(answer: Answer, mask: Callable[[str], str] = redact) -> Answer:
    """``answer`` as it may be stored: ``mask`` applied to every text that may echo the
    question, i.e. the question, the sentences (delivered and rejected), the details of their
    checks (they quote the failing phone or number), the reasons. Source excerpts are the city's
    documents, already in the index, and stay as they are."""

    def r(text: str | None) -> str | None:
        return mask(text) if text else text  # most check details are empty: skip the call

    def sentence(s: Sentence) -> Sentence:
        checks = [c.model_copy(update={"detail": r(c.detail)}) for c in s.checks]
        return s.model_copy(
            update={
                "text": r(s.text),
                "checks": checks,
                "supporting_excerpt": r(s.supporting_excerpt),
            }
        )

    return answer.model_copy(
        update={
            "question": r(answer.question),
            "resolved": r(answer.resolved),
            "text": r(answer.text),
            "detail": r(answer.detail),
            "sentences": [sentence(s) for s in answer.sentences],
            "rejected": [sentence(s) for s in answer.rejected],
        }
    )
