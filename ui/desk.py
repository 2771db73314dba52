"""The reception desk for city staff (Gradio Blocks), mounted at ``/desk`` behind a login.

Tabs: **Répondre** (ask, streamed verified sentences, source cards, verdict, check details,
citizen version with its copy button, session history, feedback), **Statistiques** (volumes,
rates, latency, top questions, content gaps, CSV export), **Corpus** (index contents, last
ingest, failures), **Documents** for staff with the documents role (``ui.desk_documents``:
uploads, removal, re-ingest, jobs, validated answers). A logout button sits by the heading.

The answer handler (``ui.desk_handlers.Desk.ask``) is a generator: the page shows the queue
position while waiting and each sentence as soon as it passed verification; Gradio runs it in
its worker pool, so one long answer never freezes another staff member's page. Rendering lives in
``ui.desk_render`` (pure functions, every text escaped).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from fastapi import FastAPI
from starlette.middleware import Middleware
from starlette.routing import Mount

from assistant.core import messages as msg
from assistant.records.feedback import FeedbackStore
from ui import desk_render as render
from ui.auth import StaffAuth, desk_auth
from ui.desk_documents import build_documents_tab
from ui.desk_handlers import Desk
from ui.desk_login import DeskGate, Sessions
from ui.protect import make_limiter
from ui.state import AppState

D = msg.DESK
CSS = Path(__file__).with_name("desk.css")

# No ``js=`` handlers: copying goes through the textboxes' own copy buttons, so no script of
# ours runs in the page beyond Gradio's (the CSP still allows eval for gr.HTML: ui/protect.py).


def show_choices(current: dict | None) -> Any:
    offered = (current or {}).get("choices") or []
    return gr.update(choices=[tuple(c) for c in offered], value=None, visible=bool(offered))


def build_desk(
    state: AppState, store: FeedbackStore | None = None, *, logout_url: str = "/desk/logout"
) -> gr.Blocks:
    desk = Desk(state, store)
    # One answer is generated at a time (ui.queue); let the waiting ones into the handler so
    # our queue tells them their position in French instead of Gradio's own queue.
    ask_concurrency = state.settings.serving.queue_max_waiting + 1
    with gr.Blocks(title=D["title"], analytics_enabled=False, delete_cache=(3600, 3600)) as blocks:
        banner = gr.HTML(render.banner_html(state.startup_error), elem_id="desk-banner")
        with gr.Row():
            gr.Markdown(f"## {D['heading']}\n{D['intro']} {msg.DISCLAIMER}")
            gr.Button(D["logout"], link=logout_url, size="sm", scale=0, elem_id="desk-logout")
        current = gr.State(None)
        history = gr.State([])
        thread_start = gr.State(0)  # where the current conversation begins in ``history``
        with gr.Tabs():
            with gr.Tab(D["tab_answer"], id="answer"):
                with gr.Row():
                    question = gr.Textbox(
                        label=D["question_label"],
                        elem_id="desk-question",
                        placeholder=D["question_placeholder"],
                        lines=1,
                        max_lines=4,
                        max_length=state.settings.serving.max_question_chars,
                        autofocus=True,
                        scale=5,
                    )
                    ask_btn = gr.Button(D["ask"], variant="primary", elem_id="desk-ask", scale=1)
                    new_thread = gr.Button(D["new_thread"], elem_id="desk-new-thread", scale=1)
                with gr.Row():
                    with gr.Column(scale=3):
                        verdict = gr.HTML(elem_id="desk-verdict")
                        answer = gr.HTML(elem_id="desk-answer", label=D["answer_heading"])
                        # close documents: a pick asks the same question on one of them
                        choices = gr.Radio(
                            [], label=D["choices"], visible=False, elem_id="desk-choices"
                        )
                        notice = gr.HTML(elem_id="desk-notice")
                        answer_text = gr.Textbox(visible="hidden", elem_id="desk-answer-text")
                        citizen = gr.Textbox(
                            label=D["citizen"],
                            lines=5,
                            interactive=False,
                            buttons=["copy"],
                            elem_id="desk-citizen",
                        )
                        with gr.Accordion(D["details"], open=False, elem_id="desk-details"):
                            details = gr.HTML()
                        with gr.Group(elem_id="desk-feedback"):
                            gr.Markdown(f"#### {D['feedback_heading']}")
                            tags = gr.CheckboxGroup(
                                msg.FEEDBACK_TAGS, label=D["feedback_tags"], elem_id="desk-tags"
                            )
                            comment = gr.Textbox(
                                label=D["feedback_comment"],
                                lines=2,
                                max_length=2000,
                                elem_id="desk-comment",
                            )
                            with gr.Row():
                                up = gr.Button(D["feedback_up"], elem_id="desk-up")
                                down = gr.Button(D["feedback_down"], elem_id="desk-down")
                            feedback_status = gr.HTML(elem_id="desk-feedback-status")
                    with gr.Column(scale=2):
                        gr.Markdown(f"### {D['sources_heading']}")
                        sources = gr.HTML(elem_id="desk-sources")
                with gr.Accordion(D["history"], open=False, elem_id="desk-history"):
                    history_view = gr.HTML(render.history_html([]))

                outputs = [
                    answer,
                    verdict,
                    sources,
                    details,
                    answer_text,
                    citizen,
                    current,
                    history,
                    notice,
                ]
                gr.on(
                    [ask_btn.click, question.submit],
                    desk.ask,
                    [question, history, thread_start],
                    outputs,
                    api_name="ask",
                    concurrency_limit=ask_concurrency,
                    concurrency_id="ask",
                    show_progress="minimal",
                ).then(render.history_html, history, history_view, api_visibility="private").then(
                    lambda: ("", [], ""),
                    None,
                    [feedback_status, tags, comment],
                    api_visibility="private",
                ).then(show_choices, current, choices, api_visibility="private")
                choices.input(
                    desk.ask_choice,
                    [choices, current, history],
                    outputs,
                    api_name="ask_choice",
                    concurrency_limit=ask_concurrency,
                    concurrency_id="ask",
                    show_progress="minimal",
                ).then(render.history_html, history, history_view, api_visibility="private").then(
                    show_choices, current, choices, api_visibility="private"
                )
                new_thread.click(
                    lambda h: (len(h or []), render.notice_html(D["new_thread_done"])),
                    history,
                    [thread_start, notice],
                    api_visibility="private",
                )
                up.click(
                    lambda c, t, m: desk.rate(1, c, t, m),
                    [current, tags, comment],
                    feedback_status,
                    api_name="rate_up",
                )
                down.click(
                    lambda c, t, m: desk.rate(-1, c, t, m),
                    [current, tags, comment],
                    feedback_status,
                    api_name="rate_down",
                )

            with gr.Tab(D["tab_stats"], id="stats") as stats_tab:
                stats_refresh = gr.Button(D["stats_refresh"], size="sm")
                summary = gr.HTML()
                per_day = gr.HTML(elem_id="desk-per-day")
                top = gr.Dataframe(label=D["stats_top"], interactive=False)
                gaps = gr.Dataframe(label=D["stats_gaps"], interactive=False, wrap=True)
                export = gr.DownloadButton(D["stats_export"], elem_id="desk-export")
                stats_out = [summary, per_day, top, gaps, export]
                stats_refresh.click(desk.stats, None, stats_out, api_name="stats")
                stats_tab.select(desk.stats, None, stats_out, api_visibility="private")

            with gr.Tab(D["tab_corpus"], id="corpus") as corpus_tab:
                corpus_refresh = gr.Button(D["corpus_refresh"], size="sm")
                corpus_info = gr.HTML()
                failed = gr.Dataframe(label=D["corpus_failed"], interactive=False, wrap=True)
                corpus_refresh.click(desk.corpus, None, [corpus_info, failed], api_name="corpus")
                corpus_tab.select(
                    desk.corpus, None, [corpus_info, failed], api_visibility="private"
                )

            # Staff with the documents role only (hidden from others, checked per handler).
            documents_tab, documents_visible = build_documents_tab(state, desk.gap_labels)

        blocks.load(
            lambda: render.banner_html(state.startup_error), None, banner, api_visibility="private"
        )
        blocks.load(documents_visible, None, documents_tab, api_visibility="private")
    blocks.queue(default_concurrency_limit=2)
    return blocks


def _refuse_all(login: str, password: str) -> bool:
    """Gradio's own login route is shadowed by ``ui.desk_login.DeskGate``; should a request
    reach it anyway, it logs no one in."""
    return False


def mount_desk(
    app: FastAPI,
    state: AppState,
    *,
    path: str = "/desk",
    auth: StaffAuth | None = None,
    store: FeedbackStore | None = None,
) -> FastAPI:
    """Mount the desk on the server's FastAPI app; nothing under ``path`` without a login
    (the login itself, its lockout and the sessions' expiry: ``ui.desk_login``)."""
    settings = state.settings
    blocks = build_desk(state, store, logout_url=f"{path}/logout")
    check = auth or desk_auth(settings.serving.staff_users, data_dir=settings.paths.data_dir)
    limiter = getattr(app.state, "limiter", None) or make_limiter()
    sessions = Sessions(
        settings.serving.desk_session_hours * 3600, settings.serving.desk_idle_minutes * 60
    )
    mounted: dict[str, Any] = {}
    # Appended, not added: the innermost middleware, so the security headers, the metrics and
    # the logs see the gate's answers too.
    app.user_middleware.append(
        Middleware(
            DeskGate,
            prefix=path,
            auth=check,
            sessions=sessions,
            gradio=lambda: mounted["app"],
            limiter=limiter,
            rate_limit=settings.serving.desk_login_rate_limit,
        )
    )
    gr.mount_gradio_app(
        app,
        blocks,
        path=path,
        auth=_refuse_all,
        auth_message=D["login_message"],
        css_paths=[CSS],
        # Gradio's page template says lang="en": screen readers would read French with an
        # English voice.
        head='<script>document.documentElement.lang = "fr";</script>',
        footer_links=[],
        run_history=False,
        ssr_mode=False,
        mcp_server=False,
        show_error=False,
        # Gradio refuses larger uploads itself; ui/library.py checks size and type again.
        max_file_size=int(settings.serving.upload_max_mb * 1_048_576),
    )
    mounted["app"] = next(
        r.app for r in app.routes if isinstance(r, Mount) and r.path == path.rstrip("/")
    )
    return app
