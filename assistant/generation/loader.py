"""Build the generator the settings ask for: a pool of OpenAI-compatible servers when
``GUICHET_LLM_URLS`` is set, otherwise the GGUF in-process. Kept apart from both backends so
neither imports the other."""

from __future__ import annotations

from pathlib import Path

from assistant.core.settings import DEFAULT_LLM_FILE, Settings
from assistant.generation.base import Generator
from assistant.generation.local import LlamaCppGenerator
from assistant.generation.remote import ServerPoolGenerator
from assistant.index.provision import DEFAULT_LLM_SHA256


def pool_from_settings(settings: Settings) -> ServerPoolGenerator:
    """Build the pool from the ``GUICHET_LLM_*`` settings (docs/operations.md)."""
    key = (
        settings.generation.llm_api_key.get_secret_value()
        if settings.generation.llm_api_key
        else None
    )
    return ServerPoolGenerator(
        list(settings.generation.llm_urls),
        key,
        settings.generation.llm_timeout_s,
        connect_timeout_s=settings.generation.llm_connect_timeout_s,
        read_timeout_s=settings.generation.llm_read_timeout_s,
        health_interval_s=settings.generation.llm_health_interval_s,
        seed=settings.generation.llm_seed,
        grammar_param=settings.generation.llm_grammar_param,
        model=settings.generation.llm_model,
    )


def load_generator(settings: Settings, model_path: Path | None = None) -> Generator:
    """A new generator: the GGUF in-process (seconds and ~1.5 GB: build it once per process,
    ``assistant.components.Components.generator``) or, with ``GUICHET_LLM_URLS``, a pool of
    OpenAI-compatible servers (configuration only: see assistant/generation/remote.py)."""
    g = settings.generation
    if g.llm_urls:
        return pool_from_settings(settings)
    path = Path(model_path or settings.gguf_path)
    # The sha256 is only known for the default model; other GGUFs get the cheap checks.
    expected = DEFAULT_LLM_SHA256 if path.name == DEFAULT_LLM_FILE else None
    return LlamaCppGenerator(
        path,
        threads=g.llm_threads,
        n_ctx=g.llm_ctx,
        seed=g.llm_seed,
        timeout_s=g.llm_timeout_s,
        prompt_lookup=g.llm_prompt_lookup,
        expected_sha256=expected,
    )
