"""guichet evals."""
