"""The widget's choices between close documents, in Chromium: "Votre question porte sur : A / B"
as buttons; a click asks the same question again with the chosen document's key (and the same
history), and the restricted answer replaces nothing of the thread. Answers restored from
sessionStorage keep their rating buttons until rated. Answers are scripted at the network, the
real server serves the widget (the pattern of test_widget_conversation); axe-core runs on the
choices."""

from __future__ import annotations

import json

import pytest

from assistant.core import messages as msg
from assistant.core.settings import Settings
from assistant.pipeline import Assistant
from tests.fakes import HashEmbedder, MemoryRetriever, ScriptedGenerator
from tests.integration import test_widget_browser as wb
from tests.integration.test_widget_browser import _ensure_axe, new_page, run_axe
from tests.integration.test_widget_conversation import SOURCE, answered, ask, stream
from tests.live_server import serve
from ui.server import create_app
from ui.state import AppState

browser = wb.browser  # the same Chromium

# Answers are scripted at the network: the server only serves the page and the widget, so it
# runs over fakes (no model to load, which takes minutes on a loaded machine).
pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("widget-choices")
    settings = Settings(
        data_dir=tmp, feedback_db=tmp / "g.db", rate_limit="1000/minute", redact_names=False
    )
    assistant = Assistant(
        settings,
        generator=ScriptedGenerator("AUCUNE_SOURCE"),
        embedder=HashEmbedder(),
        retriever=MemoryRetriever([]),
    )
    state = AppState(settings, assistant)
    state.loaded = True
    with serve(create_app(settings, state)) as base:
        yield base


Q = "Quelle est la franchise de mon assurance ?"
KEYS = {"auto": "a1" * 8, "habitation": "b2" * 8}
CHOICES = [
    {
        "key": KEYS["auto"],
        "title": "Franchise d'assurance",
        "section": "Assurance auto",
        "excerpt": "La franchise d'assurance auto reste à votre charge.",
        "url": None,
    },
    {
        "key": KEYS["habitation"],
        "title": "Franchise d'assurance",
        "section": "Assurance habitation",
        "excerpt": "La franchise d'assurance habitation reste à votre charge.",
        "url": None,
    },
]


def make(body: dict) -> dict:
    if body.get("document") == KEYS["habitation"]:
        return answered(body["question"], ["La franchise habitation est de 150 €."])
    if body["question"] != Q:
        return answered(body["question"], ["Dimanche : de 9 h à 12 h."])
    done = answered(body["question"], ["La franchise auto est de 300 €."])
    done.update(choices_label=msg.CHOICES_LEAD, choices=CHOICES)
    return done


def test_a_choice_re_asks_the_same_question_restricted(browser, site, artifacts):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, site, 390, 844)
    bodies: list[dict] = []

    def handle(route):
        body = json.loads(route.request.post_data or "{}")
        bodies.append(body)
        route.fulfill(status=200, content_type="text/event-stream", body=stream(make(body)))

    page.route(f"{site}/api/v1/ask/stream", handle)
    page.locator(".bubble").click()
    ask(page, "Quels sont les horaires de la piscine ?", 1)
    ask(page, Q, 2)
    group = page.locator(".choices")
    assert group.count() == 1
    assert group.locator(".choices-title").inner_text() == msg.CHOICES_LEAD
    buttons = group.locator("button.choice")
    assert buttons.all_inner_texts() == [
        "Franchise d'assurance — Assurance auto",
        "Franchise d'assurance — Assurance habitation",
    ]
    serious = run_axe(page, axe_js, "choices", artifacts)
    assert not serious, serious

    buttons.nth(1).click()
    page.locator(".msg.bot .sources").nth(2).wait_for(timeout=10_000)
    assert bodies[2]["question"] == Q
    assert bodies[2]["document"] == KEYS["habitation"]
    # the thread the question was asked in goes with it, not the question itself
    assert (
        bodies[2]["history"] == bodies[1]["history"] == ["Quels sont les horaires de la piscine ?"]
    )
    assert "document" not in bodies[1]
    last_user = page.locator(".msg.user .bodytext").last.inner_text()
    assert last_user == f"{Q} (sur « Franchise d'assurance »)"
    assert "150 €" in page.locator(".msg.bot").last.inner_text()
    assert page.locator(".choices").count() == 1  # the restricted answer offers none
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def test_restored_answers_keep_their_rating_buttons_until_rated(browser, site):
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    page.route(
        f"{site}/api/v1/ask/stream",
        lambda route: route.fulfill(
            status=200,
            content_type="text/event-stream",
            body=stream(answered(Q, ["La franchise auto est de 300 €."])),
        ),
    )
    ratings: list[dict] = []

    def rate(route):
        ratings.append(json.loads(route.request.post_data or "{}"))
        route.fulfill(
            status=200,
            content_type="application/json",
            body=json.dumps({"detail": msg.FEEDBACK_THANKS}),
        )

    page.route(f"{site}/api/v1/feedback", rate)
    page.locator(".bubble").click()
    ask(page, Q, 1)
    ask(page, "et pour une moto ?", 2)
    assert page.locator(".feedback").count() == 2

    page.reload()
    page.locator(".bubble").click()
    page.locator(".msg.bot .sources").nth(1).wait_for(timeout=10_000)
    feedback = page.locator(".feedback")
    assert feedback.count() == 2  # restored answers can still be rated
    feedback.first.locator("button", has_text=msg.WIDGET["feedback_up"]).click()
    page.get_by_text(msg.FEEDBACK_THANKS).wait_for(timeout=10_000)
    assert ratings == [{"answer_id": "a" * 32, "rating": "up"}]

    page.reload()
    page.locator(".bubble").click()
    page.locator(".msg.bot .sources").nth(1).wait_for(timeout=10_000)
    assert page.locator(".feedback").count() == 1  # the rated one is not offered again
    assert SOURCE["title"] in page.locator(".sources").first.inner_text()
    assert not dialogs and not outside, (dialogs, outside)
    context.close()
