"""IDF-weighted question coverage and the "answer about another subject" check."""

from __future__ import annotations

import pytest

from assistant.core.answer import Sentence, Source
from assistant.core.text import content_stems
from assistant.grounding.verify import SentenceVerifier
from assistant.index.sparse import term_id
from assistant.retrieval.relevance import (
    TermStats,
    foreign_question_terms,
    weighted_coverage,
)

TOWN_HALL = (
    "L'accueil de la mairie est ouvert du lundi au vendredi de 8 h 30 à 12 h et de 13 h 30 à "
    "17 h 30. Le samedi matin, de 9 h à 12 h, pour l'état civil uniquement."
)
POOL = "La piscine des Cigales est ouverte pendant les vacances scolaires de 10 h à 19 h."


def stats_of(*documents: str) -> TermStats:
    df: dict[int, int] = {}
    for doc in documents:
        for stem in set(content_stems(doc)):
            df[term_id(stem)] = df.get(term_id(stem), 0) + 1
    return TermStats(points=len(documents), df=df)


CORPUS = stats_of(
    TOWN_HALL,
    POOL,
    "La médiathèque prête des livres et des DVD.",
    "La déchetterie est ouverte le samedi.",
    "Le centre de loisirs accueille les enfants pendant les vacances.",
    "La mairie annexe est ouverte le mardi.",
    "Le cimetière est ouvert tous les jours.",
    "Les vacances d'été commencent en juillet.",
)


def test_a_word_no_document_contains_outweighs_common_words():
    # plain coverage would call this question two-thirds covered by the pool page
    question = "La patinoire est ouverte pendant les vacances ?"
    assert weighted_coverage(question, [POOL], CORPUS) < 0.5
    covered = "La piscine est ouverte pendant les vacances ?"
    assert weighted_coverage(covered, [POOL], CORPUS) == pytest.approx(1.0)


def test_coverage_of_nothing_is_zero():
    assert weighted_coverage("", [POOL], CORPUS) == 0.0
    assert weighted_coverage("piscine", [], CORPUS) == 0.0


def test_answer_about_another_subject_is_caught():
    question = "Quels sont les horaires de l'office de tourisme ?"
    sentence = "L'office de tourisme est ouvert du lundi au vendredi de 8 h 30 à 12 h."
    assert foreign_question_terms(sentence, question, set(content_stems(TOWN_HALL)), CORPUS) == [
        "offic",
        "tourism",
    ]


def test_a_paraphrase_of_an_indexed_subject_is_allowed():
    # "piscine" is indexed, so repeating it from the question is not a change of subject
    question = "La piscine ouvre à quelle heure pendant les vacances ?"
    sentence = "Pendant les vacances scolaires, la piscine est ouverte de 10 h à 19 h."
    assert foreign_question_terms(sentence, question, set(content_stems(POOL)), CORPUS) == []
    # nor is the asker's own figure (the facts check handles numbers)
    qf = "La cantine coûte combien pour un quotient de 700 ?"
    assert (
        foreign_question_terms("Pour 700, 3,15 € le repas.", qf, set(content_stems(POOL)), CORPUS)
        == []
    )
    # nor is a question word the sentence does not repeat
    assert (
        foreign_question_terms(
            "Ouvert de 10 h à 19 h.", "patinoire ?", set(content_stems(POOL)), CORPUS
        )
        == []
    )


def test_verifier_rejects_the_changed_subject_and_keeps_the_right_one():
    sources = {1: Source(id=1, chunk_id="c1", doc_id="d1", title="Mairie", excerpt=TOWN_HALL)}
    verifier = SentenceVerifier()
    question = "Quels sont les horaires de l'office de tourisme ?"
    wrong = Sentence(
        text="L'office de tourisme est ouvert du lundi au vendredi de 8 h 30 à 12 h.",
        source_ids=[1],
    )
    checked = verifier.verify(wrong, sources, asked=(question, CORPUS))
    on_topic = next(c for c in checked.checks if c.name == "on_topic")
    assert not on_topic.passed and "tourism" in on_topic.detail
    assert not checked.passed
    right = Sentence(
        text="L'accueil de la mairie est ouvert du lundi au vendredi de 8 h 30 à 12 h.",
        source_ids=[1],
    )
    asked = ("Quels sont les horaires de la mairie ?", CORPUS)
    assert verifier.verify(right, sources, asked=asked).passed
    # without the question, the check is not run (and the sentence looks supported)
    assert "on_topic" not in {c.name for c in verifier.verify(wrong, sources).checks}
