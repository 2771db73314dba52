"""The answer pipeline over the real demo index.

Two kinds of generator: crafted outputs (a model that lies on purpose, to prove the decision
logic rejects what it must — a real model cannot be made to lie on demand), and the real small
GGUF through llama.cpp for the plumbing (grammar, streaming, token counts).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from assistant.core import messages as msg
from assistant.core.answer import Reason, Verdict
from assistant.generation.base import Usage
from assistant.generation.prompt import NOT_FOUND, citation_grammar, parse_line
from assistant.pipeline import Assistant, QuestionRejected

pytestmark = pytest.mark.model


class CraftedGenerator:
    """Returns a fixed text as if a model had written it (see module docstring)."""

    name = "crafted"
    backend = "crafted"

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 3)

    def stream(self, messages, grammar, max_tokens, usage: Usage) -> Iterator[str]:
        self.calls += 1
        usage.prompt_tokens, usage.output_tokens = 100, 10
        for i in range(0, len(self.text), 7):
            yield self.text[i : i + 7]


@pytest.fixture(scope="module")
def demo(demo_settings):
    # The crafted lines below are paraphrase-mode output ("text [n]"); quote mode has its own
    # tests at the end of this file.
    return demo_settings.updated({"answer_mode": "paraphrase"})


@pytest.fixture(scope="module")
def quote(demo_settings):
    return demo_settings.updated({"answer_mode": "quote"})


def crafted(demo, text: str) -> tuple[Assistant, CraftedGenerator]:
    gen = CraftedGenerator(text)
    return Assistant(demo, generator=gen), gen


def test_supported_sentence_is_delivered_with_its_source(demo):
    assistant, _ = crafted(demo, "Le tarif adulte de la piscine est de 4,50 € [1]\n")
    answer = assistant.ask("Combien coûte la piscine pour un adulte ?")
    assert answer.verdict == Verdict.answered, answer.rejected
    assert answer.sentences[0].source_ids
    cited = answer.cited_sources[0]
    assert cited.doc_id == "piscine-municipale.md" and "4,50 €" in cited.excerpt
    assert "[1]" in answer.text or "[" in answer.text


def test_invented_phone_is_dropped_and_falls_back(demo):
    assistant, _ = crafted(demo, "Appelez le maître-nageur au 01 99 00 99 99 [1]\n")
    answer = assistant.ask("Quel est le numéro de la piscine ?")
    assert not any("01 99 00 99 99" in s.text for s in answer.sentences)
    assert answer.rejected and answer.verdict in (Verdict.quoted, Verdict.refused)
    assert "01 99 00 99 99" not in answer.text


def test_non_given_source_id_rejected(demo):
    assistant, _ = crafted(demo, "La piscine ouvre le mercredi de 10 h à 18 h [9]\n")
    answer = assistant.ask("Horaires de la piscine le mercredi ?")
    assert all(9 not in s.source_ids for s in answer.sentences)
    assert any(c.name == "citations" and not c.passed for s in answer.rejected for c in s.checks)


def test_wrong_citation_number_is_corrected_and_recorded(demo):
    assistant, _ = crafted(demo, "Le mercredi, la piscine est ouverte de 10 h à 18 h [3]\n")
    answer = assistant.ask("Quels sont les horaires de la piscine le mercredi ?")
    if answer.verdict == Verdict.answered:
        sentence = answer.sentences[0]
        assert any(c.name == "citation_corrected" for c in sentence.checks)
        source = next(s for s in answer.sources if s.id == sentence.source_ids[0])
        assert "10 h à 18 h" in source.excerpt


def test_model_says_not_found_gives_orientation(demo):
    assistant, _ = crafted(demo, NOT_FOUND)
    answer = assistant.ask("Quels sont les horaires de la piscine ?")
    assert answer.verdict == Verdict.refused
    assert answer.orientation and "01 99 00 10 00" in answer.orientation
    assert answer.sentences == []


def test_out_of_corpus_question_refused_before_the_model(demo):
    assistant, gen = crafted(demo, "N'importe quoi [1]\n")
    answer = assistant.ask("Quel est le cours de l'action Airbus à la bourse de Tokyo ?")
    assert answer.verdict == Verdict.refused and gen.calls == 0
    assert answer.orientation


def test_question_validation(demo):
    assistant, _ = crafted(demo, NOT_FOUND)
    with pytest.raises(QuestionRejected, match="trop longue"):
        assistant.ask("piscine " * 200)
    with pytest.raises(QuestionRejected, match="vide"):
        assistant.ask("   \n\t ")


def test_events_release_sentences_only_after_checks(demo):
    text = "Le tarif adulte est de 4,50 € [1]\nLe tarif adulte est de 9,99 € [1]\n"
    assistant, _ = crafted(demo, text)
    events = list(assistant.events("Combien coûte la piscine pour un adulte ?"))
    kinds = [e.kind for e in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    released = [e.sentence.text for e in events if e.kind == "sentence"]
    assert all("9,99" not in t for t in released)
    assert events[-1].answer.verdict == Verdict.partial


def test_repeated_question_served_from_cache(demo):
    assistant, gen = crafted(demo, "Le tarif adulte est de 4,50 € [1]\n")
    first = assistant.ask("Combien coûte la piscine pour un adulte ?")
    second = assistant.ask("combien coute la piscine pour un adulte")
    assert gen.calls == 1 and second.sentences == first.sentences
    assert second.timings.total_ms < 50


def test_grammar_and_parser_agree():
    grammar = citation_grammar([1, 3])
    assert '"1" | "3"' in grammar and NOT_FOUND in grammar
    assert parse_line("Ouvert le lundi. [1, 3]") == ("Ouvert le lundi.", [1, 3])
    assert parse_line("Sans citation.") is None
    assert parse_line(f"Ouvert le lundi. {NOT_FOUND} [1]") == ("Ouvert le lundi.", [1])


def test_real_small_model_streams_a_contract_answer(demo, small_llm):
    settings = demo.updated({"llm_path": small_llm, "llm_max_tokens": 80})
    assistant = Assistant(settings)
    answer = assistant.ask("Quels sont les tarifs de la piscine ?")
    assert answer.prompt_tokens > 50 and answer.model.startswith("smollm2")
    given = {s.id for s in answer.sources}
    for sentence in answer.sentences:
        assert sentence.source_ids and set(sentence.source_ids) <= given
    if answer.verdict == Verdict.refused:
        assert answer.orientation


def test_decorated_not_found_marker_is_a_refusal_not_a_sentence(demo):
    assistant, _ = crafted(demo, f"{NOT_FOUND} [1]\n")
    answer = assistant.ask("Quels sont les horaires de la piscine ?")
    assert answer.verdict == Verdict.refused and answer.rejected == []


def test_not_found_marker_trailing_a_claim_is_never_shown(demo):
    # seen on spf-105: "… Se munir de vos identifiants ou via France Connect. AUCUNE_SOURCE [1]"
    assistant, _ = crafted(demo, f"Le tarif adulte de la piscine est de 4,50 €. {NOT_FOUND} [1]\n")
    answer = assistant.ask("Combien coûte la piscine pour un adulte ?")
    assert answer.verdict == Verdict.answered
    assert NOT_FOUND not in answer.text
    assert answer.sentences[0].text == "Le tarif adulte de la piscine est de 4,50 €."


def test_repeated_sentence_is_delivered_once(demo):
    line = "Le tarif adulte de la piscine est de 4,50 € [1]\n"
    assistant, _ = crafted(demo, line * 3)
    answer = assistant.ask("Combien coûte la piscine pour un adulte ?")
    assert len(answer.sentences) == 1 and answer.verdict == Verdict.answered


def test_last_line_without_newline_is_streamed_too(demo):
    assistant, _ = crafted(demo, "Le tarif adulte de la piscine est de 4,50 € [1]")
    events = list(assistant.events("Combien coûte la piscine pour un adulte ?"))
    streamed = [e.sentence for e in events if e.kind == "sentence"]
    assert streamed and streamed == events[-1].answer.sentences


def test_prompt_lookup_decoding_reads_prompts_longer_than_a_batch(small_llm):
    """``GUICHET_LLM_PROMPT_LOOKUP``: llama-cpp-python sized its logits buffer for one batch
    (512 tokens) with a draft model, and crashed on our ~900-token prompts."""
    from assistant.generation.local import LlamaCppGenerator

    gen = LlamaCppGenerator(small_llm, threads=1, n_ctx=2048, prompt_lookup=True)
    sources = "La piscine des Cigales est ouverte de 10 h à 19 h pendant les vacances. " * 60
    messages = [
        {"role": "system", "content": "Réponds en français avec les SOURCES."},
        {"role": "user", "content": f"SOURCES :\n[1] {sources}\n\nQUESTION : horaires ?"},
    ]
    usage = Usage()
    text = "".join(gen.stream(messages, citation_grammar([1]), 24, usage))
    assert usage.prompt_tokens > 512 and usage.output_tokens > 0 and text


def test_quote_mode_shows_the_chosen_unit_verbatim(quote):
    gen = CraftedGenerator("1.1")
    answer = Assistant(quote, generator=gen).ask("C'est combien l'entrée adulte à la piscine ?")
    assert answer.mode.value == "quote" and answer.verdict == Verdict.answered, answer.reasons
    offered = {u.id: u.text for s in answer.sources for u in s.units}
    assert [s.text for s in answer.sentences] == [offered["1.1"]]
    assert answer.sentences[0].unit_id == "1.1"
    assert answer.text.startswith(msg.QUOTE_LEAD)
    # nothing of another subject was even offered to the model
    assert {s.doc_id for s in answer.sources} == {"piscine-municipale.md"}


def test_quote_mode_not_found_and_unknown_subject_are_refused(quote):
    gen = CraftedGenerator(NOT_FOUND)
    answer = Assistant(quote, generator=gen).ask("Quels sont les tarifs de la piscine ?")
    assert answer.verdict == Verdict.refused and answer.reasons == [Reason.model_declined]
    gen = CraftedGenerator("1.1")
    answer = Assistant(quote, generator=gen).ask("Horaires de la patinoire le dimanche ?")
    assert answer.verdict == Verdict.refused and not answer.sentences
    assert gen.calls == 0  # refused before any model call


def test_quote_mode_off_point_excerpt_is_quoted_not_answered(quote):
    # The holiday closure is a true sentence of the right page, and no answer to "Sunday".
    question = "La piscine est-elle ouverte le dimanche ?"
    probe = Assistant(quote, generator=CraftedGenerator(NOT_FOUND))
    offered = {u.text: u.id for s in probe.ask(question).sources for u in s.units}
    closed = next(uid for text, uid in offered.items() if "fériés" in text)
    answer = Assistant(quote, generator=CraftedGenerator(closed)).ask(question)
    assert answer.verdict == Verdict.quoted, answer.reasons
    assert answer.reasons == [Reason.off_point]


def test_paraphrase_inverting_its_source_is_dropped(demo):
    # The case: every word of "fermée le dimanche" is in the déchetterie page, which
    # gives Sunday hours; the meaning checks catch what the lexical ones let through.
    assistant, _ = crafted(demo, "La déchetterie est fermée le dimanche. [1]\n")
    answer = assistant.ask("La déchetterie est-elle ouverte le dimanche ?")
    assert not any("fermée le dimanche" in s.text for s in answer.sentences), answer.text
    # What may remain is the page's own words, quoted verbatim and labelled as such.
    assert answer.verdict in (Verdict.quoted, Verdict.refused), answer.verdict
    failed = {c.name for s in answer.rejected for c in s.checks if not c.passed}
    assert failed & {"polarity", "periods"}, answer.rejected
