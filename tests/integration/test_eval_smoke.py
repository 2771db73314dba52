"""The CI smoke gate with the default model: no invented source, every out-of-corpus refused."""

from __future__ import annotations

import pytest

from evals.smoke import run_smoke

pytestmark = [pytest.mark.slow, pytest.mark.model]


def test_smoke_gate(demo_settings, default_llm, tmp_path):
    result = run_smoke(
        demo_settings,
        folder=tmp_path / "smoke",
        demo_collection=demo_settings.index.collection,
        progress=False,
    )
    print(f"smoke eval: {result.summary.get('n')} questions in {result.seconds:.0f} s")
    assert result.summary.get("n") == 10
    assert (result.folder / "report.html").is_file()
    assert result.passed, "\n".join(result.failures)
