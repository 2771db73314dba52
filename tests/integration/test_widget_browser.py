"""The citizen widget in a real browser: Debian's Chromium driven by Playwright, against the real
server (uvicorn on loopback, real pipeline, small model). Keyboard only: open the bubble, ask,
read the streamed cited answer, follow a citation, close with Escape; axe-core finds no serious
or critical violation; screenshots (desktop and 390 px wide) go to ``artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assistant.core import messages as msg
from assistant.core.answer import Reason
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_server import api_settings_for, serve
from ui.server import create_app

pytestmark = [pytest.mark.browser, pytest.mark.model]

# axe-core comes from npm, into a cache folder outside the repository.
AXE_DIR = Path.home() / ".cache" / "guichet" / "node"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
CITY = "https://www.sainte-clarisse.example"
QUESTION = "Quels sont les horaires de la piscine municipale ?"
XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"

SHADOW_ACTIVE = """() => {
  const el = document.querySelector('guichet-chat').shadowRoot.activeElement;
  return el ? (el.id || el.className || el.tagName) : null;
}"""


def _ensure_chromium() -> Path:
    if not CHROMIUM.exists() and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True, timeout=900)
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed and `apt-get install chromium` failed")
    return CHROMIUM


def _ensure_axe() -> Path:
    if not AXE_JS.exists():
        AXE_DIR.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            ["npm", "install", "--prefix", str(AXE_DIR), "axe-core@4", "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if not AXE_JS.exists():
            pytest.fail(f"could not install axe-core with npm: {done.stderr[-2000:]}")
    return AXE_JS


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = _ensure_chromium()
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(demo_settings, small_llm, tmp_path_factory):
    settings = api_settings_for(
        demo_settings, small_llm, tmp_path_factory.mktemp("widget") / "g.db", llm_max_tokens=60
    )
    with serve(create_app(settings)) as base:
        yield base


def new_page(browser, base: str, width: int, height: int):
    """A page where only loopback is reachable; the fictional city site is served locally."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="fr-FR")
    outside: list[str] = []

    def block(route):
        url = route.request.url
        if url.startswith(base) or url.startswith("data:"):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", block)  # registered first: runs last
    context.route(
        f"{CITY}/**",
        lambda route: route.fulfill(
            content_type="text/html; charset=utf-8",
            body="<!doctype html><html lang=fr><title>Source</title><h1>Page source</h1></html>",
        ),
    )
    page = context.new_page()
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # an alert() from injected HTML would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(base + "/")
    return context, page, outside, dialogs


def tab_until(page, target: str, *, shift: bool = False, limit: int = 60) -> None:
    """Press Tab until the focused element inside the widget matches ``target``."""
    for _ in range(limit):
        if target in str(page.evaluate(SHADOW_ACTIVE)):
            return
        page.keyboard.press("Shift+Tab" if shift else "Tab")
    raise AssertionError(f"{target} never got the keyboard focus")


def run_axe(page, axe_js: Path, name: str, artifacts: Path) -> list[dict]:
    # Evaluated through the DevTools protocol: the site's CSP (script-src 'self') rightly
    # refuses an inline <script>, and the audit must run under that same CSP.
    page.evaluate(axe_js.read_text(encoding="utf-8") + "\n;void 0")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    (artifacts / f"axe-{name}.json").write_text(
        json.dumps(result["violations"], indent=1, ensure_ascii=False), encoding="utf-8"
    )
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def ask_with_keyboard(page) -> None:
    tab_until(page, "bubble")
    page.keyboard.press("Enter")
    assert page.evaluate(SHADOW_ACTIVE) == "guichet-question"  # focus moved into the panel
    page.keyboard.type(QUESTION)
    page.keyboard.press("Shift+Enter")  # a new line, not a send
    assert page.locator("#guichet-question").input_value().endswith("\n")
    page.keyboard.press("Backspace")
    page.keyboard.press("Enter")
    page.locator(".status").filter(has_text="Réponse terminée").wait_for(timeout=240_000)


