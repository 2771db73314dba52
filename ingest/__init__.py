"""guichet ingest."""
