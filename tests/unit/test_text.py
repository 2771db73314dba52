from assistant.core.text import approx_tokens, content_stems, words


def test_a_questions_inverted_pronoun_is_not_a_word():
    # "est-elle" once counted as a word no document contains, weighing most in the gate.
    assert content_stems("La piscine est-elle ouverte ?") == content_stems(
        "la piscine est elle ouverte"
    )
    assert "faut" in words("Que faut-il apporter ?") and "il" in words("Que faut-il apporter ?")
    assert words("a-t-il") == ["a", "il"]


def test_compound_words_stay_whole():
    assert words("rendez-vous à Saint-Clarisse, dix-huit ans") == [
        "rendez-vous",
        "à",
        "saint-clarisse",
        "dix-huit",
        "ans",
    ]


def test_token_estimate():
    assert approx_tokens("") == 0
    assert approx_tokens("a" * 33) == 10
