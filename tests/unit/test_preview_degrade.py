"""The exact preview streamed before the model, the recent pace, and the cheaper answers a
slow machine gets instead of a time-out (issue 20, items 1 and 3). Fakes only: the real gate,
subject check, unit selection and verdicts run; the model's speed is a fake clock's."""

from __future__ import annotations

import pytest

from assistant.answering.degrade import Budget, fit
from assistant.core import messages as msg
from assistant.core.answer import (
    DoneEvent,
    PreviewEvent,
    Reason,
    SentenceEvent,
    Source,
    SourcesEvent,
    Verdict,
)
from assistant.core.settings import Settings
from assistant.generation.base import GenerationTimeout, Usage
from assistant.generation.pace import Pace, Sample
from assistant.pipeline import Assistant
from tests.fakes import FakeClock, HashEmbedder, MemoryRetriever, PacedGenerator, ScriptedGenerator
from tests.unit.test_pipeline_fakes import CORPUS, assistant_with, choose
from ui.public import public_answer

SUNDAY = "La piscine est-elle ouverte le dimanche ?"


# --- the preview ---------------------------------------------------------------------------


class Watching(ScriptedGenerator):
    """Notes, in a shared log, when the model is first asked for a token."""

    def __init__(self, reply, log: list[str]) -> None:
        super().__init__(reply)
        self.log = log

    def stream(self, messages, grammar, max_tokens, usage: Usage):
        self.log.append("model")
        yield from super().stream(messages, grammar, max_tokens, usage)


@pytest.mark.parametrize("mode", ["quote", "paraphrase"])
def test_the_preview_is_streamed_before_the_model_is_asked(mode):
    log: list[str] = []
    reply = choose("Dimanche : de 9 h") if mode == "quote" else "Le dimanche de 9 h à 12 h. [1]\n"
    generator = Watching(reply, log)
    assistant = Assistant(
        Settings(answer_mode=mode),
        generator=generator,
        embedder=HashEmbedder(),
        retriever=MemoryRetriever(CORPUS),
    )
    kinds = []
    for event in assistant.events(SUNDAY):
        if isinstance(event, PreviewEvent):
            assert log == []  # no model token yet
            preview = event.preview
        kinds.append(event.kind)
    assert kinds.index("sources") < kinds.index("preview") < kinds.index("done")
    assert preview.sentence.text == "Dimanche : de 9 h à 12 h"
    assert preview.source.doc_id == "piscine" and preview.sentence.text in preview.source.excerpt
    assert preview.sentence.source_ids == [preview.source.id]
    answer = event.answer
    assert answer.preview == preview  # the evals see it
    assert answer.timings.first_content_ms is not None
    assert answer.timings.first_content_ms <= answer.timings.total_ms


def test_the_preview_passes_the_subject_check_like_an_answer():
    # The médiathèque's "Adulte habitant la commune : 12,00 €" covers "adulte" as well as the
    # pool's row does; it is another service's price and must never be the preview.
    assistant, _ = assistant_with(choose("Entrée adulte"))
    answer = assistant.ask("C'est combien l'entrée adulte à la piscine ?")
    assert answer.preview is not None
    assert answer.preview.sentence.text == "Entrée adulte : 4,50 €"
    assert answer.preview.source.doc_id == "piscine"


def test_a_question_no_document_answers_gets_no_preview():
    assistant, generator = assistant_with(choose("Dimanche"))
    events = list(assistant.events("Quels sont les horaires de la patinoire ?"))
    assert not any(isinstance(e, PreviewEvent) for e in events)
    answer = events[-1].answer
    assert answer.verdict is Verdict.refused and answer.preview is None
    assert generator.prompts == []


def test_without_the_kind_of_fact_asked_there_is_no_preview():
    # Right subject, but no unit holds a phone number: nothing the preview may show.
    assistant, _ = assistant_with("AUCUNE_SOURCE")
    answer = assistant.ask("Quel est le numéro de téléphone de la piscine ?")
    assert answer.preview is None


# --- the pace ------------------------------------------------------------------------------


def test_the_pace_knows_nothing_before_a_measure():
    pace = Pace()
    assert pace.estimate_s(900, 10) is None and not pace.measured
    assert pace.typical_output(40) == 40


def test_the_pace_is_the_median_of_recent_generations():
    pace = Pace(window=3)
    for read_s in (10.0, 100.0, 9.0, 8.0):  # the first falls out of the window
        pace.record(Sample(prompt_tokens=900, read_s=read_s, output_tokens=11, write_s=1.0))
    assert pace.read_tps() == pytest.approx(900 / 9.0)
    assert pace.write_tps() == pytest.approx(10.0)
    assert pace.estimate_s(450, 21) == pytest.approx(4.5 + 2.0)
    assert pace.typical_output(40) == 11


