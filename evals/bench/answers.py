"""Answers: the pipeline vs raw llama-cpp-python on the identical prompt and grammar; time to
the first verified sentence and to the full answer; grammar cost; the cached instruction
prefix; prompt-lookup decoding; the answer cache; peak RSS."""

from __future__ import annotations

import statistics
from typing import Any

from evals.bench.common import demo_questions, pct, peak_rss_mb
from evals.bench.ingest import SettingsFactory
from evals.bench.llm import complete, open_llama, prime, raw_prompt
from evals.timing import seconds, timed

SERIES = (
    "pipe",
    "first",
    "raw",
    "raw_cold",
    "nogrammar",
    "lookup",
    "tok_s",
    "lookup_tok_s",
    "prompt_tokens",
    "output_tokens",
)


def bench_answers(settings_factory: SettingsFactory, n_questions: int) -> dict:
    from llama_cpp import LlamaGrammar
    from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

    from assistant.generation.prompt import INSTRUCTIONS
    from assistant.pipeline import Assistant

    settings = settings_factory("ingest")
    questions = demo_questions(n_questions)
    assistant = Assistant(settings)
    gen = assistant.generator
    llm: Any = gen._llm  # type: ignore[attr-defined]
    m: dict[str, list[float]] = {k: [] for k in SERIES}
    verdicts: list[str] = []
    max_tokens = settings.generation.llm_max_tokens
    done: list[tuple[list, str, float, int, str, float]] = []
    for n, q in enumerate(questions, 1):
        prime(llm, INSTRUCTIONS)
        answer, pipe_s = timed(assistant.ask, q)
        m["pipe"].append(pipe_s)
        if answer.timings.first_sentence_ms is not None:
            m["first"].append(answer.timings.first_sentence_ms / 1000)
        m["prompt_tokens"].append(float(answer.prompt_tokens))
        verdicts.append(answer.verdict.value)
        # Raw engine: identical prompt and grammar, after retrieval (our work minus ours).
        messages, grammar_text = raw_prompt(q, assistant.retriever, settings, gen.count_tokens)
        grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
        prime(llm, INSTRUCTIONS)
        raw_s, tokens, text = complete(llm, messages, grammar, max_tokens)
        m["raw"].append(raw_s)
        m["output_tokens"].append(float(tokens))
        llm.reset()  # nothing cached: what the fixed instruction prefix saves
        m["raw_cold"].append(complete(llm, messages, grammar, max_tokens)[0])
        prime(llm, INSTRUCTIONS)
        m["nogrammar"].append(complete(llm, messages, None, max_tokens)[0])
        # The prompt read alone (one token out), to get generation speed by difference.
        prime(llm, INSTRUCTIONS)
        read_s = complete(llm, messages, None, 1)[0]
        done.append((messages, grammar_text, raw_s, tokens, text, read_s))
        print(f"[{n}/{len(questions)}] pipeline {pipe_s:.1f} s, raw {raw_s:.1f} s", flush=True)
    # Peak memory of what a desk runs (embedder, index, one model), before the bench loads a
    # second model for the prompt-lookup comparison.
    rss_pipeline = peak_rss_mb()
    lookup = open_llama(
        settings,
        draft_model=LlamaPromptLookupDecoding(num_pred_tokens=4),
        logits_all=True,  # see assistant/generation/local.py
    )
    same_lookup = 0
    for messages, grammar_text, raw_s, tokens, text, read_s in done:
        prime(lookup, INSTRUCTIONS)
        grammar = LlamaGrammar.from_string(grammar_text, verbose=False)
        lookup_s, lookup_tokens, lookup_text = complete(lookup, messages, grammar, max_tokens)
        m["lookup"].append(lookup_s)
        same_lookup += lookup_text == text
        if tokens > 1:
            m["tok_s"].append((tokens - 1) / max(raw_s - read_s, 1e-3))
            m["lookup_tok_s"].append((lookup_tokens - 1) / max(lookup_s - read_s, 1e-3))
    # Answer cache: a repeated question.
    repeat_ms = seconds(assistant.ask, questions[0]) * 1000

    def ratio(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(m[a], m[b], strict=True))

    return {
        "questions": len(questions),
        "pipeline_p50_s": pct(m["pipe"], 50),
        "pipeline_p95_s": pct(m["pipe"], 95),
        "first_sentence_p50_s": pct(m["first"], 50),
        "first_sentence_p95_s": pct(m["first"], 95),
        "raw_p50_s": pct(m["raw"], 50),
        "pipeline_vs_raw": ratio("pipe", "raw"),
        "grammar_cost": ratio("raw", "nogrammar"),
        "prefix_saving": ratio("raw_cold", "raw"),
        "lookup_vs_plain": ratio("lookup", "raw"),
        "tokens_per_s_p50": pct(m["tok_s"], 50),
        "lookup_tokens_per_s_p50": pct(m["lookup_tok_s"], 50),
        "lookup_same_output": same_lookup,
        "prompt_tokens_p50": pct(m["prompt_tokens"], 50),
        "output_tokens_p50": pct(m["output_tokens"], 50),
        "repeat_ms": repeat_ms,
        "peak_rss_pipeline_mb": rss_pipeline,
        "verdicts": {v: verdicts.count(v) for v in set(verdicts)},
        "model": gen.name,
    }
