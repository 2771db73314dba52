"""Answers and staff/citizen feedback in SQLite (stdlib ``sqlite3``), for the desk's analytics.

One file (``settings.database_path``), WAL mode so the analytics can read while answers are
written, one connection per thread (sqlite3 connections must not be shared across threads
without care; Gradio and FastAPI run handlers in a thread pool).

Every text that may carry personal data (question, comment, answer text) goes through one
``redact`` hook before it is written (identity by default; the desk and the public API pass
``default_redactor()``, i.e. ``assistant.records.redact.redact``).
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, TextIO

from assistant.core.answer import Answer, Reason
from assistant.core.stats import percentile
from assistant.records.redact import redact_answer

Channel = Literal["desk", "public"]
CHANNELS = ("desk", "public")
MAX_COMMENT_CHARS = 2000
MAX_TAGS = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    verdict TEXT NOT NULL,
    latency_ms REAL,
    answer_json TEXT NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('desk', 'public'))
);
CREATE INDEX IF NOT EXISTS answers_time ON answers(time);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    tags TEXT NOT NULL DEFAULT '[]',
    comment TEXT NOT NULL DEFAULT '',
    time TEXT NOT NULL,
    rater TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
"""
# One rating per (answer, rater), updated in place: a citizen re-posting adds no row. Databases
# from before the rater column get it, and keep the latest of their duplicate rows.
MIGRATE_RATER = """
DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY answer_id, rater);
CREATE UNIQUE INDEX IF NOT EXISTS feedback_one_per_rater ON feedback(answer_id, rater);
"""

# The latest rating of each answer (a staff member may change their mind).
# Refusals that say nothing about the documents: the service was overloaded or failed.
NOT_CONTENT_GAPS = (Reason.timeout, Reason.generation_error)
LATEST_RATING = """
SELECT f.answer_id, f.rating, f.tags, f.comment, f.time FROM feedback f
WHERE f.id = (SELECT MAX(id) FROM feedback WHERE answer_id = f.answer_id)
"""

CSV_COLUMNS = [
    "answer_id",
    "time",
    "channel",
    "question",
    "verdict",
    "latency_ms",
    "answer_text",
    "cited_sources",
    "rating",
    "tags",
    "comment",
    "feedback_time",
]


class UnknownAnswer(KeyError):
    """Feedback for an answer id that is not (or no longer) stored."""


def identity(text: str) -> str:
    return text


def default_redactor() -> Callable[[str], str]:
    """``assistant.records.redact.redact`` (personal data → ``[NOM]``, ``[EMAIL]`` …), when
    present."""
    try:
        from assistant.records.redact import redact
    except ImportError:
        return identity
    return redact


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


@dataclass
class Stats:
    total: int = 0
    answered: int = 0  # answered, partial or quoted
    refused: int = 0
    latency_p50_ms: float = 0.0
    latency_p95_ms: float = 0.0
    thumbs_up: int = 0
    thumbs_down: int = 0
    per_day: list[tuple[str, int]] = field(default_factory=list)

    @property
    def answer_rate(self) -> float:
        return self.answered / self.total if self.total else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refused / self.total if self.total else 0.0


@dataclass(frozen=True)
class GapQuestion:
    answer_id: str
    question: str
    why: Literal["refused", "down"]


def normalise_question(text: str) -> str:
    """Key for counting "the same question": case, accents kept, spacing and end punctuation
    dropped."""
    return re.sub(r"[\s?!.…]+$", "", " ".join(text.lower().split()))


