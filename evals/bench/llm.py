"""The raw engine the answer and thread benches compare with: llama-cpp-python on the very
prompt and grammar the pipeline builds, from the same cache state every time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from assistant.core.settings import Settings
from evals.timing import timed

Messages = list[dict[str, str]]


def open_llama(settings: Settings, threads: int | None = None, **extra: Any) -> Any:
    """The default GGUF as the pipeline opens it, at ``threads`` (default: the settings')."""
    from llama_cpp import Llama

    threads = threads or settings.generation.llm_threads
    return Llama(
        model_path=str(settings.gguf_path),
        n_ctx=settings.generation.llm_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        seed=settings.generation.llm_seed,
        verbose=False,
        **extra,
    )


def raw_prompt(
    question: str, retriever: Any, settings: Settings, count_tokens: Callable[[str], int]
) -> tuple[Messages, str]:
    """The pipeline's prompt and grammar for ``question``, for the raw engine to read."""
    from assistant.generation.prompt import build_messages, citation_grammar
    from assistant.retrieval.context import select_context

    chunks = retriever.search(question, settings.retrieval.top_k)
    sources = select_context(
        question,
        chunks,
        settings.retrieval.context_tokens,
        count_tokens,
        mode=settings.retrieval.context_mode,
    )
    return build_messages(question, sources), citation_grammar([s.id for s in sources])


def prime(llm: Any, instructions: str) -> None:
    """Leave llama.cpp's cache holding only the fixed instructions, as after any other request.

    Every timed run starts from this state so that no run profits from the previous one having
    read the same sources (the pipeline and the raw engine answer the same question in turn).
    """
    llm.reset()
    llm.create_chat_completion(
        messages=[
            {"role": "system", "content": instructions},
            {"role": "user", "content": "?"},
        ],
        max_tokens=1,
        temperature=0.0,
    )


def complete(llm: Any, messages: Messages, grammar: Any, max_tokens: int) -> tuple[float, int, str]:
    """(seconds, completion tokens, text) of one raw chat completion."""
    out, elapsed = timed(
        llm.create_chat_completion,
        messages=messages,
        grammar=grammar,
        temperature=0.0,
        max_tokens=max_tokens,
    )
    return elapsed, int(out["usage"]["completion_tokens"]), out["choices"][0]["message"]["content"]
