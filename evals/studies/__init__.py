"""One-off studies, kept to re-run or to read how a figure was obtained (evals/README.md)."""
