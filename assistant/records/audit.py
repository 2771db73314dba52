"""Append-only audit log of the answers given, for the city's transparency (SQLite).

One row per answer: the question, the answer text and its reasons, each with personal data
redacted; the sources given to the model (document ids, pages; which ones were cited), the
verdict, the model, the time. Rows are never updated, and only the retention purge removes
them:

- SQLite triggers ``RAISE`` on any ``UPDATE`` and on any ``DELETE`` that the purge did not
  authorise. The purge inserts a cutoff into ``audit_purge_permit``, deletes the rows older than
  it and removes the permit, in one transaction; the permit itself must lie in the past.
- Each row carries the SHA-256 of its content chained to the previous row's hash, and each purge
  records the hash of the last row it removed: :meth:`AuditLog.verify` detects a row edited or
  removed by someone who dropped the triggers (anyone with the file can; the chain shows it).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.core.answer import Answer
from assistant.records.redact import redact

DAY_S = 86_400
GENESIS = "0" * 64
_FIELDS = (
    "at", "at_epoch", "channel", "question", "answer", "verdict", "reasons", "sources", "model",
    "backend", "total_ms",
)  # fmt: skip

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    at_epoch REAL NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    verdict TEXT NOT NULL,
    reasons TEXT NOT NULL,
    sources TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    total_ms REAL NOT NULL,
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_answers_at ON audit_answers(at_epoch);
CREATE TABLE IF NOT EXISTS audit_purge_permit (cutoff REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit_purges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    cutoff TEXT NOT NULL,
    days REAL NOT NULL,
    rows INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_answers_no_update BEFORE UPDATE ON audit_answers
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_answers_no_delete BEFORE DELETE ON audit_answers
WHEN OLD.at_epoch >= COALESCE((SELECT MAX(cutoff) FROM audit_purge_permit), -1)
BEGIN SELECT RAISE(ABORT, 'audit log is append-only: rows leave only by the retention purge');
END;
CREATE TRIGGER IF NOT EXISTS audit_permit_in_past BEFORE INSERT ON audit_purge_permit
WHEN NEW.cutoff > CAST(strftime('%s', 'now') AS REAL)
BEGIN SELECT RAISE(ABORT, 'audit purge cutoff must lie in the past'); END;
CREATE TRIGGER IF NOT EXISTS audit_purges_no_update BEFORE UPDATE ON audit_purges
BEGIN SELECT RAISE(ABORT, 'audit purge history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_purges_no_delete BEFORE DELETE ON audit_purges
BEGIN SELECT RAISE(ABORT, 'audit purge history is append-only'); END;
"""


def _row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    canonical = json.dumps([row[f] for f in _FIELDS], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _sources(answer: Answer) -> list[dict[str, Any]]:
    cited = {s.id for s in answer.cited_sources}
    return [
        {
            "id": s.id,
            "doc_id": s.doc_id,
            "chunk_id": s.chunk_id,
            "title": s.title,
            "page": s.page,
            "where": s.url or s.path,
            "cited": s.id in cited,
        }
        for s in answer.sources
    ]


class AuditLog:
    """``record(answer)`` after each answer; ``purge_older_than(days)`` for the retention."""

    def __init__(
        self,
        path: Path,
        *,
        mask: Callable[[str], str] = redact,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.mask = mask
        self.clock = clock
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> AuditLog:
        return cls(Path(settings.paths.data_dir) / "audit.db", **kwargs)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            yield db
        finally:
            db.close()

    # --- writing ------------------------------------------------------------------------------
    def record(self, answer: Answer, *, channel: str = "api") -> int:
        """Append one answer; returns its row id. Its texts are redacted here (the model may
        echo a phone number of the question in the answer or in a reason)."""
        now = self.clock()
        row: dict[str, Any] = {
            "at": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
            "at_epoch": now,
            "channel": channel,
            "question": self.mask(answer.question),
            "answer": self.mask(answer.text),
            "verdict": answer.verdict.value,
            # Codes need no masking; the staff detail (an error text, a count) may quote input.
            "reasons": json.dumps(
                [r.value for r in answer.reasons]
                + ([self.mask(answer.detail)] if answer.detail else []),
                ensure_ascii=False,
            ),
            "sources": json.dumps(_sources(answer), ensure_ascii=False),
            "model": answer.model,
            "backend": answer.backend,
            "total_ms": round(answer.timings.total_ms, 1),
        }
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")  # the chain needs the last hash and the insert together
            try:
                last = db.execute(
                    "SELECT row_hash FROM audit_answers ORDER BY id DESC LIMIT 1"
                ).fetchone()
                if last is None:
                    anchor = db.execute(
                        "SELECT last_hash FROM audit_purges ORDER BY id DESC LIMIT 1"
                    ).fetchone()
                    last = anchor
                prev = last[0] if last else GENESIS
                values = [row[f] for f in _FIELDS]
                cursor = db.execute(
                    f"INSERT INTO audit_answers ({', '.join(_FIELDS)}, prev_hash, row_hash) "
                    f"VALUES ({', '.join('?' * (len(_FIELDS) + 2))})",
                    [*values, prev, _row_hash(prev, row)],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(cursor.lastrowid or 0)

    def purge_older_than(self, days: float) -> int:
        """Remove the answers older than ``days`` (the retention setting); returns how many."""
        if days < 0:
            raise ValueError("retention must be positive")
        cutoff = self.clock() - days * DAY_S
        with self._lock, self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                last = db.execute(
                    "SELECT row_hash FROM audit_answers WHERE at_epoch < ? ORDER BY id DESC "
                    "LIMIT 1",
                    (cutoff,),
                ).fetchone()
                db.execute("INSERT INTO audit_purge_permit (cutoff) VALUES (?)", (cutoff,))
                removed = db.execute(
                    "DELETE FROM audit_answers WHERE at_epoch < ?", (cutoff,)
                ).rowcount
                db.execute("DELETE FROM audit_purge_permit")
                if removed:
                    db.execute(
                        "INSERT INTO audit_purges (at, cutoff, days, rows, last_hash) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds"),
                            datetime.fromtimestamp(cutoff, UTC).isoformat(timespec="seconds"),
                            days,
                            removed,
                            last[0],
                        ),
                    )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return int(removed)

    # --- reading ------------------------------------------------------------------------------
    def entries(self, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        """Most recent first, JSON fields decoded (for the desk and exports)."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute(
                "SELECT * FROM audit_answers ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        out = []
        for r in rows:
            item = dict(r)
            item["reasons"] = json.loads(item["reasons"])
            item["sources"] = json.loads(item["sources"])
            out.append(item)
        return out

    def count(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM audit_answers").fetchone()[0])

    def verify(self) -> list[str]:
        """Problems found in the hash chain (empty: every row is as written, none missing)."""
        problems: list[str] = []
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            anchor = db.execute(
                "SELECT last_hash FROM audit_purges ORDER BY id DESC LIMIT 1"
            ).fetchone()
            expected = anchor[0] if anchor else GENESIS
            for r in db.execute("SELECT * FROM audit_answers ORDER BY id"):
                row = dict(r)
                if row["prev_hash"] != expected:
                    problems.append(f"row {row['id']}: previous row missing or altered")
                if _row_hash(row["prev_hash"], row) != row["row_hash"]:
                    problems.append(f"row {row['id']}: content altered")
                expected = row["row_hash"]
        return problems
