"""The context-budget curve (issue 8): one row per report folder, on the questions they share.

    python -m evals.studies.context_curve reports/A reports/B ... [--out curve.md]

Each folder is one point (a ``evals/configs/context/*.toml`` run, or the default run). Only the
question ids present in every folder count, so a full default run compares fairly with
``--limit 30`` points. Columns: the context mode and budget from the run's config hash, prompt
tokens, correct answers, invented sentences, out-of-corpus refusals, share refused, latency and
time to the first verified sentence.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from evals.figures import summarise
from evals.report import md_table
from evals.results import load_folder


def _settings(folder: Path, records: list[dict]) -> dict:
    """The settings of the run that produced ``records`` (from the folder's run.json)."""
    meta = json.loads((folder / "run.json").read_text())
    payload = meta["hashes"].get(records[0]["config_hash"], {}) if records else {}
    return payload.get("settings", {})


def curve(folders: list[Path]) -> tuple[int, list[dict]]:
    loaded = {f: load_folder(f) for f in folders}
    shared = set.intersection(*({r["id"] for r in recs} for recs in loaded.values()))
    rows = []
    for folder, records in loaded.items():
        kept = [r for r in records if r["id"] in shared]
        s = summarise(kept)
        first = s["stages"]["first sentence"][0]
        settings = _settings(folder, kept)
        rows.append(
            {
                "folder": folder.name,
                "mode": settings.get("context_mode", "windows"),
                "budget": settings.get("context_tokens", 700),
                "prompt_tokens": s["prompt_tokens"],
                "correct": s["correct"],
                "invented": s["invented_sentences"],
                "sentences": s["sentences"],
                "ooc_refused": s["ooc_refusal_recall"],
                "refused": s["share_refused"],
                "p50_s": s["p50_s"],
                "first_p50_s": first,
            }
        )
    rows.sort(key=lambda r: (r["mode"], int(r["budget"])))
    return len(shared), rows


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.0f} %"


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if x is None else fmt.format(x)


def render(n: int, rows: list[dict]) -> str:
    head = f"Context budget, {n} shared questions\n\n"
    return head + md_table(
        [
            "mode",
            "budget",
            "prompt tokens",
            "correct",
            "invented / delivered",
            "out-of-corpus refused",
            "refused",
            "p50",
            "first sentence p50",
        ],
        [
            [
                r["mode"],
                str(r["budget"]),
                _num(r["prompt_tokens"], "{:.0f}"),
                _pct(r["correct"]),
                f"{r['invented']} / {r['sentences']}",
                _pct(r["ooc_refused"]),
                _pct(r["refused"]),
                _num(r["p50_s"]) + " s",
                _num(r["first_p50_s"]) + " s",
            ]
            for r in rows
        ],
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    n, rows = curve(args.folders)
    text = render(n, rows)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
