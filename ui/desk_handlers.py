"""The desk's handlers: what each button does, independent of the page layout (``ui.desk``)
and testable without a browser.

``Desk.ask`` is a generator consuming ``AppState.ask_events``: it yields the whole view again
at each step (queue position, sources found, each verified sentence, the final answer), and
Gradio streams each yield to the page. Rendering is in ``ui.desk_render`` (every text escaped).
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from assistant.core import messages as msg
from assistant.core.answer import Answer, Preview, Reason, Sentence, Source
from assistant.pipeline import QuestionRejected
from assistant.records.feedback import FeedbackStore, UnknownAnswer, default_redactor
from ui import desk_render as render
from ui.corpus_status import corpus_status
from ui.gaps import cluster_questions
from ui.queue import QueueFull, Waiting
from ui.state import AppState

log = logging.getLogger("guichet.desk")
D = msg.DESK
STATS_DAYS = 30

AskOutputs = tuple[str, str, str, str, str, str, Any, list[dict], str]


class Desk:
    """The handlers behind the Blocks, testable without a browser."""

    def __init__(self, state: AppState, store: FeedbackStore | None = None) -> None:
        self.state = state
        self.settings = state.settings
        self.store = store or FeedbackStore(self.settings.database_path, redact=default_redactor())
        self._embed: Callable[[str], Any] | None = None
        self._export_dir: Path | None = None

    # --- Répondre ---------------------------------------------------------------------------
    def _view(
        self,
        sentences: list[Sentence],
        rejected: list[Sentence],
        sources: list[Source] | None,
        *,
        status: str = "",
        verdict: str | None = None,
        mode: str = "quote",
        answer: Answer | None = None,
        current: dict | None = None,
        history: list[dict] | None = None,
        notice: str = "",
        preview: Preview | None = None,
    ) -> AskOutputs:
        age = self.settings.serving.source_max_age_days
        orientation = answer.orientation if answer is not None else None
        suggestions = answer.suggestions if answer is not None else None
        short = answer is not None and Reason.busy_short in answer.reasons
        return (
            (render.preview_html(preview) if not sentences else "")
            + render.answer_html(sentences, orientation=orientation, status=status)
            + render.suggestions_html(suggestions),
            render.verdict_badge(verdict, mode, short=short),
            render.sources_html(sources, sentences, max_age_days=age)
            if sources is not None
            else "",
            render.details_html(sentences, rejected, _reason_lines(answer)),
            answer.text if answer is not None else "",
            render.citizen_text(answer) if answer is not None else "",
            current,
            history or [],
            notice,
        )

    def ask(
        self, question: str, history: list[dict] | None, thread_start: int | None = None
    ) -> Iterator[AskOutputs]:
        """``thread_start``: where the current conversation begins in the session history (the
        "Nouvelle conversation" button sets it); its questions go with this one. None: none."""
        history = list(history or [])
        thread = [] if thread_start is None else [h["question"] for h in history[thread_start:]]
        thread = thread[-self.settings.serving.history_max_turns :] if thread else []
        yield from self.answer(question, history, thread)

    def ask_choice(
        self, doc_id: str | None, current: dict | None, history: list[dict] | None
    ) -> Iterator[AskOutputs]:
        """One of the last answer's choices: the same question, in the same thread, asked on
        that document alone."""
        history = list(history or [])
        if not doc_id or not current or not current.get("question"):
            yield self._view([], [], None, current=current, history=history)
            return
        thread = list(current.get("thread") or [])
        yield from self.answer(current["question"], history, thread, document=doc_id)

    def answer(
        self, question: str, history: list[dict], thread: list[str], document: str | None = None
    ) -> Iterator[AskOutputs]:
        sentences: list[Sentence] = []
        rejected: list[Sentence] = []
        sources: list[Source] | None = None
        answer: Answer | None = None
        preview: Preview | None = None  # the exact excerpt shown until the answer comes
        started = time.perf_counter()
        yield self._view([], [], None, status=D["searching"], history=history)
        try:
            for item in self.state.ask_events(
                question or "", channel="desk", history=thread, document=document
            ):
                if isinstance(item, Waiting):
                    status = msg.QUEUE_POSITION.format(position=item.position)
                    yield self._view([], [], None, status=status, history=history)
                elif item.kind == "sources":
                    sources = item.sources or []
                elif item.kind == "preview":
                    preview = item.preview
                elif item.kind == "sentence" and item.sentence is not None:
                    sentences.append(item.sentence)
                elif item.kind == "rejected" and item.sentence is not None:
                    rejected.append(item.sentence)
                elif item.kind == "done":
                    answer = item.answer
                if answer is None and not isinstance(item, Waiting):
                    yield self._view(
                        sentences,
                        rejected,
                        sources,
                        status=D["writing"],
                        history=history,
                        preview=preview,
                    )
        except QuestionRejected as exc:
            yield self._view(
                [], [], None, history=history, notice=render.notice_html(str(exc), kind="error")
            )
            return
        except QueueFull as exc:
            busy = msg.BUSY.format(seconds=exc.retry_after)
            yield self._view(
                [], [], None, history=history, notice=render.notice_html(busy, kind="error")
            )
            return
        except Exception as exc:  # shown to the agent; the server keeps running
            log.exception("desk answer failed")
            text = D["not_ready"] if self.state.startup_error else D["error"]
            yield self._view(
                [],
                [],
                None,
                history=history,
                notice=render.notice_html(
                    text.format(error=self.state.startup_error or exc), kind="error"
                ),
            )
            return
        if answer is None:
            return
        current = {
            "answer_id": None,
            "question": answer.question,
            "thread": thread,
            # (label, doc id) of the close documents offered (assistant.retrieval.choices)
            "choices": [(render.choice_label(c), c.doc_id) for c in answer.choices],
        }
        try:
            current["answer_id"] = self.store.record_answer(answer, "desk")
        except Exception:  # the agent still gets the answer; only the analytics miss it
            log.exception("could not record the answer")
        history.append(
            {
                "time": datetime.now().strftime("%H:%M"),
                "question": answer.question,
                "verdict": answer.verdict.value,
                "mode": answer.mode.value,
                "text": answer.text,
                "answer_id": current["answer_id"],
            }
        )
        elapsed_ms = (time.perf_counter() - started) * 1000
        done = D["done"].format(seconds=render.seconds_fr(elapsed_ms))
        yield self._view(
            answer.sentences,
            answer.rejected,
            answer.sources,
            status=done,
            verdict=answer.verdict.value,
            mode=answer.mode.value,
            answer=answer,
            current=current,
            history=history,
        )

    def rate(
        self, rating: int, current: dict | None, tags: list[str] | None, comment: str | None
    ) -> str:
        answer_id = (current or {}).get("answer_id")
        if not answer_id:
            return render.notice_html(D["feedback_no_answer"], kind="error")
        try:
            self.store.add(answer_id, rating, tags or [], comment or "")
        except (UnknownAnswer, ValueError) as exc:
            return render.notice_html(D["feedback_error"].format(error=exc), kind="error")
        return render.notice_html(D["feedback_saved"])

    # --- Statistiques -----------------------------------------------------------------------
    def _embedder(self) -> Callable[[str], Any] | None:
        if self.state.startup_error:
            return None
        if self._embed is None:
            try:
                # Cached: the gap list is recomputed at every visit of the tab.
                self._embed = functools.lru_cache(maxsize=4096)(self.state.assistant.embedder.query)
            except Exception:  # no index or model: fall back to word overlap
                return None
        return self._embed

    def stats(self) -> tuple[str, str, pd.DataFrame, pd.DataFrame, str | None]:
        since = (datetime.now() - timedelta(days=STATS_DAYS)).date().isoformat()
        s = self.store.stats(since=since)
        summary = (
            D["stats_empty"]
            if not s.total
            else D["stats_summary"].format(
                total=s.total,
                answered=s.answer_rate,
                refused=s.refusal_rate,
                p50=render.seconds_fr(s.latency_p50_ms),
                p95=render.seconds_fr(s.latency_p95_ms),
                up=s.thumbs_up,
                down=s.thumbs_down,
            )
        )
        top = pd.DataFrame(
            self.store.top_questions(10, since=since), columns=[D["col_question"], D["col_count"]]
        )
        clusters = self.gap_clusters()
        why = {"refused": D["gap_refused"], "down": D["gap_down"]}
        gap_rows = [
            (
                c.label,
                c.count,
                " | ".join(c.examples()),
                ", ".join(sorted({why[r] for r in c.reasons if r in why})),
            )
            for c in clusters
        ]
        gap_df = pd.DataFrame(
            gap_rows, columns=[D["col_question"], D["col_count"], D["col_examples"], D["col_why"]]
        )
        per_day = render.per_day_html(s.per_day)
        return render.notice_html(summary), per_day, top, gap_df, self.export_csv()

    def gap_clusters(self) -> list[Any]:
        gaps = self.store.gap_questions()
        return cluster_questions(
            [g.question for g in gaps], [g.why for g in gaps], embed=self._embedder()
        )

    def gap_labels(self) -> list[str]:
        """The content-gap list's questions, most asked first (the Documents tab answers them)."""
        return [c.label for c in self.gap_clusters()]

    def export_csv(self) -> str:
        """The CSV behind the download button, rewritten at each refresh of the tab; one private
        folder per desk, previous exports removed (they hold citizens' questions)."""
        if self._export_dir is None:
            self._export_dir = Path(tempfile.mkdtemp(prefix="guichet-export-"))
        for old in self._export_dir.glob("*.csv"):
            old.unlink(missing_ok=True)
        path = self._export_dir / f"guichet-questions-{datetime.now():%Y%m%d-%H%M%S}.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel reads UTF-8
            self.store.export_csv(fh)
        return str(path)

    # --- Corpus -----------------------------------------------------------------------------
    def corpus(self) -> tuple[str, pd.DataFrame]:
        c = corpus_status(self.settings)
        lines = [
            D["corpus_summary"].format(
                documents=c.documents, chunks=c.chunks, collection=c.collection
            )
        ]
        lines.append(
            D["corpus_last_ingest"].format(when=c.last_ingest, summary=c.last_summary)
            if c.last_ingest
            else D["corpus_no_report"]
        )
        if not c.failed and c.last_ingest:
            lines.append(D["corpus_failed_none"])
        html = "".join(render.notice_html(line) for line in lines)
        if c.error:
            html += render.notice_html(D["corpus_error"].format(error=c.error), kind="error")
        failed = pd.DataFrame(c.failed, columns=[D["col_file"], D["col_reason"]])
        return html, failed


def _reason_lines(answer: Answer | None) -> list[str]:
    if answer is None:
        return []
    lines = [msg.reason_text(r) for r in answer.reasons]
    if answer.resolved:
        lines.append(D["resolved"].format(text=answer.resolved))
    return [*lines, answer.detail] if answer.detail else lines
