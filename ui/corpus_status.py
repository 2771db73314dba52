"""What the desk's Corpus tab shows: documents and passages indexed, the last ingest and the
files that failed, and why.

``guichet ingest`` does not keep its report; ``save_report`` writes it next to the docstore as
``data_dir/last_ingest_<collection>.json`` (atomically) so the desk can read it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from assistant.core.settings import Settings
from ingest.pipeline import (  # noqa: F401 - re-exported for the desk
    FILE_KEY,
    IngestReport,
    known_hashes,
    load_docstore,
    report_path,
    save_report,
)


@dataclass
class CorpusStatus:
    collection: str
    documents: int = 0
    chunks: int = 0
    files: list[str] = field(default_factory=list)
    last_ingest: str | None = None  # ISO time
    last_summary: str = ""
    failed: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    error: str | None = None


def corpus_status(settings: Settings, collection: str | None = None) -> CorpusStatus:
    """Never raises: an unreadable index or report is reported in ``error``."""
    from assistant.index.store import count_points

    name = collection or settings.index.collection
    status = CorpusStatus(collection=name)
    try:
        hashes = known_hashes(load_docstore(settings.paths.data_dir / "docstore" / f"{name}.json"))
        status.files = sorted(k[len(FILE_KEY) :] for k in hashes if k.startswith(FILE_KEY))
        status.documents = len(status.files)
        status.chunks = count_points(settings, name)
    except Exception as exc:  # shown to staff in the tab, not raised
        status.error = str(exc)
    path = report_path(settings, name)
    if path.is_file():
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            status.last_ingest = report.get("finished_at")
            status.last_summary = report.get("summary", "")
            status.failed = [
                (f["doc_id"], f.get("reason", ""))
                for f in report.get("files", [])
                if f.get("status") == "failed"
            ]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            status.error = f"{path.name} : {exc}"
    return status
