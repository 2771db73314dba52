"""The widget as a conversation, in Chromium: the thread survives a reload and goes with each
question as ``history``, "Nouvelle conversation" forgets it; refusals show their closest pages,
the service's contact and a retry; sources show their excerpt and a French date; addresses in
verified text are links (never ``javascript:``); a long answer is not scrolled to its end; a
too-long question keeps its text and a counter says why; "réponse en cours…" and a stop button
that aborts the request. Answers are scripted at the network (``page.route``) so each state is
reached at once; the real server serves the widget. axe-core runs on each new state.
"""

from __future__ import annotations

import json

import pytest

from assistant.core import messages as msg
from assistant.core.answer import Reason
from tests.integration import test_widget_browser as wb
from tests.integration.test_widget_browser import (
    CITY,
    SHADOW_ACTIVE,
    _ensure_axe,
    new_page,
    run_axe,
    tab_until,
)

browser, site = wb.browser, wb.site  # the same Chromium and real server fixtures

pytestmark = [pytest.mark.browser, pytest.mark.model]

Q1 = "Quels sont les horaires de la piscine ?"
Q2 = "et le dimanche ?"
POOL_URL = f"{CITY}/piscine"
SOURCE = {
    "id": 1,
    "title": "Piscine municipale des Cigales",
    "url": POOL_URL,
    "page": None,
    "section": "Horaires",
    "excerpt": "Dimanche : de 9 h à 12 h. Renseignements : piscine@sainte-clarisse.example",
    "updated": "2023-06-05",
}


def answered(question: str, texts: list[str]) -> dict:
    return {
        "id": "a" * 32,
        "question": question,
        "verdict": "answered",
        "mode": "quote",
        "label": "extrait exact du document, sur le sujet de la question",
        "reason": None,
        "reason_text": None,
        "text": " ".join(texts),
        "sentences": [{"text": t, "source_ids": [1], "context": ""} for t in texts],
        "sources": [SOURCE],
        "orientation": None,
        "suggestions": None,
        "duration_ms": 3.0,
    }


def stream(done: dict) -> str:
    events = [("sources", {"sources": done["sources"]})]
    events += [("sentence", s) for s in done["sentences"]]
    events.append(("done", done))
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events)


def script_answers(page, site, make) -> list[dict]:
    """Every ask gets ``make(body)``'s answer; the request bodies are returned as they come."""
    bodies: list[dict] = []

    def handle(route):
        body = json.loads(route.request.post_data or "{}")
        bodies.append(body)
        route.fulfill(status=200, content_type="text/event-stream", body=stream(make(body)))

    page.route(f"{site}/api/v1/ask/stream", handle)
    return bodies


def ask(page, question: str, n_done: int) -> None:
    page.locator("#guichet-question").fill(question)
    page.keyboard.press("Enter")
    # a finished turn shows its sources or its orientation (restored turns included)
    done = page.locator(".msg.bot .sources, .msg.bot .orientation")
    done.nth(n_done - 1).wait_for(timeout=10_000)


