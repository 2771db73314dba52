"""The desk's **Documents** tab: the corpus managed while guichet serves, for staff with the
``documents`` role (``ui.documents.has_role``; the tab is hidden from others and every
handler checks the role again, the page is not trusted).

List the indexed documents, upload files (checked by ``ui.library``), remove one, re-ingest a
folder the index holds, follow the jobs (a timer refreshes the view while one runs) and their
failures; write, edit and remove validated answers for the questions of the content-gap list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from assistant.core import messages as msg
from ui import desk_render as render
from ui import library, validated
from ui.documents import has_role
from ui.state import AppState

log = logging.getLogger("guichet.desk")
DOC = msg.DOCUMENTS
TICK_S = 2.0
UPLOAD_TYPES = [".pdf", ".docx", ".odt", ".ods", ".doc", ".rtf", *library.TEXT_SUFFIXES]


class DocumentsTab:
    def __init__(self, state: AppState, gaps: Callable[[], list[str]]) -> None:
        self.state = state
        self.settings = state.settings
        self.service = state.documents
        self.gaps = gaps

    def allowed(self, request: gr.Request | None) -> bool:
        return has_role(self.settings, getattr(request, "username", None))

    # --- the view -----------------------------------------------------------------------------
    def view(self, request: gr.Request) -> tuple[Any, ...]:
        if not self.allowed(request):
            refused = render.notice_html(DOC["role_required"], kind="error")
            empty = pd.DataFrame()
            return (
                refused,
                empty,
                gr.update(),
                gr.update(),
                empty,
                empty,
                empty,
                gr.update(),
                gr.update(),
                gr.Timer(active=False),
            )
        rows = library.list_documents(self.settings)
        jobs = self.state.jobs.recent()
        running = next((j for j in jobs if j.pending), None)
        status = (
            DOC["jobs_running"].format(label=running.label, passages=running.passages)
            if running is not None
            else DOC["jobs_idle"]
        )
        docs = pd.DataFrame(
            [
                (
                    r.title,
                    r.doc_id,
                    r.source,
                    len(r.pages) or 1,
                    r.chunks,
                    render.french_date(r.updated) or "",
                    DOC["ocr_pages"].format(n=len(r.ocr_pages)) if r.ocr_pages else DOC["ocr_none"],
                    r.kind,
                )
                for r in rows
            ],
            columns=[
                DOC[c]
                for c in (
                    "col_title",
                    "col_doc",
                    "col_source",
                    "col_pages",
                    "col_chunks",
                    "col_updated",
                    "col_ocr",
                    "col_kind",
                )
            ],
        )
        job_rows = pd.DataFrame(
            [
                (
                    (j.created or "")[11:16],
                    j.label,
                    msg.JOB_STATUS[j.status],
                    j.summary or j.error,
                    j.actor,
                )
                for j in jobs[:10]
            ],
            columns=[
                DOC[c] for c in ("col_when", "col_action", "col_status", "col_summary", "col_who")
            ],
        )
        last = next((j for j in jobs if not j.pending), None)
        failures = pd.DataFrame(
            last.failures if last is not None else [], columns=[DOC["col_file"], DOC["col_reason"]]
        )
        answers = validated.all_answers(self.settings)
        answer_rows = pd.DataFrame(
            [
                (
                    a.question,
                    a.author,
                    a.day.strftime("%d/%m/%Y"),
                    a.expires.strftime("%d/%m/%Y") if a.expires else "",
                    DOC["answer_state_expired"] if a.expired() else DOC["answer_state_live"],
                )
                for a in answers
            ],
            columns=[
                DOC[c]
                for c in ("col_question", "col_author", "col_date", "col_expires", "col_state")
            ],
        )
        return (
            render.notice_html(status),
            docs,
            gr.update(choices=[r.doc_id for r in rows], value=None),
            gr.update(choices=library.known_folders(self.settings, rows), value=None),
            job_rows,
            failures,
            answer_rows,
            gr.update(choices=self.gaps(), value=None),
            gr.update(choices=[(a.question, a.slug) for a in answers], value=None),
            gr.Timer(active=running is not None),
        )

    # --- actions ------------------------------------------------------------------------------
    def _guard(self, request: gr.Request, action: Callable[[str], str]) -> str:
        if not self.allowed(request):
            return render.notice_html(DOC["role_required"], kind="error")
        try:
            return action(str(request.username))
        except (ValueError, PermissionError) as exc:
            return render.notice_html(str(exc), kind="error")
        except Exception as exc:  # shown to the agent; the server goes on
            log.exception("documents action failed")
            return render.notice_html(DOC["error"].format(error=exc), kind="error")

    def upload(self, files: list[str] | None, request: gr.Request) -> str:
        def act(login: str) -> str:
            if not files:
                return render.notice_html(DOC["upload_none"], kind="error")
            pairs = [(Path(f), Path(f).name) for f in files]
            job, refused = self.service.upload(pairs, login)
            lines = [DOC["upload_refused"].format(name=r.name, reason=r.reason) for r in refused]
            html = "".join(render.notice_html(line, kind="error") for line in lines)
            if job is not None:
                n = len(files) - len(refused)
                html = render.notice_html(DOC["upload_queued"].format(n=n)) + html
            return html

        return self._guard(request, act)

    def delete(self, doc_id: str | None, request: gr.Request) -> str:
        def act(login: str) -> str:
            if not doc_id:
                return render.notice_html(DOC["delete_none"], kind="error")
            self.service.delete(doc_id, login)
            return render.notice_html(DOC["delete_queued"].format(doc=doc_id))

        return self._guard(request, act)

    def reingest(self, folder: str | None, request: gr.Request) -> str:
        def act(login: str) -> str:
            if not folder:
                return render.notice_html(DOC["reingest_none"], kind="error")
            self.service.ingest([Path(folder)], login)
            return render.notice_html(DOC["reingest_queued"].format(folder=folder))

        return self._guard(request, act)

    def pick_answer(self, slug: str | None, request: gr.Request) -> tuple[Any, ...]:
        if not slug or not self.allowed(request):
            return (None, gr.update(), "", "", gr.update(), "", "")
        a = validated.find_answer(self.settings, slug)
        expires = a.expires.strftime("%d/%m/%Y") if a.expires else ""
        return (
            slug,
            a.question,
            a.text,
            a.link or "",
            a.author,
            a.day.strftime("%d/%m/%Y"),
            expires,
        )

    def save_answer(
        self,
        slug: str | None,
        question: str,
        text: str,
        link: str,
        author: str,
        day: str,
        expires: str,
        request: gr.Request,
    ) -> str:
        def act(login: str) -> str:
            answer = validated.make_answer(
                question=question,
                text=text,
                author=author or login,
                day=day,
                expires=expires,
                link=link,
                slug=slug or None,
            )
            self.service.save_answer(answer, login)
            return render.notice_html(DOC["answer_saved"])

        return self._guard(request, act)

    def remove_answer(self, slug: str | None, request: gr.Request) -> str:
        def act(login: str) -> str:
            if not slug:
                return render.notice_html(DOC["answer_pick_first"], kind="error")
            job = self.service.remove_answer(slug, login)
            return render.notice_html(job.label)  # notice_html escapes

        return self._guard(request, act)

    def visible(self, request: gr.Request) -> Any:
        return gr.Tab(visible=self.allowed(request))


def build_documents_tab(state: AppState, gaps: Callable[[], list[str]]) -> tuple[gr.Tab, Any]:
    """The tab, inside the desk's ``gr.Tabs``; returns it and its visibility handler."""
    tab = DocumentsTab(state, gaps)
    max_mb = state.settings.serving.upload_max_mb
    with gr.Tab(DOC["tab"], id="documents", visible=False) as documents_tab:
        gr.Markdown(DOC["intro"])
        with gr.Row():
            status = gr.HTML(elem_id="docs-status")
            refresh = gr.Button(DOC["refresh"], size="sm", scale=0, elem_id="docs-refresh")
        notice = gr.HTML(elem_id="docs-notice")
        with gr.Group():
            gr.Markdown(f"#### {DOC['upload_heading']}")
            files = gr.File(
                label=f"{DOC['upload_label']} — {max_mb:g} Mo au plus",
                file_count="multiple",
                file_types=UPLOAD_TYPES,
                elem_id="docs-upload",
            )
            add = gr.Button(DOC["upload_button"], variant="primary", elem_id="docs-add")
        table = gr.Dataframe(
            label=DOC["list_label"], interactive=False, wrap=True, elem_id="docs-table"
        )
        with gr.Row():
            doomed = gr.Dropdown(label=DOC["delete_label"], choices=[], elem_id="docs-doomed")
            delete = gr.Button(DOC["delete_button"], variant="stop", elem_id="docs-delete")
        with gr.Row():
            folder = gr.Dropdown(label=DOC["reingest_label"], choices=[], elem_id="docs-folder")
            reingest = gr.Button(DOC["reingest_button"], elem_id="docs-reingest")
        jobs = gr.Dataframe(
            label=DOC["jobs_label"], interactive=False, wrap=True, elem_id="docs-jobs"
        )
        failures = gr.Dataframe(label=DOC["failures_label"], interactive=False, wrap=True)
        gr.Markdown(f"### {DOC['answers_heading']}\n{DOC['answers_intro']}")
        answers = gr.Dataframe(
            label=DOC["answers_label"], interactive=False, wrap=True, elem_id="docs-answers"
        )
        slug = gr.State(None)
        with gr.Row():
            gap = gr.Dropdown(label=DOC["answer_gap_pick"], choices=[], elem_id="docs-gap")
            existing = gr.Dropdown(
                label=DOC["answer_edit_pick"], choices=[], elem_id="docs-existing"
            )
        question = gr.Textbox(
            label=DOC["answer_question"],
            max_lines=2,
            elem_id="docs-question",
            max_length=validated.QUESTION_MAX,
        )
        text = gr.Textbox(
            label=DOC["answer_text"],
            lines=4,
            elem_id="docs-answer-text",
            max_length=validated.TEXT_MAX,
        )
        with gr.Row():
            link = gr.Textbox(label=DOC["answer_link"], elem_id="docs-link")
            author = gr.Textbox(label=DOC["answer_author"], elem_id="docs-author")
            day = gr.Textbox(label=DOC["answer_date"], elem_id="docs-date")
            expires = gr.Textbox(label=DOC["answer_expires"], elem_id="docs-expires")
        with gr.Row():
            save = gr.Button(DOC["answer_save"], variant="primary", elem_id="docs-save")
            remove = gr.Button(DOC["answer_remove"], variant="stop", elem_id="docs-remove")
        timer = gr.Timer(TICK_S, active=False)

    outputs = [status, table, doomed, folder, jobs, failures, answers, gap, existing, timer]
    private: dict[str, Any] = {"api_visibility": "private"}
    refresh.click(tab.view, None, outputs, **private)
    documents_tab.select(tab.view, None, outputs, **private)
    timer.tick(tab.view, None, outputs, **private)
    add.click(tab.upload, files, notice, **private).then(tab.view, None, outputs, **private).then(
        lambda: None, None, files, **private
    )
    delete.click(tab.delete, doomed, notice, **private).then(tab.view, None, outputs, **private)
    reingest.click(tab.reingest, folder, notice, **private).then(tab.view, None, outputs, **private)
    gap.change(lambda q: (None, q or ""), gap, [slug, question], **private)
    existing.change(
        tab.pick_answer, existing, [slug, question, text, link, author, day, expires], **private
    )
    save.click(
        tab.save_answer, [slug, question, text, link, author, day, expires], notice, **private
    ).then(tab.view, None, outputs, **private)
    remove.click(tab.remove_answer, slug, notice, **private).then(
        tab.view, None, outputs, **private
    )
    return documents_tab, tab.visible
