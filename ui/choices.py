"""A public choice's key back to its document, for ``/api/v1/ask``'s ``document``.

Public clients never see a document's id (a file path inside the city's folder): a choice
carries ``choice_key(doc_id)`` instead. The server keeps nothing per conversation, so the key
is resolved against the indexed documents themselves, the docstore ingest keeps (its keys are
the doc ids), re-read only when an ingest changed it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from assistant.core import messages as msg
from assistant.core.query import QuestionRejected
from assistant.retrieval.choices import choice_key

KEY_PATTERN = r"^[0-9a-f]{16}$"


class DocumentKeys:
    def __init__(self, docstore: Callable[[], Path]) -> None:
        self._docstore = docstore
        self._lock = threading.Lock()
        self._stamp: tuple[Path, int, int] | None = None
        self._keys: dict[str, str] = {}

    def _load(self) -> dict[str, str]:
        path = self._docstore()
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        stamp = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                data = json.loads(path.read_text(encoding="utf-8"))
                ids = data.get("docstore/metadata", {})
                self._keys = {choice_key(d): d for d in ids if not d.startswith("file::")}
                self._stamp = stamp
            return self._keys

    def resolve(self, key: str) -> str:
        """The doc id of ``key``; a key no indexed document has (removed since) is refused."""
        doc_id = self._load().get(key)
        if doc_id is None:
            raise QuestionRejected(msg.CHOICE_UNKNOWN)
        return doc_id
