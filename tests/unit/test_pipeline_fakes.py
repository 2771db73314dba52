"""The whole answer pipeline with fakes in place of the models and of Qdrant.

The real gate, subject check, unit selection, grammar, verdict and rendering run; only the
embedder, the retriever's index and the model's choice are scripted. The model's choice is what
a weak model may get wrong: these tests check what guichet makes of each choice.
"""

from __future__ import annotations

import re

import pytest

from assistant.core.answer import AnswerMode, Chunk, DoneEvent, Reason, SourcesEvent, Verdict
from assistant.core.settings import Settings
from assistant.generation.base import GenerationTimeout, Usage
from assistant.pipeline import Assistant
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator

POOL = Chunk(
    chunk_id="piscine#0",
    doc_id="piscine",
    title="Piscine municipale des Cigales",
    section="Horaires d'ouverture",
    text=(
        "En période scolaire :\n"
        "- Mercredi : de 10 h à 18 h\n"
        "- Dimanche : de 9 h à 12 h\n"
        "La piscine est fermée les jours fériés."
    ),
)
POOL_PRICES = Chunk(
    chunk_id="piscine#1",
    doc_id="piscine",
    title="Piscine municipale des Cigales",
    section="Tarifs",
    text="- Entrée adulte : 4,50 €\n- Entrée enfant de moins de 12 ans : 2,50 €",
)
LIBRARY_PRICES = Chunk(
    chunk_id="mediatheque#0",
    doc_id="mediatheque",
    title="Médiathèque Jean-Moulin",
    section="Tarifs de l'abonnement",
    text="- Adulte habitant la commune : 12,00 €\n- Étudiants, demandeurs d'emploi : gratuit",
)
DUMP = Chunk(
    chunk_id="dechetterie#0",
    doc_id="dechetterie",
    title="Déchetterie des Garrigues",
    section="Horaires de la déchetterie",
    text=(
        "- Du lundi au samedi : de 8 h 30 à 12 h et de 14 h à 18 h\n"
        "- Dimanche : de 9 h à 12 h\n"
        "La déchetterie est fermée les jours fériés."
    ),
)
CORPUS = [POOL, POOL_PRICES, LIBRARY_PRICES, DUMP]


def choose(*needles: str):
    """A model that picks the numbered units containing ``needles`` in the last prompt."""

    def reply(messages: list[dict[str, str]]) -> str:
        prompt = messages[-1]["content"]
        ids = []
        for needle in needles:
            line = next((ln for ln in prompt.splitlines() if needle in ln), None)
            if line is not None and (m := re.match(r"\s*\[(\d+\.\d+)\]", line)):
                ids.append(m.group(1))
        return ", ".join(ids) or "AUCUNE_SOURCE"

    return reply


def assistant_with(reply, mode: str = "quote", **settings) -> tuple[Assistant, ScriptedGenerator]:
    generator = ScriptedGenerator(reply)
    s = Settings(answer_mode=mode, **settings)
    return (
        Assistant(
            s,
            generator=generator,
            embedder=HashEmbedder(),
            retriever=MemoryRetriever(CORPUS),
        ),
        generator,
    )


def test_quote_mode_shows_the_chosen_sentence_verbatim():
    assistant, generator = assistant_with(choose("Dimanche : de 9 h"))
    answer = assistant.ask("La piscine est-elle ouverte le dimanche ?")
    assert answer.mode is AnswerMode.quote
    assert answer.verdict is Verdict.answered, answer.reasons
    assert [s.text for s in answer.sentences] == ["Dimanche : de 9 h à 12 h"]
    cited = answer.cited_sources
    assert [s.doc_id for s in cited] == ["piscine"]
    assert answer.sentences[0].text in POOL.text  # the city's sentence, not the model's
    assert len(generator.prompts) == 1 and "unit ::=" in generator.grammars[0]


