"""A follow-up question ("et le dimanche ?", "c'est payant ?") read against the thread.

The model is never asked to rewrite the question: a small model would invent a subject, and a
rewritten question could no longer be checked against what the citizen typed. The resolution
is lexical and deterministic instead, with the corpus as the judge of what is a subject:

- the question's own subject words (its content stems, less the asking words of
  ``grounding.subject``) are looked up in the previous question's top document (its
  retrieved passages, title and section included);
- one of them missing there, and in the title of the document the question alone ranks
  first, means the question names something else ("et la médiathèque ?"): a change of
  subject, taken alone; so is a word no document contains ("et la patinoire ?"), which alone
  the relevance gate refuses, as it should;
- otherwise ("dimanche" is in the pool's timetable; "c'est payant ?" has no subject word at
  all) the previous question's subject words are added to it, rarest first, and, when it asks
  for no kind of fact itself and has no verb of its own ("et pour annuler un repas ?" asks
  how, not a price), the previous question's kind words ("horaires") too. The
  previous top document's passages stay candidates for the answer.

The server keeps no conversation: the client sends the previous questions (``history``), each
resolved in turn, so "et pour un enfant ?" after "c'est payant ?" after the pool's hours still
knows it is about the pool.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from assistant.core.answer import Chunk
from assistant.core.text import content_stems
from assistant.grounding.kinds import answer_kinds
from assistant.grounding.subject import ASKING_WORDS
from assistant.retrieval.relevance import TermStats

Search = Callable[[str], list[Chunk]]
MAX_CARRIED = 4
_TOKEN = re.compile(r"[^\W\d_][\w-]*", re.UNICODE)
_ASKING = frozenset(content_stems(ASKING_WORDS))
# Words of a reply in a conversation, about no subject ("et sinon, pareil pour le samedi ?").
_CHAT = frozenset(content_stems("aussi alors sinon pareil idem encore plutôt ok merci bien"))


@dataclass(frozen=True)
class Resolution:
    text: str  # what retrieval, the gate, the checks and the model read
    followup: bool = False
    carried: tuple[str, ...] = ()  # words of the thread added to the question
    previous: tuple[Chunk, ...] = ()  # the previous question's top document, kept as candidates


def subject_words(question: str) -> set[str]:
    """The question's stems less the asking words and the words of conversation."""
    return {s for s in content_stems(question) if s not in _ASKING and s not in _CHAT}


def resolve(question: str, history: Sequence[str], stats: TermStats, search: Search) -> Resolution:
    """``history``: the thread's previous questions, oldest first (already bounded)."""
    if not history:
        return Resolution(question)
    previous = resolve(history[-1], history[:-1], stats, search)
    top = _top_document(search(previous.text))
    seen = set(content_stems(previous.text))
    for chunk in top:
        seen |= set(content_stems(f"{chunk.title} {chunk.section} {chunk.text}"))
    own = subject_words(question)
    if any(not stats.known(s) for s in own):
        # It names what no document has ("et la patinoire ?"): alone, the gate refuses it;
        # with the pool's words added, the pool's hours would answer it.
        return Resolution(question)
    if names_another_page(own - seen, top, search(question)):
        return Resolution(question)  # "et la médiathèque ?": a new subject
    carried = carried_words(previous.text, question, stats)
    if not carried:
        return Resolution(question)
    text = f"{question} ({', '.join(carried)})"
    return Resolution(text, followup=True, carried=tuple(carried), previous=tuple(top))


def names_another_page(new: set[str], previous: list[Chunk], alone: list[Chunk]) -> bool:
    """Words the previous pages lack name another subject when the question alone ranks first
    another document whose title has one of them ("médiathèque" in "Médiathèque de
    l'Olivette"). A word merely absent from the previous passages ("valable" beside "Durée
    de validité", "annuler" in a passage retrieval did not return) is no change of subject."""
    if not new or not alone:
        return False
    if previous and alone[0].doc_id == previous[0].doc_id:
        return False
    return bool(new & set(content_stems(alone[0].title)))


def carried_words(previous: str, question: str, stats: TermStats) -> list[str]:
    """The previous question's subject words (and kind words, when the question asks no kind
    of fact itself) that the question lacks, rarest in the corpus first."""
    own = set(content_stems(question))
    wants_kind = not answer_kinds(question) and not asks_an_action(question)
    picked: dict[str, str] = {}
    for token in _TOKEN.findall(previous):
        stems = content_stems(token)
        if not stems or stems[0] in own or stems[0] in picked:
            continue
        stem = stems[0]
        subject = stem not in _ASKING and stats.known(stem)
        kind = wants_kind and bool(answer_kinds(token))
        if subject or kind:
            picked[stem] = token
    ranked = sorted(picked, key=lambda s: -stats.idf(s))
    return [picked[s] for s in ranked[:MAX_CARRIED]]


# Nouns ending like an infinitive, so that "et en hiver ?" still asks the same kind of fact.
_NOT_VERBS = frozenset(
    [
        "hiver",
        "premier",
        "dernier",
        "quartier",
        "dossier",
        "papier",
        "fichier",
        "loisir",
        "loisirs",
        "plaisir",
        "avenir",
        "soir",
        "atelier",
        "courrier",
        "foyer",
        "loyer",
        "métier",
        "chantier",
        "sentier",
        "janvier",
        "février",
    ]
)
_INFINITIVE = re.compile(r"\b[^\W\d_]{3,}(?:er|ir)\b", re.UNICODE)


def asks_an_action(question: str) -> bool:
    """A follow-up with its own verb ("et pour annuler un repas ?") asks how to do something,
    not the previous kind of fact (the price) for another case ("et pour un enfant ?")."""
    return any(w not in _NOT_VERBS for w in _INFINITIVE.findall(question.lower()))


def _top_document(chunks: list[Chunk]) -> list[Chunk]:
    if not chunks:
        return []
    return [c for c in chunks if c.doc_id == chunks[0].doc_id]
