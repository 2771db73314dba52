"""The city's synonym list (assistant.retrieval.synonyms): parsing, matching, the BM25 query,
and the coverage the gate, the subject check and the on_topic check count (no model)."""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import pytest

from assistant.core.answer import Chunk
from assistant.core.query import Query
from assistant.core.settings import Settings
from assistant.core.text import content_stems
from assistant.grounding.subject import SubjectJudge
from assistant.index.sparse import encode_document
from assistant.pipeline import Assistant
from assistant.retrieval.gate import topic_coverage
from assistant.retrieval.relevance import TermStats, foreign_question_terms
from assistant.retrieval.synonyms import (
    STARTER,
    Synonyms,
    SynonymsError,
    SynonymsFile,
    synonyms_path,
)
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator

LIST = Synonyms.parse(
    {
        "canapé": ["meubles", "encombrants"],
        "HLM": "logement social",
        "carte grise": ["certificat d'immatriculation"],
    }
)
HOUSING = Chunk(
    chunk_id="logement#0",
    doc_id="logement-social.md",
    title="Demande de logement social",
    section="Renouveler sa demande",
    text="Une demande de logement social est valable un an. Elle doit être renouvelée.",
)
POOL = Chunk(
    chunk_id="piscine#0",
    doc_id="piscine.md",
    title="Piscine municipale",
    section="Horaires",
    text="La piscine est ouverte le mercredi de 10 h à 18 h.",
)


def stats_of(chunks: list[Chunk]) -> TermStats:
    df: Counter[int] = Counter()
    for c in chunks:
        df.update(set(encode_document(f"{c.title} {c.section} {c.text}")[0]))
    return TermStats(len(chunks), dict(df))


def test_keys_match_on_stems_case_and_plural_aside():
    assert [e.expressions for e in LIST.matching("Où jeter mes vieux Canapés ?")] == [
        ("meubles", "encombrants")
    ]
    assert LIST.matching("une carte grise perdue")[0].expressions == (
        "certificat d'immatriculation",
    )
    # a multi-word key needs its words together
    assert LIST.matching("une carte de couleur grise") == []
    assert LIST.matching("horaires de la piscine") == []


def test_expand_adds_the_expressions_once_and_not_those_already_there():
    assert LIST.expand("vieux canapé") == "vieux canapé meubles encombrants"
    assert LIST.expand("canapé et meubles") == "canapé et meubles encombrants"
    assert LIST.expand("horaires de la piscine") == "horaires de la piscine"


def test_gate_coverage_counts_a_key_through_its_expression():
    stats = stats_of([HOUSING, POOL])
    q = "Ma demande de HLM est valable combien de temps ?"
    plain = topic_coverage(q, [HOUSING], stats)
    expanded = topic_coverage(q, [HOUSING], stats, LIST.alternatives(q))
    assert plain < 0.45 < expanded  # "hlm", in no document, weighs most (the gate: 0.45)
    # an expression counts only when all its words are found
    assert topic_coverage(q, [POOL], stats, LIST.alternatives(q)) < 0.5


def test_on_topic_accepts_the_key_when_the_sources_hold_its_expression():
    stats = stats_of([HOUSING, POOL])
    q = "Ma demande de HLM est valable combien de temps ?"
    sentence = "Une demande de HLM est valable un an."
    cited = set(encode_stems(HOUSING))
    assert foreign_question_terms(sentence, q, cited, stats) == ["hlm"]
    assert foreign_question_terms(sentence, q, cited, stats, LIST.alternatives(q)) == []
    pool = set(encode_stems(POOL))
    assert foreign_question_terms(sentence, q, pool, stats, LIST.alternatives(q)) == ["hlm"]


def encode_stems(chunk: Chunk) -> list[str]:
    from assistant.core.text import content_stems

    return content_stems(f"{chunk.title} {chunk.section} {chunk.text}")