def test_thread_survives_reload_goes_as_history_and_is_forgotten_on_request(
    browser, site, artifacts
):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    sentence = (
        f"Dimanche : de 9 h à 12 h, voir {POOL_URL}. Contact : piscine@sainte-clarisse.example "
        "ou 01 99 00 40 00 ; javascript:alert(1)"
    )
    bodies = script_answers(page, site, lambda b: answered(b["question"], [sentence]))
    page.locator(".bubble").click()
    ask(page, Q1, 1)
    ask(page, Q2, 2)
    assert bodies[0]["history"] == [] and bodies[1]["history"] == [Q1]

    # Links from the verified text: web, e-mail, phone; "javascript:" stays text.
    links = page.locator(".sentence a.link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert POOL_URL in hrefs and "mailto:piscine@sainte-clarisse.example" in hrefs
    assert "tel:0199004000" in hrefs
    assert not any(h.startswith("javascript") for h in hrefs)
    assert "javascript:alert(1)" in page.locator(".sentence").first.inner_text()
    # Sources: French date, never ISO; the excerpt folded under the title, opened on demand.
    sources = page.locator(".sources").first
    assert "mis à jour le 5 juin 2023" in sources.inner_text()
    assert "2023-06-05" not in page.locator(".log").inner_text()
    excerpt = sources.locator("details.excerpt")
    assert excerpt.count() == 1 and not excerpt.get_attribute("open")
    excerpt.locator("summary").click()
    assert SOURCE["excerpt"] in excerpt.inner_text()
    serious = run_axe(page, axe_js, "conversation", artifacts)
    assert not serious, serious

    page.reload()
    page.locator(".bubble").click()
    assert page.locator(".msg.user .bodytext").all_inner_texts() == [Q1, Q2]
    ask(page, "c'est payant ?", 3)
    assert bodies[2]["history"] == [Q1, Q2]

    page.locator(".new").click()
    assert page.locator(".msg").count() == 1  # the welcome only
    assert page.evaluate(SHADOW_ACTIVE) == "guichet-question"
    page.reload()
    page.locator(".bubble").click()
    assert page.locator(".msg.user").count() == 0
    ask(page, Q1, 1)
    assert bodies[3]["history"] == []
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def test_a_timed_out_refusal_shows_pages_contact_and_a_retry(browser, site, artifacts):
    axe_js = _ensure_axe()
    lead = msg.REFUSAL_LEAD[Reason.timeout]
    orientation = msg.Orientation().text(lead)
    refused = {
        **answered(Q1, []),
        "verdict": "refused",
        "reason": "timeout",
        "text": orientation,
        "sources": [],
        "orientation": orientation,
        "suggestions": {
            "pages_label": msg.SUGGESTED_PAGES,
            "pages": [{k: SOURCE[k] for k in ("title", "url", "excerpt", "updated")}],
            "contact_label": msg.SUGGESTED_CONTACT.format(title=SOURCE["title"]),
            "contact": {"text": "Téléphone : 01 99 00 40 00", "title": SOURCE["title"]},
            "retry": True,
        },
    }
    context, page, outside, dialogs = new_page(browser, site, 390, 844)
    bodies = script_answers(page, site, lambda b: refused)
    page.locator(".bubble").click()
    ask(page, Q1, 1)
    assert page.locator(".orientation").inner_text().startswith(lead)
    assert msg.REFUSAL_LEAD[Reason.no_match] not in page.locator(".log").inner_text()
    assert page.locator(".pages-title").inner_text() == msg.SUGGESTED_PAGES
    page_link = page.locator(".pages a").first
    assert page_link.get_attribute("href") == POOL_URL
    assert page_link.inner_text() == SOURCE["title"]
    contact = page.locator(".contact")
    assert "Téléphone : 01 99 00 40 00" in contact.inner_text()
    assert contact.locator("a").get_attribute("href") == "tel:0199004000"
    for selector in (".new", ".close", ".retry"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    serious = run_axe(page, axe_js, "refusal-timeout", artifacts)
    assert not serious, serious
    tab_until(page, "retry", shift=True)
    page.keyboard.press("Enter")
    page.locator(".msg.bot .orientation").nth(1).wait_for(timeout=10_000)
    assert [b["question"] for b in bodies] == [Q1, Q1]
    assert page.locator(".retry").count() == 1  # the used one is gone, the new one is there
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def test_a_long_answer_starts_at_its_first_line(browser, site):
    context, page, outside, _ = new_page(browser, site, 1280, 860)
    rows = [f"Ligne {i} : de 9 h à 12 h." for i in range(60)]
    script_answers(page, site, lambda b: answered(b["question"], rows))
    page.locator(".bubble").click()
    ask(page, Q1, 1)
    top = page.evaluate("""() => {
      const root = document.querySelector('guichet-chat').shadowRoot;
      const log = root.querySelector('.log');
      const question = root.querySelectorAll('.msg.user');
      const q = question[question.length - 1].getBoundingClientRect();
      const box = log.getBoundingClientRect();
      return {atEnd: log.scrollTop + log.clientHeight >= log.scrollHeight - 2,
              questionVisible: q.top >= box.top - 1 && q.top < box.bottom,
              overflows: log.scrollHeight > log.clientHeight};
    }""")
    assert top["overflows"] and top["questionVisible"] and not top["atEnd"], top
    assert not outside, outside
    context.close()


def test_a_too_long_question_keeps_its_text_and_the_counter_says_why(browser, site):
    context, page, outside, _ = new_page(browser, site, 1280, 860)
    bodies = script_answers(page, site, lambda b: answered(b["question"], ["x"]))
    page.locator(".bubble").click()
    counter = page.locator(".counter")
    assert counter.inner_text() == "0 / 500 caractères"
    text = "Bonjour, " + "a" * 495
    page.locator("#guichet-question").fill(text)
    assert counter.inner_text() == f"{len(text)} / 500 caractères"
    assert "over" in (counter.get_attribute("class") or "")
    page.keyboard.press("Enter")
    error = page.locator(".form-error")
    error.filter(has_text="trop longue").wait_for(timeout=5_000)
    assert error.get_attribute("role") == "alert"
    assert page.locator("#guichet-question").input_value() == text  # the citizen's text stays
    assert bodies == []  # nothing sent
    page.locator("#guichet-question").fill("Horaires de la piscine ?")
    assert "over" not in (counter.get_attribute("class") or "")
    assert not outside, outside
    context.close()


NEVER_ENDING_FETCH = """() => {
  window.__aborted = false;
  window.fetch = (url, options) => new Promise((resolve) => {
    const signal = options.signal;
    const body = new ReadableStream({start(controller) {
      controller.enqueue(new TextEncoder().encode('event: sources\\ndata: {"sources": []}\\n\\n'));
      signal.addEventListener('abort', () => {
        window.__aborted = true;
        controller.error(new DOMException('aborted', 'AbortError'));
      });
    }});
    resolve(new Response(body, {status: 200, headers: {'Content-Type': 'text/event-stream'}}));
  });
}"""


def test_an_answer_being_written_shows_so_and_can_be_stopped(browser, site, artifacts):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    page.evaluate(NEVER_ENDING_FETCH)
    page.locator(".bubble").click()
    assert page.locator(".stop").is_hidden()
    page.locator("#guichet-question").fill(Q1)
    page.keyboard.press("Enter")
    writing = page.locator(".writing")
    writing.wait_for(timeout=5_000)
    assert writing.inner_text() == msg.WIDGET["writing"] and writing.is_visible()
    assert page.locator(".stop").is_visible()
    serious = run_axe(page, axe_js, "writing", artifacts)
    assert not serious, serious
    page.locator(".stop").click()
    page.locator(".status").filter(has_text=msg.WIDGET["stopped"]).wait_for(timeout=5_000)
    assert page.evaluate("window.__aborted") is True
    assert page.locator(".writing").count() == 0 and page.locator(".stop").is_hidden()
    assert page.locator("#guichet-question").input_value() == Q1  # ready to ask again
    assert not dialogs and not outside, (dialogs, outside)
    context.close()
