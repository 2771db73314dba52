"""Benchmarks (``guichet bench …``): figures and ratios measured in one run, written to
BENCHMARKS.md; ratios compare guichet with the raw engine on the same machine, same run."""
