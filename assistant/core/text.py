"""French text normalisation shared by the sparse encoder (BM25) and the support check.

Snowball's French stemmer (PyStemmer, a C extension) and a stop-word list: one definition, so
that what retrieval calls "the same word" is what verification calls "the same word".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
_ELISION = re.compile(r"^(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)

# Function words and very frequent verbs of French administrative text; kept short on purpose:
# words like "pas" or "sans" change meaning and stay.
STOPWORDS = frozenset(
    [
        "a",
        "à",
        "au",
        "aux",
        "avec",
        "ce",
        "ces",
        "cet",
        "cette",
        "ci",
        "dans",
        "de",
        "des",
        "du",
        "elle",
        "elles",
        "en",
        "et",
        "eux",
        "il",
        "ils",
        "je",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "lui",
        "ma",
        "mais",
        "me",
        "même",
        "mes",
        "moi",
        "mon",
        "ne",
        "nos",
        "notre",
        "nous",
        "on",
        "ou",
        "où",
        "par",
        "pour",
        "qu",
        "que",
        "qui",
        "sa",
        "se",
        "ses",
        "son",
        "sur",
        "ta",
        "te",
        "tes",
        "toi",
        "ton",
        "tu",
        "un",
        "une",
        "vos",
        "votre",
        "vous",
        "y",
        "l",
        "d",
        "j",
        "m",
        "n",
        "s",
        "t",
        "c",
        "est",
        "sont",
        "être",
        "été",
        "était",
        "sera",
        "ont",
        "avoir",
        "avez",
        "ai",
        "as",
        "a",
        "peut",
        "peuvent",
        "pouvez",
        "doit",
        "doivent",
        "devez",
        "faut",
        "fait",
        "faire",
        "comme",
        "si",
        "plus",
        "moins",
        "très",
        "tout",
        "tous",
        "toute",
        "toutes",
        "aussi",
        "ainsi",
        "donc",
        "alors",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "comment",
        "combien",
        "quand",
        "est-ce",
        "ceci",
        "cela",
        "ça",
    ]
)


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("french")


def fold(text: str) -> str:
    """Lower-case and strip accents (users type "medicament" for "médicament")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# The inverted subject of a question ("est-elle", "peut-on", "a-t-il", "faut-il") is a verb and
# a pronoun, not one word no document contains: a compound ending in one of these is split.
_INVERTED = re.compile(r"-(?:t-)?(?:il|ils|elle|elles|on|je|tu|ce)$")  # not "rendez-vous"


def words(text: str) -> list[str]:
    """Words of ``text``, lower-cased, elisions removed ("l'acte" → "acte"), a question's
    inverted pronoun split off ("est-elle" → "est", "elle")."""
    out = []
    for match in _WORD.finditer(text.lower()):
        w = _ELISION.sub("", match.group(0))
        inverted = _INVERTED.search(w)
        if inverted and inverted.start() > 0:
            out += [w[: inverted.start()], inverted.group(0).lstrip("-").removeprefix("t-")]
        elif w:
            out.append(w)
    return out


def content_stems(text: str) -> list[str]:
    """Stemmed, accent-folded content words: the unit of BM25 and of lexical support."""
    kept = [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    # Fold before stemming: "identite" typed without accents must meet "identité".
    return _stemmer().stemWords([fold(w) for w in kept])


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-ZÀ-Ý0-9«\"(])|\n+")


def split_sentences(text: str) -> list[str]:
    """Cheap French sentence splitter; list items and lines count as sentences."""
    parts = (p.strip(" -•*\t") for p in _SENTENCE_END.split(text))
    return [p for p in parts if len(p) > 2]


# A sentence ends with . ! ? … (possibly followed by closing quotes/brackets) before a space and
# an upper-case letter, a digit, an opening quote or a dash.
_PROSE_END = re.compile(r"(?<=[.!?…])[»\"')\]]*\s+(?=[«\"(\[A-ZÀ-ÖØ-Þ0-9–—-])")
# Words ending with a period that do not end a sentence ("M. Dupont", "art. 12").
_ABBREVIATIONS = frozenset(
    (  # noqa: SIM905 - a word list reads better as one string
        "m mm mme mmes mlle dr pr me st ste art al cf ex etc p pp vol no n° nos tel tél av bd"
        " fig env min max réf ref approx"
    ).split()
)


def split_prose(text: str) -> list[str]:
    """Sentences of one paragraph, French-aware enough ("M. Dupont", "art. 12", "n° 3" stay whole).

    Unlike :func:`split_sentences`, never cuts at a colon or a semicolon: a table row
    "Adulte : 4,50 €." or a list item stays one unit. Chunking and quote units both use it.
    """
    pieces: list[str] = []
    start = 0
    for match in _PROSE_END.finditer(text):
        before = text[start : match.start()]
        word = re.search(r"([^\s'’(]+)[.]$", before)
        if word and (word.group(1).lower() in _ABBREVIATIONS or re.fullmatch(r"[A-Z]", word[1])):
            continue
        piece = text[start : match.start()] + match.group(0).rstrip()
        if piece.strip():
            pieces.append(piece.strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces


def approx_tokens(text: str) -> int:
    """French text through Qwen/Llama tokenizers: ~3.3 characters per token (measured); used
    where the model's own tokenizer is not at hand."""
    return max(1, round(len(text) / 3.3)) if text else 0