def test_timings_come_from_the_stream_itself():
    clock = FakeClock()
    pace = Pace(clock=clock)
    generator = PacedGenerator("1.1, 1.2", clock, read_tps=50.0, write_tps=10.0)
    usage = Usage()
    messages = [{"role": "user", "content": "x" * 330}]  # 100 approximate tokens
    assert "".join(pace.timed(generator.stream(messages, "", 40, usage), usage)) == "1.1, 1.2 "
    assert pace.read_tps() == pytest.approx(50.0)
    assert pace.write_tps() == pytest.approx(10.0)


def test_a_timeout_before_the_first_token_still_teaches_the_pace():
    clock = FakeClock()
    pace = Pace(clock=clock)
    generator = PacedGenerator("1.1", clock, read_tps=2.0, write_tps=1.0, timeout_s=120.0)
    usage = Usage()
    with pytest.raises(GenerationTimeout):
        list(pace.timed(generator.stream([{"content": "x" * 3300}], "", 40, usage), usage, 1000))
    assert pace.read_tps() == pytest.approx(1000 / 120.0)  # at most this fast


# --- degrading -----------------------------------------------------------------------------


def _source(n: int, words: int) -> Source:
    return Source(id=n, chunk_id=f"c{n}", doc_id="d", title="t", excerpt="mot " * words)


def _budget(read_tps: float, seconds: float) -> Budget:
    pace = Pace()
    pace.record(Sample(prompt_tokens=1000, read_s=1000 / read_tps, output_tokens=1, write_s=0))
    return Budget(pace, seconds, lambda text: len(text.split()), max_tokens=1)


def _build(sources: list[Source]) -> list[dict[str, str]]:
    return [{"role": "user", "content": " ".join(s.excerpt for s in sources)}]


def test_fit_keeps_the_context_in_budget():
    full = [_source(1, 300), _source(2, 300)]
    sources, note = fit(_budget(100.0, 10.0), _build, full, lambda t: full[:1], 700)
    assert sources == full and note == ""


def test_fit_halves_the_context_over_budget():
    full, half = [_source(1, 300), _source(2, 300)], [_source(1, 300)]
    asked: list[int] = []

    def select(tokens: int) -> list[Source]:
        asked.append(tokens)
        return half

    # 600 words at 100/s = 6 s > 4 s; 300 words = 3 s fits
    sources, note = fit(_budget(100.0, 4.0), _build, full, select, 700)
    assert sources == half and asked == [350]
    assert "contexte réduit" in note


def test_fit_gives_up_when_even_half_is_over_budget():
    full, half = [_source(1, 300), _source(2, 300)], [_source(1, 300)]
    sources, note = fit(_budget(10.0, 4.0), _build, full, lambda t: half, 700)
    assert sources is None and "extrait seul" in note


def test_no_budget_or_no_measure_never_degrades():
    assert not Budget(None, 1.0, len, 1).over([{"content": "x" * 10_000}])
    assert not _budget(1.0, 0.0).over([{"content": "mot " * 10_000}])  # 0 = off


def _paced_assistant(mode: str, read_tps: float, budget_s: float, timeout_s: float = 1e9):
    clock = FakeClock()
    reply = (
        choose("Dimanche : de 9 h", "Mercredi : de 10 h")
        if mode == "quote"
        else "Le dimanche de 9 h à 12 h. [1]\n"
    )
    generator = PacedGenerator(reply, clock, read_tps, write_tps=10.0, timeout_s=timeout_s)
    assistant = Assistant(
        Settings(answer_mode=mode, answer_budget_s=budget_s),
        generator=generator,
        embedder=HashEmbedder(),
        retriever=MemoryRetriever(CORPUS),
    )
    assistant.pace = Pace(clock=clock)
    return assistant, generator


def test_a_quiet_machine_answers_with_the_model():
    assistant, generator = _paced_assistant("quote", read_tps=100.0, budget_s=40.0)
    first = assistant.ask(SUNDAY)
    second = assistant.ask("Quand la piscine est-elle ouverte le mercredi ?")
    assert len(generator.prompts) == 2 and assistant.pace.measured
    assert first.verdict is Verdict.answered and second.verdict is Verdict.answered
    assert Reason.busy_short not in second.reasons