def test_another_services_price_is_not_delivered_with_the_pools():
    # demo-001: the model adds the médiathèque's adult price to the pool's.
    assistant, _ = assistant_with(choose("Entrée adulte", "Adulte habitant"))
    answer = assistant.ask("C'est combien l'entrée adulte à la piscine ?")
    delivered = [s.text for s in answer.sentences]
    assert "Entrée adulte : 4,50 €" in delivered
    assert not any("12,00" in t for t in delivered), delivered


def test_a_question_no_document_covers_never_reaches_the_model():
    assistant, generator = assistant_with(choose("Dimanche"))
    answer = assistant.ask("Quels sont les horaires de la patinoire ?")
    assert answer.verdict is Verdict.refused
    assert answer.reasons and answer.reasons[0] in (Reason.no_match, Reason.off_subject)
    assert generator.prompts == []
    assert answer.orientation and answer.text == answer.orientation


def test_the_model_declining_is_a_refusal():
    assistant, _ = assistant_with("AUCUNE_SOURCE")
    answer = assistant.ask("La piscine est-elle ouverte le dimanche ?")
    assert answer.verdict is Verdict.refused and answer.reasons == [Reason.model_declined]


def test_paraphrase_mode_drops_a_sentence_that_inverts_its_source():
    assistant, _ = assistant_with("La déchetterie est fermée le dimanche. [1]\n", mode="paraphrase")
    answer = assistant.ask("La déchetterie est-elle ouverte le dimanche ?")
    assert answer.sentences == [] or all(
        "fermée le dimanche" not in s.text for s in answer.sentences
    )
    assert answer.verdict is not Verdict.answered
    assert any("fermée le dimanche" in s.text for s in answer.rejected)


def test_a_timeout_is_reported_as_one_and_not_cached():
    class Slow(ScriptedGenerator):
        def stream(self, messages, grammar, max_tokens, usage: Usage):
            self.prompts.append(messages)
            raise GenerationTimeout("trop long")
            yield ""  # pragma: no cover

    generator = Slow("")
    assistant = Assistant(
        Settings(), generator=generator, embedder=HashEmbedder(), retriever=MemoryRetriever(CORPUS)
    )
    first = assistant.ask("La piscine est-elle ouverte le dimanche ?")
    assert first.verdict is Verdict.refused and first.reasons == [Reason.timeout]
    assistant.ask("La piscine est-elle ouverte le dimanche ?")
    assert len(generator.prompts) == 2  # asked again, not served from the cache


def test_a_finished_answer_is_cached_per_question():
    assistant, generator = assistant_with(choose("Dimanche : de 9 h"))
    assistant.ask("La piscine est-elle ouverte le dimanche ?")
    again = assistant.ask("la piscine est elle ouverte le dimanche")
    assert len(generator.prompts) == 1 and Reason.cached in again.reasons


def test_events_stream_sources_before_the_answer():
    assistant, _ = assistant_with(choose("Dimanche : de 9 h"))
    events = list(assistant.events("La piscine est-elle ouverte le dimanche ?"))
    assert isinstance(events[0], SourcesEvent) and isinstance(events[-1], DoneEvent)
    assert [e.kind for e in events].count("done") == 1


@pytest.mark.parametrize("mode", ["quote", "paraphrase"])
def test_the_answer_carries_what_retrieval_returned(mode):
    assistant, _ = assistant_with(choose("Dimanche : de 9 h"), mode=mode)
    answer = assistant.ask("La piscine est-elle ouverte le dimanche ?")
    assert answer.retrieved and answer.retrieved[0].doc_id == "piscine"


def test_an_excerpt_without_the_fact_asked_is_not_presented_as_the_answer():
    # demo-054: asked a deadline and a deposit, the model chose the forum's date; shown under
    # "Voici ce que disent les documents" it read as the answer.
    assistant, _ = assistant_with(choose("Dimanche : de 9 h"))
    answer = assistant.ask("Quels sont les horaires et le prix de la piscine ?")
    assert answer.verdict is Verdict.quoted and answer.reasons == [Reason.off_point]
    assert answer.text.startswith("Les documents de la commune ne donnent pas précisément")
    assert "Dimanche : de 9 h à 12 h" in answer.text
