"""A judged sample: a person reads each delivered answer beside its cited passages and gold.

    guichet eval judge REPORT_FOLDER [--limit N]      # writes judge.csv and judge.html
    guichet eval judge REPORT_FOLDER --read           # reads the marks back: judged.json

``judge.csv`` has one row per delivered answer (refusals are not judged: they say nothing):
the question, what was shown (the answer text), the cited passages, the gold answer, and two
empty columns, ``mark`` (``juste``, ``trompeur`` or ``faux``) and ``note``. A re-written sheet
keeps the marks already given to the same answer (id, question, shown text and verdict). The
code metric ``wrong_delivered`` (evals.metrics) shares nothing with this: a person can see
what a rule cannot (a true row that misleads, an excerpt that answers another question).
"""

from __future__ import annotations

import csv
import html
import json
from collections import Counter
from pathlib import Path

from evals.results import load_folder

MARKS = ("juste", "trompeur", "faux")
FIELDS = ["id", "dataset", "question", "verdict", "shown", "cited_passages", "gold", "mark", "note"]


def rows(folder: Path, limit: int | None = None) -> list[dict[str, str]]:
    out = []
    for r in load_folder(folder):
        answer = r.get("answer") or {}
        if not answer or answer.get("verdict") == "refused" or not answer.get("sentences"):
            continue
        cited = {n for s in answer["sentences"] for n in s["source_ids"]}
        passages = "\n\n".join(
            f"[{s['id']}] {s['title']} — {s.get('section', '')}\n{s['excerpt']}"
            for s in answer.get("sources", [])
            if s["id"] in cited
        )
        item = r["item"]
        gold = item.get("gold_answer") or "; ".join(item.get("expected_facts", []))
        out.append(
            {
                "id": r["id"],
                "dataset": r.get("dataset", ""),
                "question": item["question"],
                "verdict": answer["verdict"],
                "shown": answer["text"],
                "cited_passages": passages,
                "gold": gold or f"(catégorie {item.get('category')})",
                "mark": "",
                "note": "",
            }
        )
    return out[:limit] if limit else out


def _key(row: dict[str, str]) -> tuple[str, str, str, str]:
    # A mark is about what was shown, label included: a new run that shows something else, or
    # the same excerpt under another verdict ("answered" vs "quoted"), is judged afresh.
    return (row["id"], row["question"], row["shown"], row["verdict"])


def _previous(path: Path | None) -> dict[tuple[str, str, str, str], dict[str, str]]:
    if path is None or not path.is_file():
        return {}
    with path.open(encoding="utf-8", newline="") as f:
        return {_key(r): r for r in csv.DictReader(f)}


def write_sheet(folder: Path, limit: int | None = None, marks_from: Path | None = None) -> Path:
    """``marks_from``: another sheet whose marks carry over to identical answers."""
    path = folder / "judge.csv"
    old = {**_previous(marks_from), **_previous(path)} if marks_from else _previous(path)
    sheet = rows(folder, limit)
    for row in sheet:
        before = old.get(_key(row))
        if before:
            row["mark"], row["note"] = before.get("mark", ""), before.get("note", "")
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        writer.writerows(sheet)
    (folder / "judge.html").write_text(_html(sheet), encoding="utf-8")
    return path


def _html(sheet: list[dict[str, str]]) -> str:
    cells = "".join(
        "<tr>"
        + "".join(
            f"<td><pre>{html.escape(row[k])}</pre></td>"
            for k in ("id", "question", "shown", "cited_passages", "gold", "mark")
        )
        + "</tr>"
        for row in sheet
    )
    head = "".join(f"<th>{k}</th>" for k in ("id", "question", "shown", "cited", "gold", "mark"))
    return (
        '<!doctype html><meta charset="utf-8"><title>guichet — feuille de jugement</title>'
        "<style>td{vertical-align:top;border:1px solid #ccc}pre{white-space:pre-wrap;"
        f"margin:0;font:12px sans-serif}}</style><table><tr>{head}</tr>{cells}</table>"
    )


def read_marks(folder: Path) -> dict:
    path = folder / "judge.csv"
    with path.open(encoding="utf-8", newline="") as f:
        sheet = list(csv.DictReader(f))
    marks = Counter(r["mark"].strip().lower() for r in sheet)
    bad = [m for m in marks if m and m not in MARKS]
    if bad:
        raise ValueError(f"marques inconnues {bad} : attendu {', '.join(MARKS)}")
    judged = sum(marks[m] for m in MARKS)
    summary = {
        "delivered": len(sheet),
        "judged": judged,
        **{m: marks[m] for m in MARKS},
        "false_or_misleading": marks["faux"] + marks["trompeur"],
        "false_or_misleading_rate": (marks["faux"] + marks["trompeur"]) / judged
        if judged
        else None,
        "not_right": [
            {"id": r["id"], "question": r["question"], "mark": r["mark"], "note": r["note"]}
            for r in sheet
            if r["mark"].strip().lower() in ("faux", "trompeur")
        ],
    }
    (folder / "judged.json").write_text(
        json.dumps(summary, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return summary
