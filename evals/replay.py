"""Replay the current verifier on the stored answers of a ``--no-verify`` run, without a model.

    guichet eval replay reports/<date>-default-noverify

A ``--no-verify`` run stores every generated sentence with its sources and the decision the
verifier of that day would have made (``posthoc``). A change to the checks (a threshold, a new
rule) can then be measured in seconds: this command runs the verifier of the current code on
the same sentences and prints the verifier-effectiveness table before and after (sentences
labelled by the independent check), then every sentence whose decision changed. The answers
themselves are not regenerated: a change that alters prompts or retrieval needs a new run.
"""

from __future__ import annotations

from pathlib import Path

from assistant.core.answer import Answer
from assistant.core.settings import Settings
from evals import metrics
from evals.datasets import EvalItem
from evals.figures import verifier_summary
from evals.report import md_table
from evals.results import load_folder

COLUMNS = ("sentences", "removed_unsupported", "removed_good", "kept_unsupported", "kept_good")


def replay(folder: Path, settings: Settings | None = None) -> tuple[list[dict], list[dict]]:
    """(stored records, the same records re-verified by the current code), both rescored."""
    from assistant.core.settings import get_settings
    from assistant.index.embedding import load_embedder
    from assistant.pipeline import Assistant
    from evals.run import ensure_corpus, posthoc_decisions

    settings = settings or get_settings()
    records = [r for r in load_folder(folder) if r.get("answer") and r.get("posthoc") is not None]
    embedder = load_embedder(settings.index.embedder)
    assistants: dict[str, Assistant] = {}
    replayed = []
    for r in records:
        corpus = r["corpus"]
        if corpus not in assistants:
            collection = ensure_corpus(corpus, settings, collection=None, rebuild=False)
            assistants[corpus] = Assistant(settings, collection=collection, embedder=embedder)
        answer = Answer.model_validate(r["answer"])
        posthoc = posthoc_decisions(assistants[corpus], answer)
        item = EvalItem.model_validate(r["item"])
        scores = metrics.score(item, answer, r.get("retrieved"), posthoc)
        replayed.append({**r, "posthoc": posthoc, "scores": scores})
    return records, replayed


def changes(before: list[dict], after: list[dict]) -> list[tuple[str, str, str, str]]:
    """(id, sentence, stored decision, replayed decision) for every flipped sentence."""
    out = []
    for b, a in zip(before, after, strict=True):
        sentences = b["answer"]["sentences"]
        for s, old, new in zip(sentences, b["posthoc"], a["posthoc"], strict=True):
            if old["passed"] != new["passed"]:
                out.append((b["id"], s["text"], _decision(old), _decision(new)))
    return out


def _decision(p: dict) -> str:
    return "kept" if p["passed"] else "dropped: " + ", ".join(p.get("failed", []))


def render(before: list[dict], after: list[dict]) -> str:
    rows = []
    for label, records in (("stored", before), ("current code", after)):
        v = verifier_summary([r["scores"] for r in records])
        rows.append([label, *(str(v[c]) for c in COLUMNS)])
    table = md_table(["verifier", *COLUMNS], rows)
    flipped = changes(before, after)
    lines = [table, "", f"{len(flipped)} sentence(s) changed decision"]
    lines += [f"- {i}: {old} → {new}: {text[:160]}" for i, text, old, new in flipped]
    return "\n".join(lines)
