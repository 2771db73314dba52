"""Redaction quality on the labelled French set: per-label span precision and recall.

    python -m evals.studies.redaction [--dataset holdout] [--no-names] [--errors] [--json out.json]

Span-level and overlap-based: a gold span is found when a predicted span of the same label
overlaps it; a predicted span is correct when it overlaps a gold span of its label. Structured
identifiers (e-mail, phone, NIR, IBAN, card) must keep recall ≥ 0.95; names and addresses are
reported separately (see tests/test_redact.py for the floors).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from assistant.records.redact import TOKENS, Span, find_personal_data
from evals.timing import timed

DATA = Path(__file__).resolve().parents[2] / "tests" / "data"
# "dev": the team's set, seen while writing the patterns; "holdout": written afterwards, with
# other formats and phrasings, to measure how far the patterns generalise.
DATASETS = {"dev": DATA / "redaction_fr.jsonl", "holdout": DATA / "redaction_fr_holdout.jsonl"}
DATASET = DATASETS["dev"]
STRUCTURED = ("EMAIL", "PHONE", "NIR", "IBAN", "CARD")
LABELS = (*STRUCTURED, "ADDRESS", "PERSON")


@dataclass
class Example:
    text: str
    spans: list[Span]


@dataclass
class LabelScore:
    gold: int = 0
    found: int = 0  # gold spans overlapped by a prediction of the same label
    predicted: int = 0
    correct: int = 0  # predictions overlapping a gold span of the same label

    @property
    def recall(self) -> float:
        return self.found / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass
class Report:
    scores: dict[str, LabelScore]
    errors: list[dict] = field(default_factory=list)
    ms_per_text: float = 0.0

    def structured_recall(self) -> float:
        gold = sum(self.scores[label].gold for label in STRUCTURED)
        found = sum(self.scores[label].found for label in STRUCTURED)
        return found / gold if gold else 1.0


def load(path: Path = DATASET) -> list[Example]:
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            spans = [Span(s["start"], s["end"], s["label"]) for s in row["spans"]]
            examples.append(Example(row["text"], spans))
    return examples


def _overlaps(a: Span, b: Span) -> bool:
    return a.label == b.label and a.start < b.end and b.start < a.end


def evaluate(examples: list[Example], *, names: bool | None = None) -> Report:
    scores = {label: LabelScore() for label in LABELS}
    errors = []
    elapsed = 0.0
    for ex in examples:
        predicted, took = timed(find_personal_data, ex.text, names=names)
        elapsed += took
        for g in ex.spans:
            scores[g.label].gold += 1
            if any(_overlaps(g, p) for p in predicted):
                scores[g.label].found += 1
            else:
                errors.append(
                    {"kind": "missed", "label": g.label, "span": ex.text[g.start : g.end]}
                )
        for p in predicted:
            scores.setdefault(p.label, LabelScore()).predicted += 1
            if any(_overlaps(p, g) for g in ex.spans):
                scores[p.label].correct += 1
            else:
                errors.append(
                    {"kind": "spurious", "label": p.label, "span": ex.text[p.start : p.end]}
                )
    return Report(scores, errors, elapsed * 1000 / max(1, len(examples)))


def table(report: Report) -> str:
    lines = [f"{'label':<10}{'gold':>6}{'pred':>6}{'precision':>11}{'recall':>8}"]
    for label, s in report.scores.items():
        lines.append(f"{label:<10}{s.gold:>6}{s.predicted:>6}{s.precision:>11.3f}{s.recall:>8.3f}")
    lines.append(f"structured identifiers recall: {report.structured_recall():.3f}")
    lines.append(f"{report.ms_per_text:.2f} ms per text")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="dev")
    parser.add_argument("--no-names", action="store_true", help="regular expressions only")
    parser.add_argument("--errors", action="store_true", help="list misses and false alarms")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    path = DATASETS[args.dataset]
    examples = load(path)
    names = False if args.no_names else None
    if names is None:
        find_personal_data("Bonjour", names=None)  # load spaCy outside the timing
    report = evaluate(examples, names=names)
    print(f"{len(examples)} texts, {sum(len(e.spans) for e in examples)} spans · {path.name}")
    print(table(report))
    if args.errors:
        for e in report.errors:
            print(f"  {e['kind']:<9}{e['label']:<9}{e['span']!r}")
    if args.json:
        payload = {
            "labels": {k: {**asdict(v), "precision": v.precision, "recall": v.recall}
                       for k, v in report.scores.items()},
            "structured_recall": report.structured_recall(),
            "ms_per_text": report.ms_per_text,
            "tokens": TOKENS,
        }  # fmt: skip
        args.json.write_text(json.dumps(payload, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
