"""The desk's Documents tab in a real browser (Debian's Chromium through Playwright, as in
``test_desk_browser``): a member of staff with the documents role uploads a page, sees it
indexed while the server runs, removes it, and writes a validated answer; a colleague without
the role does not see the tab. Screenshot in ``artifacts/desk-documents.png``."""

from __future__ import annotations

import pytest

from assistant.core import messages as msg
from tests.desk_helpers import desk_settings, serve_desk
from tests.integration.test_desk_browser import browser  # noqa: F401 - the shared fixture
from tests.integration.test_live_corpus import copy_index
from ui.auth import hash_password

pytestmark = [pytest.mark.browser, pytest.mark.model]

DOC = msg.DOCUMENTS
D = msg.DESK
LIBRARIAN, CLERK, PASSWORD = "documentaliste", "agent", "mot-de-passe-de-test"
TIMEOUT_MS = 180_000
PAGE = "# Ludothèque\n\nLa ludothèque prête des jeux de société le mardi de 16 h à 19 h.\n"


@pytest.fixture(scope="module")
def running(demo_settings, small_llm, tmp_path_factory):
    data = tmp_path_factory.mktemp("documents-browser")
    copy_index(demo_settings, data)
    base = desk_settings(demo_settings, small_llm, data / "g.db")
    users = {u: hash_password(PASSWORD, iterations=1_000) for u in (LIBRARIAN, CLERK)}
    settings = base.updated(
        {
            "data_dir": data,
            "redact_names": False,
            "staff_users": users,
            "staff_roles": {LIBRARIAN: ["documents"]},
        }
    )
    with serve_desk(settings) as desk:
        yield desk


def log_in(browser, url: str, login: str):  # noqa: F811 - the fixture's value
    page = browser.new_page(locale="fr-FR", viewport={"width": 1300, "height": 1400})
    page.goto(url)
    page.get_by_label(D["login_user"]).fill(login)
    page.get_by_label(D["login_password"]).fill(PASSWORD)
    page.keyboard.press("Enter")
    page.get_by_label(D["question_label"]).wait_for(timeout=30_000)
    return page


def wait_text(page, selector: str, text: str, timeout: int = TIMEOUT_MS) -> None:
    page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.innerText ?? '').includes(t)",
        arg=[selector, text],
        timeout=timeout,
    )


def pick(page, elem_id: str, value: str) -> None:
    """Choose ``value`` in a Gradio dropdown, by typing it as a user would."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).click()


def test_staff_manage_documents_while_serving(browser, running, artifacts, tmp_path):  # noqa: F811
    page = log_in(browser, running.url, LIBRARIAN)
    page.get_by_role("tab", name=DOC["tab"]).click()
    table = page.locator("#docs-table")
    table.get_by_text("piscine-municipale.md", exact=True).first.wait_for(timeout=60_000)

    # Upload: stored, indexed by the server's job worker, then listed (the timer refreshes).
    upload = tmp_path / "ludotheque.md"
    upload.write_text(PAGE, encoding="utf-8")
    page.locator("#docs-upload input[type=file]").set_input_files(str(upload))
    page.locator("#docs-add").click()
    page.locator("#docs-notice").get_by_text("indexation en cours").first.wait_for(timeout=60_000)
    wait_text(page, "#docs-table", "televersements/ludotheque.md")
    wait_text(page, "#docs-status", DOC["jobs_idle"])
    wait_text(page, "#docs-jobs", msg.JOB_STATUS["done"])
    assert "televersements/ludotheque.md" in [
        r.doc_id for r in _rows(running)
    ]  # in the index, not only on the page

    # A file whose bytes are not what its name says is refused with the reason.
    fake = tmp_path / "arrete.pdf"
    fake.write_text("pas un PDF", encoding="utf-8")
    page.locator("#docs-upload input[type=file]").set_input_files(str(fake))
    page.locator("#docs-add").click()
    page.locator("#docs-notice").get_by_text("ne correspond pas").wait_for(timeout=60_000)

    # A validated answer for a question without one.
    page.locator("#docs-question").get_by_role("textbox").fill("Où trouver le marché de Noël ?")
    page.locator("#docs-answer-text").get_by_role("textbox").fill(
        "Le marché de Noël se tient place de la Mairie."
    )
    page.locator("#docs-author").get_by_role("textbox").fill("Accueil")
    page.locator("#docs-save").click()
    page.locator("#docs-notice").get_by_text(DOC["answer_saved"]).wait_for(timeout=60_000)
    wait_text(page, "#docs-answers", "Où trouver le marché de Noël ?")
    page.screenshot(path=str(artifacts / "desk-documents.png"), full_page=True)

    # Remove the upload: gone from the list and the index.
    pick(page, "docs-doomed", "televersements/ludotheque.md")
    page.locator("#docs-delete").click()
    page.locator("#docs-notice").get_by_text("Retrait").wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('#docs-table').innerText.includes('ludotheque.md')",
        timeout=TIMEOUT_MS,
    )
    assert "televersements/ludotheque.md" not in [r.doc_id for r in _rows(running)]
    page.close()


def test_staff_without_the_role_do_not_see_the_tab(browser, running):  # noqa: F811
    page = log_in(browser, running.url, CLERK)
    page.get_by_role("tab", name=D["tab_stats"]).wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the load event that would show the tab has run
    assert page.get_by_role("tab", name=DOC["tab"]).count() == 0
    page.close()


def _rows(running):
    from ui.library import list_documents

    return list_documents(running.settings)
