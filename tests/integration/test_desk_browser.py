"""The desk in a real browser: Debian's Chromium driven by Playwright (never Playwright's own
browser download). Log in, ask with the keyboard, watch the answer stream in, read the source
cards, follow a citation, rate with the keyboard; screenshot in ``artifacts/desk.png``."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from assistant.core import messages as msg
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.desk_helpers import LOGIN, PASSWORD, desk_settings, serve_desk

pytestmark = [pytest.mark.browser, pytest.mark.model]

D = msg.DESK
ANSWER_TIMEOUT_MS = 300_000  # small model on 2 shared cores


def _ensure_chromium() -> None:
    if os.path.exists(CHROMIUM):
        return
    apt = shutil.which("apt-get")
    if apt and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            [apt, "install", "-y", "-qq", "chromium"],
            env=env,
            check=False,
            capture_output=True,
            timeout=900,
        )
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} absent and `apt-get install chromium` failed or not permitted")


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "playwright"],
            check=False,
            capture_output=True,
            timeout=600,
        )
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            pytest.skip("the playwright Python package cannot be installed")
    return sync_playwright


@pytest.fixture(scope="module")
def browser():
    _ensure_chromium()
    sync_playwright = _sync_playwright()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def running_desk(demo_settings, small_llm, tmp_path_factory):
    db = tmp_path_factory.mktemp("desk-browser") / "g.db"
    with serve_desk(desk_settings(demo_settings, small_llm, db)) as desk:
        yield desk


def focus_by_tab(page, selector: str, limit: int = 60) -> int:
    """Press Tab until the element matching ``selector`` has the focus; returns the count."""
    for n in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return n
    raise AssertionError(f"{selector} not reachable with the keyboard in {limit} tabs")


def test_staff_journey(browser, running_desk, artifacts):
    page = browser.new_page(locale="fr-FR", viewport={"width": 1300, "height": 1000})
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:  # an alert() would mean page text ran as script
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)

    # Log in (guichet's own French login page, in front of Gradio).
    page.goto(running_desk.url)
    page.get_by_label(D["login_user"]).fill(LOGIN)
    page.get_by_label(D["login_password"]).fill(PASSWORD)
    page.keyboard.press("Enter")
    question = page.get_by_label(D["question_label"])
    question.wait_for(timeout=30_000)
    assert page.evaluate("document.documentElement.lang") == "fr"  # screen readers' voice

    # Ask with the keyboard: the question box has the focus on arrival, Enter sends.
    assert page.evaluate("document.activeElement?.closest('#desk-question') !== null")
    page.keyboard.type("C'est combien l'entrée adulte à la piscine ?")
    page.keyboard.press("Enter")
    page.locator("#desk-answer .desk-status").first.wait_for(timeout=30_000)  # streamed status
    page.locator("#desk-verdict .verdict").wait_for(timeout=ANSWER_TIMEOUT_MS)
    verdict = page.locator("#desk-verdict .verdict").inner_text()
    labels = [label for mode in msg.VERDICT_LABELS.values() for label in mode.values()]
    assert any(label in verdict for label in labels), verdict

    # Source cards, then follow a citation to its card.
    cards = page.locator("#desk-sources article.src-card")
    assert cards.count() >= 1
    assert cards.first.locator("h4").inner_text().strip()
    citation = page.locator("#desk-answer a.cite").first
    citation.wait_for(timeout=5_000)
    target = citation.get_attribute("href")
    assert target and target.startswith("#desk-src-")
    citation.click()
    assert page.evaluate("location.hash") == target
    assert page.locator(f"{target}:target").count() == 1
    assert page.locator(target).is_visible()
    page.screenshot(path=str(artifacts / "desk.png"), full_page=True)

    # Tag with a click, rate with the keyboard (Tab to the 👍 button, Enter).
    page.get_by_label("sources fiables").check()
    page.get_by_label(D["feedback_comment"]).fill("réponse claire")
    focus_by_tab(page, "#desk-up")
    page.keyboard.press("Enter")
    page.locator("#desk-feedback-status .notice").wait_for(timeout=15_000)
    assert D["feedback_saved"] in page.locator("#desk-feedback-status").inner_text()
    rows = (
        sqlite3.connect(running_desk.settings.database_path)
        .execute(
            "SELECT f.rating, f.tags, f.comment FROM feedback f"
            " JOIN answers a ON a.id = f.answer_id WHERE a.channel = 'desk'"
        )
        .fetchall()
    )
    assert rows == [(1, '["sources fiables"]', "réponse claire")]

    # The history and the analytics show the question.
    page.get_by_role("tab", name=D["tab_stats"]).click()
    page.locator("#desk-per-day table").wait_for(timeout=30_000)
    assert "piscine" in page.inner_text("body")
    assert not dialogs, dialogs
    page.close()


def test_login_is_required(browser, running_desk):
    page = browser.new_page(locale="fr-FR")
    page.goto(running_desk.url)
    page.get_by_label(D["login_password"]).wait_for(timeout=15_000)
    assert page.get_by_label(D["question_label"]).count() == 0
    page.get_by_label(D["login_user"]).fill(LOGIN)
    page.get_by_label(D["login_password"]).fill("pas le bon")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    assert page.get_by_label(D["question_label"]).count() == 0
    page.close()
