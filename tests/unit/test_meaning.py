"""Paraphrase-mode meaning checks: the issue's inverted sentences fail, faithful ones pass."""

from __future__ import annotations

from assistant.grounding.meaning import meaning_checks


def failed(sentence: str, source: str) -> set[str]:
    return {c.name for c in meaning_checks(sentence, source) if not c.passed}


def test_the_inverted_sunday_fails_against_either_source_sentence():
    said = "La déchetterie est fermée le dimanche."
    assert "periods" in failed(said, "La déchetterie est fermée les jours fériés.")
    assert "polarity" in failed(said, "Dimanche : de 9 h à 12 h.")


def test_negation_antonym_and_dropped_condition_fail():
    assert "polarity" in failed("Le badge n'est pas gratuit.", "Le badge est gratuit.")
    assert "polarity" in failed("L'accès est payant.", "L'accès est gratuit pour les habitants.")
    assert "conditions" in failed(
        "La piscine est ouverte tous les jours de 10 h à 19 h.",
        "Pendant les petites vacances scolaires, tous les jours de 10 h à 19 h.",
    )


def test_faithful_restatements_pass():
    source = "L'accès est gratuit pour les particuliers qui habitent la commune."
    assert (
        failed("Selon la page, l'accès est gratuit pour les particuliers de la commune.", source)
        == set()
    )
    assert meaning_checks("Texte.", None) == []


def test_a_window_is_compared_sentence_by_sentence():
    # The support check's window holds the Sunday hours and the holiday closure; compared with
    # the whole window, the inverted sentence finds both its words and looks faithful.
    window = "Dimanche : de 9 h à 12 h\nLa déchetterie est fermée les jours fériés."
    failed = {
        c.name
        for c in meaning_checks("La déchetterie est fermée le dimanche.", window)
        if not c.passed
    }
    assert failed, "the swapped period must show against the closest sentence"
    assert all(c.passed for c in meaning_checks("Dimanche : de 9 h à 12 h.", window))
