"""The widget's preview in Chromium, against the real server on the demo index: while the model
is still reading (a scripted model that takes 4 s before its first token), the widget shows the
document's best sentence highlighted inside its excerpt, its source and the excerpt label; the
verified answer then replaces it. axe-core checks the preview state."""

from __future__ import annotations

import re
import time

import pytest

from assistant.core import messages as msg
from assistant.pipeline import Assistant
from tests.fakes import ScriptedGenerator
from tests.integration import test_widget_browser as wb
from tests.integration.test_widget_browser import _ensure_axe, new_page, run_axe
from tests.live_server import api_settings_for, serve
from ui.server import create_app
from ui.state import AppState

browser = wb.browser  # the same Chromium fixture

pytestmark = [pytest.mark.browser, pytest.mark.model]

QUESTION = "La piscine est-elle ouverte le dimanche ?"
MODEL_DELAY_S = 4.0


class SlowModel(ScriptedGenerator):
    """Reads for ``MODEL_DELAY_S`` (a busy CPU), then chooses the Sunday row."""

    def __init__(self) -> None:
        super().__init__(self.choose)

    @staticmethod
    def choose(messages: list[dict[str, str]]) -> str:
        for line in messages[-1]["content"].splitlines():
            if "Dimanche" in line and (m := re.match(r"\s*\[(\d+\.\d+)\]", line)):
                return m.group(1)
        return "AUCUNE_SOURCE"

    def stream(self, messages, grammar, max_tokens, usage):
        time.sleep(MODEL_DELAY_S)
        yield from super().stream(messages, grammar, max_tokens, usage)


@pytest.fixture(scope="module")
def slow_site(demo_settings, small_llm, tmp_path_factory):
    settings = api_settings_for(
        demo_settings, small_llm, tmp_path_factory.mktemp("preview") / "g.db", answer_cache_size=0
    )
    state = AppState(settings, assistant=Assistant(settings, generator=SlowModel()))
    with serve(create_app(settings, state)) as base:
        yield base


def test_the_preview_shows_at_once_highlighted_then_the_answer_replaces_it(
    browser, slow_site, artifacts
):
    axe_js = _ensure_axe()
    context, page, outside, dialogs = new_page(browser, slow_site, 1280, 860)
    page.locator(".bubble").click()
    page.locator("#guichet-question").fill(QUESTION)
    asked = time.perf_counter()
    page.keyboard.press("Enter")

    preview = page.locator(".preview")
    preview.wait_for(timeout=MODEL_DELAY_S * 1000)  # before the model's first token
    shown_s = time.perf_counter() - asked
    assert page.locator(".sentence").count() == 0  # no answer yet: the excerpt only
    assert preview.locator(".preview-label").inner_text() == msg.PREVIEW_LABEL
    mark = preview.locator(".preview-excerpt mark").inner_text()
    assert "Dimanche" in mark and "9 h" in mark
    excerpt = preview.locator(".preview-excerpt").inner_text()
    assert mark in excerpt and len(excerpt) > len(mark)  # highlighted inside its excerpt
    link = preview.locator(".preview-source a")
    assert link.inner_text() == "Piscine municipale des Cigales"
    assert (link.get_attribute("href") or "").startswith(wb.CITY)
    page.screenshot(path=str(artifacts / "widget-preview.png"))
    serious = run_axe(page, axe_js, "preview", artifacts)
    assert not serious, serious

    page.locator(".status").filter(has_text="Réponse terminée").wait_for(timeout=60_000)
    assert page.locator(".preview").count() == 0  # replaced by the verified answer
    assert "Dimanche" in page.locator(".sentence").first.inner_text()
    assert not dialogs and not outside, (dialogs, outside)
    print(f"\npreview shown {shown_s * 1000:.0f} ms after the question (model: {MODEL_DELAY_S} s)")
    context.close()
