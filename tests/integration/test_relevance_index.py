"""Term statistics read from a real Qdrant index of the demo corpus."""

from __future__ import annotations

import pytest

from assistant.retrieval.relevance import read_term_stats


@pytest.mark.model
def test_term_stats_come_from_the_index(demo_settings):
    from assistant.index.store import get_client

    client = get_client(demo_settings)
    stats = read_term_stats(client, demo_settings.index.collection, page=50)
    assert stats.points == client.count(demo_settings.index.collection).count
    assert stats.known("piscin") and not stats.known("patinoir")
    assert stats.idf("patinoir") > stats.idf("piscin") > stats.idf("mair")