def _csv_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in user-typed text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class FeedbackStore:
    def __init__(self, path: Path | str, *, redact: Callable[[str], str] = identity) -> None:
        self.path = Path(path)
        self.redact = redact
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._conn()
        conn.executescript(SCHEMA)
        columns = {row["name"] for row in conn.execute("PRAGMA table_info(feedback)")}
        if "rater" not in columns:
            conn.execute("ALTER TABLE feedback ADD COLUMN rater TEXT NOT NULL DEFAULT ''")
        conn.executescript(MIGRATE_RATER)

    # --- connections -----------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # --- writes ----------------------------------------------------------------------------
    def _redacted(self, answer: Answer) -> Answer:
        return redact_answer(answer, self.redact)

    def record_answer(
        self, answer: Answer, channel: Channel, *, latency_ms: float | None = None
    ) -> str:
        """Store an answer; returns its id (random, so that ids cannot be guessed by citizens
        rating other people's answers). ``latency_ms`` defaults to the pipeline's total."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        stored = self._redacted(answer)
        answer_id = uuid.uuid4().hex
        latency = answer.timings.total_ms if latency_ms is None else latency_ms
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO answers (id, time, question, verdict, latency_ms, answer_json,"
                " channel) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    now(),
                    stored.question,
                    answer.verdict.value,
                    latency,
                    stored.model_dump_json(),
                    channel,
                ),
            )
        return answer_id

    def add(
        self,
        answer_id: str,
        rating: int,
        tags: Iterable[str] = (),
        comment: str = "",
        *,
        rater: str = "",
    ) -> int:
        """Record a rating (+1 / -1) with tags and a comment; returns the feedback row id.
        ``rater`` (a pseudonym of the client; "" for the desk) has one rating per answer: a new
        one replaces it. Raises ``UnknownAnswer`` for an id that is not stored, ``ValueError``
        for bad input."""
        if rating not in (1, -1):
            raise ValueError("rating must be +1 or -1")
        tag_list = [str(t).strip() for t in tags if str(t).strip()][:MAX_TAGS]
        comment = self.redact((comment or "").strip()[:MAX_COMMENT_CHARS])
        with self._conn() as conn:
            if conn.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            # A new id on update: "latest rating" queries order by id.
            conn.execute(
                "DELETE FROM feedback WHERE answer_id = ? AND rater = ?", (answer_id, rater)
            )
            cur = conn.execute(
                "INSERT INTO feedback (answer_id, rating, tags, comment, time, rater)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    rating,
                    json.dumps(tag_list, ensure_ascii=False),
                    comment,
                    now(),
                    rater,
                ),
            )
        return int(cur.lastrowid or 0)

    # --- reads -----------------------------------------------------------------------------
    def answer(self, answer_id: str) -> Answer | None:
        row = (
            self._conn()
            .execute("SELECT answer_json FROM answers WHERE id = ?", (answer_id,))
            .fetchone()
        )
        return Answer.model_validate_json(row[0]) if row else None

    def feedback_for(self, answer_id: str) -> list[dict]:
        rows = (
            self._conn()
            .execute(
                "SELECT rating, tags, comment, time FROM feedback WHERE answer_id = ? ORDER BY id",
                (answer_id,),
            )
            .fetchall()
        )
        return [{**dict(r), "tags": json.loads(r["tags"])} for r in rows]

    def stats(self, since: str | None = None) -> Stats:
        """Counts, rates and latency percentiles over answers at or after ``since`` (ISO)."""
        where, args = ("WHERE time >= ?", (since,)) if since else ("", ())
        conn = self._conn()
        rows = conn.execute(f"SELECT verdict, latency_ms FROM answers {where}", args).fetchall()
        latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
        per_day = conn.execute(
            f"SELECT substr(time, 1, 10) AS day, COUNT(*) AS n FROM answers {where}"
            " GROUP BY day ORDER BY day",
            args,
        ).fetchall()
        ratings = conn.execute(
            f"SELECT l.rating, COUNT(*) AS n FROM ({LATEST_RATING}) l"
            f" JOIN answers a ON a.id = l.answer_id {where.replace('time', 'a.time')}"
            " GROUP BY l.rating",
            args,
        ).fetchall()
        by_rating = {r["rating"]: r["n"] for r in ratings}
        refused = sum(1 for r in rows if r["verdict"] == "refused")
        return Stats(
            total=len(rows),
            answered=len(rows) - refused,
            refused=refused,
            latency_p50_ms=percentile(latencies, 50) or 0.0,
            latency_p95_ms=percentile(latencies, 95) or 0.0,
            thumbs_up=by_rating.get(1, 0),
            thumbs_down=by_rating.get(-1, 0),
            per_day=[(r["day"], r["n"]) for r in per_day],
        )

    def top_questions(self, limit: int = 10, since: str | None = None) -> list[tuple[str, int]]:
        """Most asked questions (same text up to case, spacing and final punctuation)."""
        counts: dict[str, list] = {}
        for (question,) in self._conn().execute(
            "SELECT question FROM answers WHERE time >= ? ORDER BY time, rowid", (since or "",)
        ):
            entry = counts.setdefault(normalise_question(question), [question, 0])
            entry[1] += 1
        ranked = sorted(counts.values(), key=lambda e: (-e[1], e[0]))
        return [(q, n) for q, n in ranked[:limit]]

    def gap_questions(self, limit: int = 300) -> list[GapQuestion]:
        """The most recent refused or badly rated (latest rating 👎) questions. A refusal for
        a time-out or a generation error is not a gap in the documents: it is left out."""
        not_content = ", ".join(f"'{r.value}'" for r in NOT_CONTENT_GAPS)
        rows = (
            self._conn()
            .execute(
                f"SELECT a.id, a.question, a.verdict, l.rating FROM answers a"
                f" LEFT JOIN ({LATEST_RATING}) l ON l.answer_id = a.id"
                " WHERE (a.verdict = 'refused' AND NOT EXISTS (SELECT 1 FROM"
                f" json_each(a.answer_json, '$.reasons') WHERE value IN ({not_content})))"
                " OR l.rating = -1"
                " ORDER BY a.time DESC, a.rowid DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [
            GapQuestion(r["id"], r["question"], "down" if r["rating"] == -1 else "refused")
            for r in rows
        ]

    def export_csv(self, out: TextIO) -> int:
        """Every answer with each of its ratings (one row per rating, or one unrated row).
        Returns the number of data rows written."""
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        rows = self._conn().execute(
            "SELECT a.id, a.time, a.channel, a.question, a.verdict, a.latency_ms, a.answer_json,"
            " f.rating, f.tags, f.comment, f.time AS ftime FROM answers a"
            " LEFT JOIN feedback f ON f.answer_id = a.id ORDER BY a.time, a.rowid, f.id"
        )
        n = 0
        for r in rows:
            answer = Answer.model_validate_json(r["answer_json"])
            cited = " ; ".join(s.url or s.path or s.doc_id for s in answer.cited_sources)
            tags = ", ".join(json.loads(r["tags"])) if r["tags"] else ""
            values = [
                r["id"],
                r["time"],
                r["channel"],
                r["question"],
                r["verdict"],
                round(r["latency_ms"] or 0),
                answer.text,
                cited,
                r["rating"] or "",
                tags,
                r["comment"] or "",
                r["ftime"] or "",
            ]
            writer.writerow([_csv_cell(v) for v in values])
            n += 1
        return n