def test_keyboard_flow_streamed_cited_answer_axe_and_screenshots(browser, site, artifacts):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    serious = run_axe(page, axe_js, "closed", artifacts)
    assert not serious, serious
    page.evaluate("""() => {
      window.__seen = [];
      const root = document.querySelector('guichet-chat').shadowRoot;
      new MutationObserver(() => {
        window.__seen.push([performance.now(), root.querySelectorAll('.sentence').length,
                            root.querySelector('.status').textContent]);
      }).observe(root, {subtree: true, childList: true, characterData: true});
    }""")
    ask_with_keyboard(page)

    sentences = page.locator(".sentence")
    assert sentences.count() >= 1, page.locator(".log").inner_text()
    seen = page.evaluate("window.__seen")
    first = next(t for t, n, _ in seen if n >= 1)
    done = next(t for t, _, status in seen if "terminée" in status)
    assert first <= done  # sentences are shown as they arrive, before the end
    cites = page.locator("a.cite")
    assert cites.count() >= 1
    href = cites.first.get_attribute("href")
    assert href and href.startswith(CITY)
    assert cites.first.get_attribute("rel") == "noopener noreferrer"
    page.locator(".sources li").first.wait_for()
    page.screenshot(path=str(artifacts / "widget-desktop.png"))
    serious = run_axe(page, axe_js, "open-answer", artifacts)
    assert not serious, serious
    page.locator(".feedback button").first.click()  # "Oui, utile": stored with the answer
    page.locator(".feedback").filter(has_text=msg.FEEDBACK_THANKS).wait_for(timeout=10_000)

    # Follow a citation with the keyboard: it opens the source in a new tab.
    tab_until(page, "cite", shift=True)
    with context.expect_page() as opened:
        page.keyboard.press("Enter")
    source_page = opened.value
    source_page.wait_for_load_state()
    assert source_page.url.startswith(CITY) and source_page.title() == "Source"
    source_page.close()

    page.bring_to_front()
    tab_until(page, "guichet-question")
    page.keyboard.press("Escape")
    assert page.locator("#guichet-panel").is_hidden()
    assert page.evaluate(SHADOW_ACTIVE) == "bubble"  # focus is back on the bubble
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def test_phone_width_390px(browser, site, artifacts):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, site, 390, 844)
    ask_with_keyboard(page)
    box = page.locator("#guichet-panel").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 390
    for selector in ("#guichet-question", ".send", ".close"):
        assert page.locator(selector).is_visible(), selector
    page.screenshot(path=str(artifacts / "widget-390.png"))
    serious = run_axe(page, axe_js, "390px", artifacts)
    assert not serious, serious
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def _crafted_stream() -> str:
    source = {
        "id": 1,
        "title": XSS,
        "url": "javascript:alert(3)",
        "page": None,
        "section": "",
        "excerpt": XSS,
        "updated": "2025-01-01",
        "ocr": True,
    }
    sentence = {"text": f"Texte {XSS}", "source_ids": [1]}
    done = {
        "id": "f" * 32,
        "question": "q",
        "verdict": "answered",
        "reason": None,
        "reason_text": None,
        "text": XSS,
        "sentences": [sentence],
        "sources": [source],
        "orientation": None,
        "duration_ms": 1.0,
    }
    events = [
        ("queue", {"position": 2, "message": "x"}),
        ("sources", {"sources": [source]}),
        ("sentence", sentence),
        ("done", done),
    ]
    return "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events)


def test_html_in_answers_shows_as_text_and_nothing_runs(browser, site):
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    page.route(
        f"{site}/api/v1/ask/stream",
        lambda route: route.fulfill(
            status=200, content_type="text/event-stream", body=_crafted_stream()
        ),
    )
    page.locator(".bubble").click()
    page.locator("#guichet-question").fill("test")
    page.keyboard.press("Enter")
    page.locator(".status").filter(has_text="Réponse terminée").wait_for(timeout=30_000)
    log = page.locator(".log")
    assert XSS in log.inner_text()  # shown literally
    assert msg.SOURCE_OCR in log.inner_text()  # a scan's text is said to be recognised
    assert page.locator("guichet-chat img, guichet-chat script").count() == 0
    assert page.locator("a.cite").count() == 0  # a javascript: URL never becomes a link
    assert page.locator(".sources a").count() == 0
    page.wait_for_timeout(300)
    assert not dialogs, dialogs
    assert not outside, outside
    context.close()


def test_queue_position_and_error_messages(browser, site):
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    waiting = 'event: queue\ndata: {"position": 3}\n\n'
    page.route(
        f"{site}/api/v1/ask/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=waiting),
    )
    page.locator(".bubble").click()
    page.evaluate("""() => {
      window.__status = [];
      const status = document.querySelector('guichet-chat').shadowRoot.querySelector('.status');
      new MutationObserver(() => window.__status.push(status.textContent))
        .observe(status, {subtree: true, childList: true, characterData: true});
    }""")
    page.locator("#guichet-question").fill("test")
    page.keyboard.press("Enter")
    # the stream ends without an answer: a network error is shown, not a silent stop
    page.locator(".error").first.wait_for(timeout=10_000)
    expected = "Votre question est en file d'attente (position 3)."
    assert expected in page.evaluate("window.__status")

    busy = "Le service est très sollicité. Merci de réessayer dans 12 secondes."
    page.unroute(f"{site}/api/v1/ask/stream")
    page.route(
        f"{site}/api/v1/ask/stream",
        lambda route: route.fulfill(
            status=503, headers={"Retry-After": "12"}, json={"detail": busy}
        ),
    )
    page.locator("#guichet-question").fill("encore")
    page.keyboard.press("Enter")
    page.locator(".error").filter(has_text=busy).wait_for(timeout=10_000)
    assert page.locator(".error").filter(has_text=busy).get_attribute("role") == "alert"
    assert not dialogs and not outside, (dialogs, outside)
    context.close()


def test_refusal_shows_the_orientation(browser, site):
    orientation = msg.Orientation().text()
    done = {
        "id": "e" * 32,
        "question": "q",
        "verdict": "refused",
        "reason": "no_match",
        "reason_text": msg.REASON_TEXT[Reason.no_match],
        "text": orientation,
        "sentences": [],
        "sources": [],
        "orientation": orientation,
        "duration_ms": 5.0,
    }
    context, page, outside, dialogs = new_page(browser, site, 1280, 860)
    page.route(
        f"{site}/api/v1/ask/stream",
        lambda route: route.fulfill(
            status=200,
            content_type="text/event-stream",
            body=f"event: done\ndata: {json.dumps(done)}\n\n",
        ),
    )
    page.locator(".bubble").click()
    page.locator("#guichet-question").fill("Quel temps fera-t-il demain ?")
    page.keyboard.press("Enter")
    page.locator(".orientation").filter(has_text=orientation).wait_for(timeout=10_000)
    assert page.locator(".sentence").count() == 0
    assert not dialogs and not outside, (dialogs, outside)
    context.close()