@pytest.mark.parametrize("mode", ["quote", "paraphrase"])
def test_a_slow_machine_gets_the_exact_excerpt_instead_of_a_timeout(mode):
    # ~500 prompt tokens at 5 tokens/s: ~100 s, over a 40 s budget even at half the context.
    assistant, generator = _paced_assistant(mode, read_tps=5.0, budget_s=40.0)
    first = assistant.ask("Quand la piscine est-elle ouverte le mercredi ?")  # measures the pace
    assert len(generator.prompts) == 1 and Reason.busy_short not in first.reasons
    events = list(assistant.events(SUNDAY))
    assert len(generator.prompts) == 1  # the model was not asked
    answer = events[-1].answer
    assert answer.verdict is Verdict.quoted and answer.reasons == [Reason.busy_short]
    assert [s.text for s in answer.sentences] == ["Dimanche : de 9 h à 12 h"]
    assert answer.preview is not None and answer.sentences == [answer.preview.sentence]
    assert answer.text.startswith(msg.BUSY_SHORT_LEAD)
    assert [s.doc_id for s in answer.cited_sources] == ["piscine"]
    assert "extrait seul" in answer.detail
    kinds = [e.kind for e in events]
    assert kinds == ["sources", "preview", "sentence", "done"]
    public = public_answer(answer, "x")
    assert public.label == msg.BUSY_SHORT_LABEL and "vérifié" not in public.label
    assert public.reason is Reason.busy_short
    # a busy minute's short answer is not kept for the quiet ones
    assistant.pace = Pace()
    assert Reason.cached not in assistant.ask(SUNDAY).reasons


def test_a_timeout_that_still_happens_is_a_timeout_with_a_retry():
    # Nothing measured yet (first answer of the process): no degrading on a guess.
    assistant, generator = _paced_assistant("quote", read_tps=1.0, budget_s=40.0, timeout_s=120.0)
    answer = assistant.ask(SUNDAY)
    assert answer.verdict is Verdict.refused and answer.reasons == [Reason.timeout]
    assert answer.suggestions is not None and answer.suggestions.retry
    assert msg.REFUSAL_LEAD[Reason.no_match] not in answer.text
    assert answer.preview is not None  # it was streamed while the model ran out of time
    # The time-out taught the pace: the next question is answered short, not timed out.
    again = assistant.ask("Quand la piscine est-elle ouverte le mercredi ?")
    assert again.reasons == [Reason.busy_short] and len(generator.prompts) == 1


def test_the_busy_label_and_the_timeout_are_no_content_gap():
    from assistant.records.feedback import NOT_CONTENT_GAPS

    assert Reason.timeout in NOT_CONTENT_GAPS
    assert Reason.busy_short not in msg.REFUSAL_LEAD  # an excerpt, never a refusal


def test_events_order_without_degrading():
    assistant, _ = assistant_with(choose("Dimanche : de 9 h"))
    events = list(assistant.events(SUNDAY))
    assert isinstance(events[0], SourcesEvent) and isinstance(events[1], PreviewEvent)
    assert isinstance(events[-2], SentenceEvent) and isinstance(events[-1], DoneEvent)


# --- front ends ----------------------------------------------------------------------------


def _preview():
    assistant, _ = assistant_with(choose("Dimanche : de 9 h"))
    preview = assistant.ask(SUNDAY).preview
    assert preview is not None
    return preview


def test_the_stream_sends_the_preview_labelled_as_an_excerpt():
    import json

    from ui.sse import sse_bytes

    raw = sse_bytes(PreviewEvent(preview=_preview()))
    assert raw is not None and raw.startswith(b"event: preview\ndata: ")
    data = json.loads(raw.split(b"data: ", 1)[1])
    assert data["label"] == msg.PREVIEW_LABEL
    assert data["sentence"]["text"] == "Dimanche : de 9 h à 12 h"
    assert data["sentence"]["text"] in data["source"]["excerpt"]
    assert data["source"]["title"] == "Piscine municipale des Cigales"
    # public fields only: no document ids, no checks
    assert "doc_id" not in data["source"] and "checks" not in data["sentence"]


def test_the_desk_shows_the_preview_highlighted_until_the_answer():
    from ui import desk_render as render

    html = render.preview_html(_preview())
    assert msg.PREVIEW_LABEL in html and "<mark>Dimanche : de 9 h à 12 h</mark>" in html
    assert render.preview_html(None) == ""
    badge = render.verdict_badge("quoted", "quote", short=True)
    assert "service très sollicité" in badge


def test_retry_after_is_the_measured_answer_time_times_the_answers_ahead():
    from ui.queue import QueueFull, WorkQueue

    now = [0.0]
    queue = WorkQueue(max_waiting=1, seconds_per_job=10.0, clock=lambda: now[0])

    def job(seconds: float):
        def work():
            now[0] += seconds
            yield "done"

        return work

    running = queue.stream(job(30.0))
    next(running)  # being answered
    waiting = queue.stream(job(30.0))
    next(waiting)  # Waiting(1)
    with pytest.raises(QueueFull) as full:
        next(queue.stream(job(30.0)))
    assert full.value.retry_after == 20  # nothing measured yet: 2 ahead × the 10 s guess
    list(running)
    list(waiting)
    assert queue.recent_job_seconds == 30.0
    running, waiting = queue.stream(job(30.0)), queue.stream(job(30.0))
    next(running), next(waiting)
    with pytest.raises(QueueFull) as full:
        next(queue.stream(job(30.0)))
    assert full.value.retry_after == 60  # 2 ahead × 30 s measured
    assert msg.BUSY.format(seconds=full.value.retry_after).endswith("60 secondes.")
