"""The answer stages after retrieval: quote or paraphrase, then the finished ``Answer``."""
