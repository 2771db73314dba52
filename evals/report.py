"""Aggregate results.jsonl into figures (:mod:`evals.figures`), and write report.md and
report.html (:mod:`evals.report_html`); compare two report folders. Every figure is recomputed
from the stored answers with the current metric code (:func:`evals.results.rescore`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from evals.figures import (
    DETAIL_TABLES,
    HEADLINE,
    VERDICTS,
    build,
    fmt_value,
    group,
    group_label,
    headline_rows,
    stage_table,
    summarise,
    verifier_table,
)
from evals.metrics import OUTCOMES
from evals.report_html import html_report
from evals.results import load_folder, rescored


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append(
            "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"
        )
    return "\n".join(lines)


def markdown(title: str, data: dict, meta: dict) -> str:
    groups = data["groups"]
    keys = list(groups)
    parts = [f"# {title}", ""]
    parts.append(
        f"Config `{meta.get('config', {}).get('name', '?')}`, verification "
        f"{'on' if meta.get('verify', True) else 'OFF (ablation)'}, datasets "
        f"{', '.join(meta.get('datasets', []))}"
        + (f", limit {meta['limit']}" if meta.get("limit") else "")
        + ". Definitions of every figure: evals/README.md."
    )
    parts += ["", "## Headline", ""]
    parts.append(
        md_table(
            ["metric", *[group_label(k) for k in keys]],
            headline_rows(groups),
        )
    )
    parts += ["", "## Outcomes (wrong first: the worst outcome)", ""]
    parts.append(
        md_table(
            ["group", *OUTCOMES],
            [[group_label(k), *[str(groups[k]["outcomes"][o]) for o in OUTCOMES]] for k in keys],
        )
    )
    wrong = data.get("wrong", [])
    if wrong:
        parts += ["", "Wrong but delivered:", ""]
        parts += [f"- `{w['id']}` {w['question']}: {'; '.join(w['reasons'])}" for w in wrong]
    parts += ["", "## Verdicts", ""]
    parts.append(
        md_table(
            ["group", *VERDICTS],
            [[group_label(k), *[str(groups[k]["verdicts"][v]) for v in VERDICTS]] for k in keys],
        )
    )
    parts += ["", "## Latency per stage (p50 / p95, seconds)", ""]
    parts.append(md_table(*stage_table(groups)))
    parts += ["", "## Verifier effectiveness", ""]
    parts.append(
        "Each generated sentence is labelled by the independent check (cited sources support it, "
        "no invented fact) and by the verifier's decision. In a `--no-verify` run the verifier is "
        "run afterwards on the same sentences, so this table is the ablation: what the checks "
        "remove and what they wrongly drop."
    )
    parts.append("")
    parts.append(md_table(*verifier_table(groups)))
    for title_, key, cols in DETAIL_TABLES:
        rows = data["details"].get(key, [])
        parts += ["", f"## {title_} ({len(rows)})", ""]
        if rows:
            parts.append(
                md_table(cols, [[str(r.get(c, ""))[:300] for c in cols] for r in rows[:60]])
            )
            if len(rows) > 60:
                parts.append(f"\n… {len(rows) - 60} more in results.jsonl")
    return "\n".join(parts) + "\n"


def write_reports(folder: Path, records: list[dict]) -> dict:
    records = rescored(records)
    meta_path = folder / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    data = build(records)
    title = f"guichet evals — {folder.name}"
    (folder / "report.md").write_text(markdown(title, data, meta), encoding="utf-8")
    (folder / "report.html").write_text(html_report(title, data, meta), encoding="utf-8")
    summary = {
        group_label(k): {m: v for m, v in s.items() if m != "verifier"}
        for k, s in data["groups"].items()
    }
    (folder / "summary.json").write_text(
        json.dumps(summary, indent=1, default=str), encoding="utf-8"
    )
    return data


# --------------------------------------------------------------------------------------------
# compare


def compare(a: Path, b: Path) -> str:
    """Side-by-side figures of two report folders, per dataset (and model when both have it)."""
    ra, rb = load_folder(a), load_folder(b)
    common = {r["id"] for r in ra} & {r["id"] for r in rb}
    note = ""
    if common and (
        len(common) < len({r["id"] for r in ra}) or len(common) < len({r["id"] for r in rb})
    ):
        ra = [r for r in ra if r["id"] in common]
        rb = [r for r in rb if r["id"] in common]
        note = f"restricted to the {len(common)} questions both folders answered"
    models_a = {r["model"] for r in ra}
    models_b = {r["model"] for r in rb}
    same_models = models_a == models_b

    def key(r: dict) -> tuple:
        return (r["model"] if same_models else "", r["dataset"])

    ga = {k: summarise(v) for k, v in group(ra, key).items()}
    gb = {k: summarise(v) for k, v in group(rb, key).items()}
    lines = [f"A = {a}", f"B = {b}"] + ([note] if note else [])
    if not same_models:
        lines.append(f"models: A {sorted(models_a)} vs B {sorted(models_b)}")
    for k in sorted(set(ga) | set(gb)):
        sa, sb = ga.get(k, {}), gb.get(k, {})
        title = " · ".join(x for x in k if x)
        lines += ["", f"== {title} (A n={sa.get('n', 0)}, B n={sb.get('n', 0)})"]
        lines.append(f"{'metric':38s} {'A':>10s} {'B':>10s} {'Δ (B−A)':>11s}")
        for m, label, good_high in HEADLINE:
            va, vb = sa.get(m), sb.get(m)
            if va is None and vb is None:
                continue
            delta = ""
            if isinstance(va, int | float) and isinstance(vb, int | float):
                d = vb - va
                pct = isinstance(va, float) and not (m.endswith("_s") or m.endswith("tokens"))
                if m == "mrr":
                    delta = f"{d:+.3f}"
                elif pct:
                    delta = f"{100 * d:+.1f} pt"
                else:
                    delta = f"{d:+.1f}" if isinstance(d, float) else f"{d:+d}"
                if d and good_high is not None and (d > 0) != good_high:
                    delta += " !"
            lines.append(
                f"{label:38s} {fmt_value(va, m):>10s} {fmt_value(vb, m):>10s} {delta:>11s}"
            )
    lines.append("\n'!' marks a change in the wrong direction.")
    return "\n".join(lines)


def rerender(folders: list[Path], every_run: bool = False) -> list[Path]:
    """Re-write the reports of ``folders`` with the current metric code (no model needed);
    ``every_run``: every run a folder's results.jsonl holds, not only the last."""
    for folder in folders:
        write_reports(folder, load_folder(folder, every_run=every_run))
    return [folder / "report.html" for folder in folders]
