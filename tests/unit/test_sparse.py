from assistant.core.text import content_stems, split_sentences, words
from assistant.index import sparse


def test_french_stems_fold_accents_and_plural():
    assert content_stems("Les cartes d'identité") == content_stems("carte identite")
    assert "l" not in words("l'acte de naissance")


def test_document_weights_saturate_and_normalise_by_length():
    short_idx, short_val = sparse.encode_document("piscine piscine")
    long_idx, long_val = sparse.encode_document(
        "piscine " + " ".join(f"mot{i}" for i in range(300))
    )
    pid = sparse.term_id(content_stems("piscine")[0])
    assert pid in short_idx and pid in long_idx
    w_short = short_val[short_idx.index(pid)]
    w_long = long_val[long_idx.index(pid)]
    assert w_short > w_long  # same term weighs less in a long document
    assert w_short < sparse.K1 + 1  # saturation bound


def test_query_ignores_stopwords_and_is_sorted():
    idx, val = sparse.encode_query("Quels sont les horaires de la piscine ?")
    assert idx == sorted(idx)
    assert len(idx) == 2 and val == [1.0, 1.0]


def test_batch_signature_matches_llama_index():
    indices, values = sparse.encode_documents(["a b c", "piscine municipale"])
    assert len(indices) == len(values) == 2


def test_sentence_split_keeps_lists():
    assert split_sentences("Horaires : de 9 h à 12 h.\n- Lundi fermé\nMardi ouvert.") == [
        "Horaires : de 9 h à 12 h.",
        "Lundi fermé",
        "Mardi ouvert.",
    ]
