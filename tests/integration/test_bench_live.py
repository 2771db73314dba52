"""``guichet bench live`` runs end to end (the lead measures it on a quiet machine): a small
version, with the small model, one question per phase and two pages per ingest job."""

from __future__ import annotations

import pytest

from evals.bench.live_corpus import bench_live, render
from tests.conftest import make_settings

pytestmark = [pytest.mark.model, pytest.mark.slow]


def test_the_live_corpus_bench_runs_and_renders(small_llm, tmp_path):
    def factory(name: str):
        return make_settings(tmp_path / name, llm_path=small_llm, llm_max_tokens=40)

    figures = bench_live(factory, per_phase=1, pages=2)
    assert figures["idle_n"] == 1 and figures["idle_p50_s"] > 0
    for phase in ("polite", "not_yielding"):
        assert figures[f"{phase}_passages"] > 0, figures  # each job really embedded
    assert figures["upload_job"] == "done"
    assert 0 < figures["upload_to_indexed_s"] < figures["upload_to_first_citing_answer_s"]
    section = "\n".join(render(figures))
    assert "| upload → first answer citing it |" in section
    assert "answer p50 / p95, no ingest (1 questions)" in section
