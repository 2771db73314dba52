"""Choices between close documents: the rule (assistant.retrieval.choices) and the pipeline's
restriction to the chosen document, with fakes (no model, no index)."""

from __future__ import annotations

from collections import Counter

from assistant.core.answer import Chunk, DoneEvent
from assistant.core.settings import Settings
from assistant.index.sparse import encode_document
from assistant.pipeline import Assistant
from assistant.retrieval.choices import ChoiceRule, choice_key, choices_for, close_documents
from assistant.retrieval.relevance import TermStats
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator


def chunk(doc: str, score: float, text: str, n: int = 0, title: str = "") -> Chunk:
    return Chunk(chunk_id=f"{doc}#{n}", doc_id=doc, text=text, title=title or doc, score=score)


CAR = "La franchise de votre assurance auto reste à votre charge après un sinistre."
HOME = "La franchise de l'assurance habitation reste à votre charge après un sinistre."
PASSPORT = "Le passeport se demande en mairie sur rendez-vous."


def stats_of(chunks: list[Chunk]) -> TermStats:
    df: Counter[int] = Counter()
    for c in chunks:
        df.update(set(encode_document(c.text)[0]))
    return TermStats(len(chunks), dict(df))


RULE = ChoiceRule(margin=0.05, min_coverage=0.8, max_choices=3)
Q = "Qu'est-ce que la franchise d'assurance après un sinistre ?"


def test_close_siblings_are_offered_first_one_first():
    chunks = [chunk("F1", 0.97, CAR), chunk("F2", 0.95, HOME), chunk("F3", 0.60, PASSPORT)]
    close = close_documents(Q, chunks, stats_of(chunks), RULE)
    assert [doc[0].doc_id for doc in close] == ["F1", "F2"]


def test_a_clear_first_document_gets_no_choice():
    chunks = [chunk("F1", 0.97, CAR), chunk("F2", 0.80, HOME)]
    assert close_documents(Q, chunks, stats_of(chunks), RULE) == []


def test_passages_of_one_document_are_no_choice():
    chunks = [chunk("F1", 0.97, CAR), chunk("F1", 0.96, HOME, n=1)]
    assert close_documents(Q, chunks, stats_of(chunks), RULE) == []


def test_a_close_score_on_another_subject_is_no_choice():
    # within the margin, but its passage covers little of the question
    chunks = [chunk("F1", 0.97, CAR), chunk("F3", 0.96, PASSPORT)]
    assert close_documents(Q, chunks, stats_of(chunks), RULE) == []


def test_at_most_max_choices_and_the_margin_counts_from_the_first():
    chunks = [chunk(f"F{i}", 0.97 - 0.01 * i, CAR if i % 2 else HOME) for i in range(6)]
    close = close_documents(Q, chunks, stats_of(chunks), RULE)
    assert [doc[0].doc_id for doc in close] == ["F0", "F1", "F2"]
    wider = close_documents(Q, chunks, stats_of(chunks), ChoiceRule(0.05, 0.8, max_choices=5))
    assert [doc[0].doc_id for doc in wider] == ["F0", "F1", "F2", "F3", "F4"]
    none = close_documents(Q, chunks, stats_of(chunks), ChoiceRule(0.0, 0.8, max_choices=3))
    assert none == []


def test_choice_carries_title_excerpt_and_an_opaque_key():
    long = CAR + " " + "Le montant figure dans les conditions particulières du contrat. " * 5
    chunks = [chunk("auto/F1.md", 0.97, long, title="Franchise auto"), chunk("F2", 0.95, HOME)]
    choices = choices_for(Q, chunks, stats_of(chunks), RULE)
    first = choices[0]
    assert first.doc_id == "auto/F1.md" and first.title == "Franchise auto"
    assert first.key == choice_key("auto/F1.md") and "auto" not in first.key
    assert len(first.excerpt) <= 161 and first.excerpt.endswith("…")
    assert choice_key("F2") != choice_key("F3")


# --- the pipeline: choices in the Answer, a restricted question answers from one document ---
CAR_PAGE = Chunk(
    chunk_id="auto#0",
    doc_id="auto",
    title="Franchise d'assurance",
    section="Assurance auto",
    text="La franchise d'assurance auto est la somme qui reste à votre charge : 300 €.",
)
HOME_PAGE = Chunk(
    chunk_id="habitation#0",
    doc_id="habitation",
    title="Franchise d'assurance",
    section="Assurance habitation",
    text="La franchise d'assurance habitation est la somme qui reste à votre charge : 150 €.",
)


def assistant(margin: float = 0.5) -> Assistant:
    settings = Settings(choice_margin=margin, choice_min_coverage=0.5, gate_min_dense=0.5)
    return Assistant(
        settings,
        generator=ScriptedGenerator("1.1"),
        embedder=HashEmbedder(),
        retriever=MemoryRetriever([CAR_PAGE, HOME_PAGE]),
    )


def test_pipeline_offers_choices_and_a_restricted_question_has_none():
    a = assistant()
    answer = a.ask("Quelle est la franchise d'assurance ?")
    assert {c.doc_id for c in answer.choices} == {"auto", "habitation"}
    restricted = a.ask("Quelle est la franchise d'assurance ?", document="habitation")
    assert restricted.choices == [] and restricted.document == "habitation"
    assert {c.doc_id for c in restricted.retrieved} == {"habitation"}
    assert restricted.sources and {s.doc_id for s in restricted.sources} == {"habitation"}


def test_restricted_and_open_answers_are_cached_apart():
    a = assistant()
    events = list(a.events("Quelle est la franchise d'assurance ?", document="auto"))
    done = next(e for e in events if isinstance(e, DoneEvent)).answer
    assert {c.doc_id for c in done.retrieved} == {"auto"}
    assert a.ask("Quelle est la franchise d'assurance ?").choices


def test_no_choices_when_one_page_names_what_is_asked():
    # within the margin, but "auto" (the rarest word asked) is not on the other page
    answer = assistant(margin=0.5).ask("Quelle est la franchise d'assurance auto ?")
    assert answer.choices == [] and answer.retrieved[0].doc_id == "auto"
