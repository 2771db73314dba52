"""The exact preview on the demo set, without the model: how often a question gets one, how
often it holds the expected fact and comes from the expected document, and how often a
question that is not a plain answerable one gets one anyway.

    python -m evals.studies.preview [--collection demo] [--json out.json]

The preview (``assistant.answering.preview``) is computed before any model call, so the study
runs the pipeline with a generator that fails at once: only retrieval, the gate, the subject
check and the preview's own choice and checks run.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from assistant.core.answer import Preview, PreviewEvent
from assistant.core.offline import enforce_offline
from assistant.core.settings import get_settings
from assistant.core.text import approx_tokens, fold
from assistant.generation.base import GenerationError, Usage
from assistant.pipeline import Assistant

DATASET = Path(__file__).resolve().parents[1] / "datasets" / "demo.jsonl"


class NoModel:
    """Counts tokens like the default model roughly does; never generates."""

    name, backend = "none", "none"

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]:
        raise GenerationError("no model in this study")
        yield ""  # pragma: no cover


def _norm(text: str) -> str:
    return " ".join(fold(text).replace("\u202f", " ").replace("\xa0", " ").split())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    enforce_offline()
    settings = get_settings().model_copy(update={"answer_cache_size": 0})
    assistant = Assistant(settings, collection=args.collection, generator=NoModel())
    counts: Counter[str] = Counter()
    rows = []
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        preview: Preview | None = None
        for event in assistant.events(item["question"]):
            if isinstance(event, PreviewEvent):
                preview = event.preview
        kind = "answerable" if item["category"] == "answerable" else "other"
        counts[kind] += 1
        row = {"id": item["id"], "category": item["category"], "preview": None}
        if preview is not None:
            counts[f"{kind}_preview"] += 1
            shown = _norm(f"{preview.sentence.context} {preview.sentence.text}")
            fact = any(_norm(f) in shown for f in item.get("expected_facts", []))
            where = preview.source.path or preview.source.doc_id
            source = any(e in where for e in item.get("expected_sources", []))
            counts[f"{kind}_fact"] += fact
            counts[f"{kind}_source"] += source
            row.update(preview=preview.sentence.text, fact=fact, source=source)
        rows.append(row)
    n, got = counts["answerable"], counts["answerable_preview"]
    print(
        f"answerable: {got}/{n} with a preview; of those, {counts['answerable_fact']} hold an "
        f"expected fact, {counts['answerable_source']} come from an expected document"
    )
    print(
        f"other questions (two sources, baits, out of corpus): {counts['other_preview']}/"
        f"{counts['other']} with a preview"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"counts": counts, "rows": rows}, ensure_ascii=False, indent=1),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