def test_subject_judge_reads_the_key_as_its_expression():
    stats = stats_of([HOUSING, POOL])
    q = "Ma demande de HLM est valable combien de temps ?"
    rows = [(f"{c.title} {c.section}", c.text) for c in (HOUSING, POOL)]
    judge = SubjectJudge.for_question(q, rows, stats, 0.3, 0.15, LIST.alternatives(q))
    assert "hlm" in judge.stems  # kept: the corpus has "logement social"
    assert judge.unit("Demande de logement social : valable un an.") > judge.unit(
        "Une demande est valable un an."
    )


def test_starter_list_reads_and_covers_the_usual_abbreviations():
    starter = Synonyms.read(STARTER)
    for q, word in [
        ("faire une CNI", "carte nationale d'identité"),
        ("prendre RDV", "rendez-vous"),
        ("demande HLM", "logement social"),
        ("droits CAF", "caisse d'allocations familiales"),
        ("signer un PACS", "pacte civil de solidarité"),
        ("toucher les APL", "aide personnalisée au logement"),
        ("le RSA", "revenu de solidarité active"),
        ("jeter un canapé", "encombrants"),
    ]:
        assert set(content_stems(word)) <= set(content_stems(starter.expand(q))), q


def test_expand_adds_only_the_words_the_question_lacks():
    # Repeating "carte" and "identité" doubled their BM25 weight: the lost-property page, short
    # and naming both, came before the ID card's own page for "carte identite passeport".
    starter = Synonyms.read(STARTER)
    assert starter.expand("carte identite passeport") == "carte identite passeport"
    assert starter.expand("faire une CNI") == "faire une CNI carte nationale identité"


def test_bad_files_say_why_in_french(tmp_path: Path):
    bad = tmp_path / "synonyms.toml"
    bad.write_text('[synonymes]\n"HLM" = 3\n', encoding="utf-8")
    with pytest.raises(SynonymsError, match="HLM"):
        Synonyms.read(bad)
    bad.write_text("[synonymes\n", encoding="utf-8")
    with pytest.raises(SynonymsError, match="illisible"):
        Synonyms.read(bad)
    with pytest.raises(SynonymsError, match="introuvable"):
        SynonymsFile(tmp_path / "absent.toml")


def test_the_data_folder_list_wins_and_an_edit_applies_a_broken_one_keeps_the_last(
    tmp_path: Path,
):
    assert synonyms_path(None, tmp_path) == STARTER
    own = tmp_path / "synonyms.toml"
    own.write_text('[synonymes]\n"piscine" = ["centre nautique"]\n', encoding="utf-8")
    assert synonyms_path(None, tmp_path) == own
    assert synonyms_path(tmp_path / "x.toml", tmp_path) == tmp_path / "x.toml"
    live = SynonymsFile(own)
    assert live.get().expand("piscine") == "piscine centre nautique"
    own.write_text('[synonymes]\n"piscine" = ["bassin"]\n', encoding="utf-8")
    later = time.time() + 5
    os.utime(own, (later, later))
    assert live.get().expand("piscine") == "piscine bassin"
    own.write_text("[synonymes\n", encoding="utf-8")
    os.utime(own, (later + 5, later + 5))
    assert live.get().expand("piscine") == "piscine bassin"


def test_pipeline_gate_passes_hlm_with_the_list_and_not_without(tmp_path: Path):
    empty = tmp_path / "none.toml"
    empty.write_text("[synonymes]\n", encoding="utf-8")
    own = tmp_path / "synonyms.toml"
    own.write_text('[synonymes]\n"HLM" = ["logement social"]\n', encoding="utf-8")
    q = "Ma demande de HLM est valable combien de temps ?"
    coverages = []
    for path in (empty, own):
        a = Assistant(
            Settings(synonyms_path=path),
            generator=ScriptedGenerator("AUCUNE_SOURCE"),
            embedder=HashEmbedder(),
            retriever=MemoryRetriever([HOUSING, POOL]),
        )
        coverages.append(a.retrieve(a.with_synonyms(Query.parse(q, 500))).coverage)
    assert coverages[0] < coverages[1]
