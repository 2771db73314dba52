"""The service-public QA sets, read by path from the shared data folder (never copied here).

- corpus: the 532 fiche texts of ``qa/spf_qr_test_full_2944155.json`` (id = fiche id, the text
  as it is, no title added: the questions of ``questions_spf.json`` *are* the titles);
- ``spf-105``: the 105 questions of ``qa/filtered_spf_qr_test.json`` with their gold span;
- ``spf-535``: the (fiche id, question-style title) pairs of ``qa/questions_spf.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from llama_index.core.schema import Document

from assistant.core.settings import Settings

SPF_COLLECTION = "spf532"


def shared_data() -> Path:
    """Beside the checkout (../shared/data) or the workplace's copy; GUICHET_SHARED_DATA wins."""
    if "GUICHET_SHARED_DATA" in os.environ:
        return Path(os.environ["GUICHET_SHARED_DATA"])
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    for candidate in (beside, Path("/work/shared/data")):
        if candidate.is_dir():
            return candidate
    return beside


@dataclass
class QA:
    id: str
    question: str
    doc_id: str
    gold: str = ""


def corpus_documents(data: Path | None = None) -> list[Document]:
    path = (data or shared_data()) / "qa" / "spf_qr_test_full_2944155.json"
    articles = json.loads(path.read_text(encoding="utf-8"))["data"]
    docs = []
    for article in articles:
        text = "\n".join(p["context"] for p in article["paragraphs"])
        fiche = article["title"]
        docs.append(
            Document(
                id_=fiche,
                text=text,
                metadata={
                    "doc_id": fiche,
                    "title": "",
                    "url": f"https://www.service-public.fr/particuliers/vosdroits/{fiche}",
                    "path": None,
                    "service": "service-public.fr",
                    "updated": "2020-07-01",
                    "page": None,
                    "kind": "txt",
                },
            )
        )
    return docs


def questions_105(data: Path | None = None) -> list[QA]:
    path = (data or shared_data()) / "qa" / "filtered_spf_qr_test.json"
    out: list[QA] = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                gold = qa["answers"][0]["text"] if qa.get("answers") else ""
                out.append(QA(str(qa.get("id", len(out))), qa["question"], article["title"], gold))
    return out


def questions_535(data: Path | None = None, known: set[str] | None = None) -> list[QA]:
    path = (data or shared_data()) / "qa" / "questions_spf.json"
    rows = json.loads(path.read_text(encoding="utf-8"))
    out = [QA(f"q535-{i}", q, fid) for i, (fid, q, _text) in enumerate(rows)]
    return [qa for qa in out if known is None or qa.doc_id in known]


def build_index(settings: Settings, progress: bool = True) -> None:
    """Index the 532 fiches as ``spf532`` (incrementally: unchanged fiches are skipped)."""
    from ingest.pipeline import Ingestor

    ingestor = Ingestor(settings, SPF_COLLECTION)
    report = ingestor.add_documents(corpus_documents(), progress=progress)
    print(
        f"index {SPF_COLLECTION}: {report.chunks_written} chunks written in {report.seconds:.0f} s"
    )
