"""The ``support`` rule of the verifier: thresholds, decision and score (see verify.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SupportThresholds:
    """Thresholds of the ``support`` rule; defaults from evals/calibrate/support.py."""

    # evals/calibration/support.json: SPF fiches, light rewrites vs hard negatives; report
    # half: precision 0.968, recall 0.994, hard negatives accepted 3.3 % (lexical only:
    # 0.949 / 0.980 / 5.2 %).
    min_overlap: float = 0.825  # overlap alone suffices
    min_overlap_semantic: float = 0.575  # overlap needed when the similarity is high
    min_similarity: float = 0.975
    similarity_floor: float = 0.91  # median similarity of hard negatives (score scaling only)
    lexical_only_overlap: float = 0.7  # the rule when no embedder is given


def support_decision(
    t: SupportThresholds, overlap: float, similarity: float | None
) -> tuple[bool, float]:
    """The ``support`` rule and its score in [0, 1] (passes exactly when score >= 0.5)."""
    if similarity is None:
        passed = overlap >= t.lexical_only_overlap
        branch = overlap / t.lexical_only_overlap
    else:
        passed = overlap >= t.min_overlap or (
            overlap >= t.min_overlap_semantic and similarity >= t.min_similarity
        )
        semantic = min(
            overlap / t.min_overlap_semantic,
            (similarity - t.similarity_floor) / (t.min_similarity - t.similarity_floor),
        )
        branch = max(overlap / t.min_overlap, semantic)
    return passed, float(np.clip(branch / 2, 0.0, 1.0))


@dataclass
class SupportResult:
    overlap: float
    similarity: float | None
    passed: bool
    score: float
    excerpt: str | None
    detail: str = ""
