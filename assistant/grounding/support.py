"""The ``support`` rule of the verifier: thresholds, decision and score (see verify.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assistant.core.settings import GroundingSettings, calibration


def _calibrated(key: str) -> Any:
    return field(default_factory=lambda: float(calibration("support")["thresholds"][key]))


@dataclass
class SupportThresholds:
    """Thresholds of the ``support`` rule; defaults from calibration/support.json (written by
    ``guichet calibrate support``), overridden by the ``grounding`` settings."""

    # SPF fiches, light rewrites vs hard negatives; report half: precision 0.968, recall
    # 0.994, hard negatives accepted 3.3 % (lexical only: 0.949 / 0.980 / 5.2 %).
    min_overlap: float = _calibrated("min_overlap")  # overlap alone suffices
    min_overlap_semantic: float = _calibrated("min_overlap_semantic")  # ... when similar
    min_similarity: float = _calibrated("min_similarity")
    similarity_floor: float = _calibrated("similarity_floor")  # hard negatives' median
    lexical_only_overlap: float = _calibrated("lexical_only_overlap")  # with no embedder

    @classmethod
    def from_settings(cls, grounding: GroundingSettings) -> SupportThresholds:
        return cls(
            min_overlap=grounding.support_min_overlap,
            min_overlap_semantic=grounding.support_min_overlap_semantic,
            min_similarity=grounding.support_min_similarity,
            similarity_floor=grounding.support_similarity_floor,
            lexical_only_overlap=grounding.support_lexical_only_overlap,
        )


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
