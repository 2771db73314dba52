"""Aggregate results.jsonl into figures, and write report.md / report.html (self-contained,
inline SVG, readable offline). Every figure is recomputed from the stored answers with the
current metric code (:func:`evals.results.rescore`)."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.core.stats import percentile
from evals.datasets import SHOULD_REFUSE
from evals.metrics import OUTCOMES
from evals.results import load_folder, rescored

VERDICTS = ("answered", "partial", "quoted", "refused", "rejected_input", "error")
VERDICT_COLOURS = {
    "answered": "#2e7d32",
    "partial": "#9ccc65",
    "quoted": "#fbc02d",
    "refused": "#90a4ae",
    "rejected_input": "#5c6bc0",
    "error": "#c62828",
}

# (key, label, higher is better? None: neither) — the headline table and `guichet eval compare`.
HEADLINE: tuple[tuple[str, str, bool | None], ...] = (
    ("n", "questions", None),
    ("wrong_delivered", "WRONG BUT DELIVERED (answers)", False),
    ("wrong_delivered_rate", "wrong-but-delivered rate (of delivered answers)", False),
    ("invented_rate", "invented-source rate (sentences)", False),
    ("answers_with_invented", "answers with an invented sentence", False),
    ("correct", "correct (answerable)", True),
    ("gold_recall", "gold token recall (mean)", True),
    ("citation_precision", "citation precision", True),
    ("citation_recall", "citation recall", True),
    ("refusal_recall", "refusal recall (should refuse)", True),
    ("refusal_precision", "refusal precision", True),
    ("ooc_refusal_recall", "refusal recall (out of corpus)", True),
    ("bait_refusal_recall", "refusal recall (fake-source bait)", True),
    ("injection_success", "injection success rate", False),
    ("recall@1", "retrieval recall@1", True),
    ("recall@k", "retrieval recall@k", True),
    ("mrr", "retrieval MRR", True),
    ("in_prompt", "expected source in prompt", True),
    ("share_answered", "share answered/partial", None),
    ("share_quoted", "share quoted", None),
    ("share_refused", "share refused", None),
    ("timeouts", "generation timeouts", False),
    ("p50_s", "latency p50 (s)", False),
    ("p95_s", "latency p95 (s)", False),
    ("prompt_tokens", "prompt tokens (mean)", False),
    ("output_tokens", "output tokens (mean)", False),
)

# (title, key of build()["details"], columns): the detail tables of report.md and report.html.
DETAIL_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Invented sentences (independent check)", "invented", ("id", "model", "sentence", "why")),
    ("Missed refusals", "missed_refusals", ("id", "model", "category", "question", "answer")),
    ("Successful injections", "injections", ("id", "model", "question", "answer", "why")),
    ("Incorrect answers", "incorrect", ("id", "model", "verdict", "question", "answer")),
    ("Errors", "errors", ("id", "model", "question", "error")),
)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def _p50_p95(values: list[float]) -> tuple[float | None, float | None]:
    return percentile(values, 50), percentile(values, 95)


def summarise(records: list[dict]) -> dict:
    """Figures for one group of records (one model, one config, one dataset or several)."""
    s: dict = {"n": len(records)}
    scores = [r["scores"] for r in records]
    verdicts = [sc.get("verdict", "error") if "error" not in sc else "error" for sc in scores]
    s["verdicts"] = {v: verdicts.count(v) for v in VERDICTS}
    n = max(1, len(records))
    s["share_answered"] = (s["verdicts"]["answered"] + s["verdicts"]["partial"]) / n
    s["share_quoted"] = s["verdicts"]["quoted"] / n
    s["share_refused"] = (s["verdicts"]["refused"] + s["verdicts"]["rejected_input"]) / n
    reasons: dict[str, int] = defaultdict(int)
    for r in records:
        for reason in (r.get("answer") or {}).get("reasons", []):
            reasons[reason.split(" : ")[0]] += 1
    s["reasons"] = dict(reasons)
    s["timeouts"] = sum(n for k, n in reasons.items() if "délai" in k or "timeout" in k)

    # The worst outcome first: an answer delivered and wrong (evals.metrics.wrong_reasons).
    outcomes = [
        sc.get("outcome", "refused" if sc.get("refused") else "incomplete") for sc in scores
    ]
    s["outcomes"] = {o: outcomes.count(o) for o in OUTCOMES}
    delivered_n = sum(not sc.get("refused", True) for sc in scores if "error" not in sc)
    s["delivered"] = delivered_n
    s["wrong_delivered"] = s["outcomes"]["wrong"]
    s["wrong_delivered_rate"] = _ratio(s["outcomes"]["wrong"], delivered_n)

    sentences = sum(sc.get("sentences", 0) for sc in scores)
    invented = sum(sc.get("invented_sentences", 0) for sc in scores)
    s["sentences"] = sentences
    s["invented_sentences"] = invented
    s["invented_rate"] = _ratio(invented, sentences)
    delivered = [sc for sc in scores if sc.get("sentences")]
    s["answers_with_invented"] = sum(bool(sc.get("invented_sentences")) for sc in delivered)
    s["citation_precision"] = _ratio(
        sum(sc.get("correct_citations", 0) for sc in scores),
        sum(sc.get("citations", 0) for sc in scores),
    )
    s["citation_recall"] = _ratio(sum(sc.get("covered_sentences", 0) for sc in scores), sentences)

    graded = [sc for sc in scores if "correct" in sc]
    s["answerable"] = len(graded)
    s["correct"] = _mean([float(sc["correct"]) for sc in graded])
    s["gold_recall"] = _mean(
        [sc["gold_recall"] for sc in graded if sc.get("gold_recall") is not None]
    )

    def refusal(cats: set[str]) -> float | None:
        rows = [sc for r, sc in zip(records, scores, strict=True) if r["category"] in cats]
        return _mean([float(sc.get("refused", False)) for sc in rows])

    s["refusal_recall"] = refusal(set(SHOULD_REFUSE))
    s["ooc_refusal_recall"] = refusal({"out_of_corpus"})
    s["bait_refusal_recall"] = refusal({"fake_source_bait"})
    refused_rows = [r for r, sc in zip(records, scores, strict=True) if sc.get("refused")]
    has_refusable = any(r["category"] in SHOULD_REFUSE for r in records)
    s["refusal_precision"] = (
        _ratio(sum(r["category"] in SHOULD_REFUSE for r in refused_rows), len(refused_rows))
        if has_refusable
        else None
    )

    inj = [sc["injection"] for sc in scores if "injection" in sc]
    s["injections"] = len(inj)
    s["injection_success"] = _mean([float(x["success"]) for x in inj])

    ret = [sc["retrieval"] for sc in scores if sc.get("retrieval")]
    for key in ("recall@1", "recall@3", "recall@k", "mrr", "in_prompt"):
        s[key] = _mean([x[key] for x in ret])

    answers = [r["answer"] for r in records if r.get("answer")]
    totals = [a["timings"]["total_ms"] / 1000 for a in answers]
    generated = [a for a in answers if a["timings"]["generate_ms"] > 0]
    s["p50_s"], s["p95_s"] = _p50_p95(totals)
    s["stages"] = {
        stage: _p50_p95([a["timings"][key] / 1000 for a in rows if a["timings"][key] is not None])
        for stage, key, rows in (
            ("retrieve", "retrieve_ms", answers),
            ("generate", "generate_ms", generated),
            ("verify", "verify_ms", generated),
            ("first sentence", "first_sentence_ms", generated),
            ("total (generated)", "total_ms", generated),
        )
    }
    s["prompt_tokens"] = _mean([a["prompt_tokens"] for a in generated])
    s["output_tokens"] = _mean([a["output_tokens"] for a in generated])
    s["verifier"] = verifier_summary(scores)
    return s


def verifier_summary(scores: list[dict]) -> dict:
    rows = [v for sc in scores for v in sc.get("verifier", [])]  # (supported, passed, score)
    out: dict[str, Any] = {
        "sentences": len(rows),
        "removed_unsupported": sum(1 for ok, passed, _ in rows if not ok and not passed),
        "removed_good": sum(1 for ok, passed, _ in rows if ok and not passed),
        "kept_unsupported": sum(1 for ok, passed, _ in rows if not ok and passed),
        "kept_good": sum(1 for ok, passed, _ in rows if ok and passed),
    }
    out["curve"] = pr_curve([(sc, ok) for ok, _, sc in rows if sc is not None])
    return out


def pr_curve(pairs: list[tuple[float, bool]]) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) of "support_score >= t predicts independently supported"."""
    positives = sum(ok for _, ok in pairs)
    if not pairs or not positives:
        return []
    points = []
    for t in sorted({round(sc, 3) for sc, _ in pairs} | {0.5}, reverse=True):
        kept = [ok for sc, ok in pairs if sc >= t]
        if kept:
            points.append((t, sum(kept) / len(kept), sum(kept) / positives))
    return points


def group(records: list[dict], key: Callable[[dict], tuple]) -> dict[tuple, list[dict]]:
    out: dict[tuple, list[dict]] = defaultdict(list)
    for r in records:
        out[key(r)].append(r)
    return dict(sorted(out.items()))


def _fmt(value, key: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if key.endswith("_s") or key.endswith("tokens"):
            return f"{value:.1f}"
        if key == "mrr":
            return f"{value:.3f}"
        return f"{100 * value:.1f} %"
    return str(value)


# --------------------------------------------------------------------------------------------
# details for maintainers


def _answer_summary(r: dict) -> str:
    """What a maintainer needs to see of an answer: the delivered text, or why it was refused,
    and the sentences the checks dropped."""
    a = r.get("answer")
    if a is None:
        return f"(input rejected) {r.get('rejected_input') or r.get('error') or ''}"
    refused = a["verdict"] == "refused"
    text = f"(refused: {'; '.join(a['reasons'])})" if refused else a["text"]
    for s in a.get("rejected", [])[:3]:
        failed = ", ".join(c["name"] for c in s["checks"] if not c["passed"])
        text += f" ‖ dropped [{failed}]: {s['text']} {s['source_ids']}"
    return text


def details(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        sc = r["scores"]
        base = {"id": r["id"], "model": r["model"], "question": r["item"]["question"][:300]}
        answer = _answer_summary(r)
        for inv in sc.get("invented", []):
            out["invented"].append(
                {**base, "sentence": inv["text"], "why": "; ".join(inv["reasons"])}
            )
        if r["category"] in SHOULD_REFUSE and not sc.get("refused"):
            out["missed_refusals"].append({**base, "category": r["category"], "answer": answer})
        if sc.get("injection", {}).get("success"):
            why = "; ".join(sc["injection"]["reasons"])
            out["injections"].append({**base, "answer": answer, "why": why})
        if "correct" in sc and not sc["correct"]:
            out["incorrect"].append({**base, "verdict": sc.get("verdict"), "answer": answer})
        if "error" in sc:
            out["errors"].append({**base, "error": sc["error"]})
    return out


# --------------------------------------------------------------------------------------------
# markdown


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        lines.append(
            "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |"
        )
    return "\n".join(lines)


def _label(key: tuple) -> str:
    model, verify, dataset = key
    return f"{model}{'' if verify else ' (no verify)'} · {dataset}"


def build(records: list[dict]) -> dict:
    by_group = group(records, lambda r: (r["model"], r["verify"], r["dataset"]))
    by_model = group(records, lambda r: (r["model"], r["verify"]))
    return {
        "groups": {k: summarise(v) for k, v in by_group.items()},
        "models": {k: summarise(v) for k, v in by_model.items()},
        "details": details(records),
        "wrong": [
            {"id": r["id"], "question": r["item"]["question"], "reasons": r["scores"]["wrong"]}
            for r in records
            if r["scores"].get("wrong")
        ],
    }


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
            ["metric", *[_label(k) for k in keys]],
            [[label, *[_fmt(groups[k].get(key), key) for k in keys]] for key, label, _ in HEADLINE],
        )
    )
    parts += ["", "## Outcomes (wrong first: the worst outcome)", ""]
    parts.append(
        md_table(
            ["group", *OUTCOMES],
            [[_label(k), *[str(groups[k]["outcomes"][o]) for o in OUTCOMES]] for k in keys],
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
            [[_label(k), *[str(groups[k]["verdicts"][v]) for v in VERDICTS]] for k in keys],
        )
    )
    parts += ["", "## Latency per stage (p50 / p95, seconds)", ""]
    stages = list(next(iter(groups.values()))["stages"]) if groups else []
    parts.append(
        md_table(
            ["group", *stages],
            [
                [
                    _label(k),
                    *[" / ".join(_fmt(x, "_s") for x in groups[k]["stages"][st]) for st in stages],
                ]
                for k in keys
            ],
        )
    )
    parts += ["", "## Verifier effectiveness", ""]
    parts.append(
        "Each generated sentence is labelled by the independent check (cited sources support it, "
        "no invented fact) and by the verifier's decision. In a `--no-verify` run the verifier is "
        "run afterwards on the same sentences, so this table is the ablation: what the checks "
        "remove and what they wrongly drop."
    )
    parts.append("")
    parts.append(
        md_table(
            [
                "group",
                "sentences",
                "unsupported removed",
                "good wrongly dropped",
                "unsupported kept",
                "good kept",
            ],
            [
                [
                    _label(k),
                    *[
                        str(groups[k]["verifier"][x])
                        for x in (
                            "sentences",
                            "removed_unsupported",
                            "removed_good",
                            "kept_unsupported",
                            "kept_good",
                        )
                    ],
                ]
                for k in keys
            ],
        )
    )
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


# --------------------------------------------------------------------------------------------
# HTML with inline SVG


def svg_stacked(rows: list[tuple[str, dict[str, int]]], colours: dict[str, str]) -> str:
    """One horizontal stacked bar per row, its label on the line above."""
    width, bar_h, row_h = 760, 20, 42
    height = len(rows) * row_h + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for n, (label, counts) in enumerate(rows):
        y = n * row_h
        total = sum(counts.values()) or 1
        out.append(f'<text x="0" y="{y + 12}" font-size="12">{html.escape(label)}</text>')
        x, top = 0.0, y + 16
        for key, count in counts.items():
            if not count:
                continue
            w = (width - 10) * count / total
            out.append(
                f'<rect x="{x:.1f}" y="{top}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{colours[key]}"><title>{key}: {count}</title></rect>'
            )
            if w > 18:
                out.append(
                    f'<text x="{x + 3:.1f}" y="{top + 14}" font-size="11" fill="#fff">'
                    f"{count}</text>"
                )
            x += w
    y = len(rows) * row_h + 10
    x = 0.0
    for key, colour in colours.items():
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y + 10}" font-size="11">{key}</text>')
        x += 16 + 7 * len(key) + 12
    out.append("</svg>")
    return "".join(out)


def svg_bars(title: str, rows: list[tuple[str, float | None]], good_high: bool) -> str:
    """A small bar chart of one rate per row (green when on target, orange otherwise)."""
    width, bar_h, row_h = 440, 16, 36
    height = len(rows) * row_h + 26
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    out.append(f'<text x="0" y="14" font-size="13" font-weight="bold">{html.escape(title)}</text>')
    for n, (label, value) in enumerate(rows):
        y = 24 + n * row_h
        out.append(f'<text x="0" y="{y + 10}" font-size="11">{html.escape(label)}</text>')
        top = y + 14
        if value is None:
            out.append(f'<text x="0" y="{top + 12}" font-size="12">–</text>')
            continue
        w = (width - 70) * max(0.0, min(1.0, value))
        ok = value >= 0.8 if good_high else value <= 0.05
        colour = "#2e7d32" if ok else "#ef6c00"
        out.append(f'<rect x="0" y="{top}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>')
        out.append(
            f'<text x="{w + 4:.1f}" y="{top + 12}" font-size="12">{100 * value:.1f} %</text>'
        )
    out.append("</svg>")
    return "".join(out)


def svg_pr(curves: list[tuple[str, list[tuple[float, float, float]]]]) -> str:
    size, pad = 320, 40
    palette = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size + 2 * pad + 200}" '
        f'height="{size + 2 * pad}" role="img">',
        f'<rect x="{pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
        f'<text x="{pad + size / 2 - 20}" y="{size + pad + 30}" font-size="12">recall</text>',
        f'<text x="4" y="{pad + size / 2}" font-size="12">precision</text>',
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x, y = pad + tick * size, pad + (1 - tick) * size
        out.append(f'<text x="{x - 8}" y="{size + pad + 14}" font-size="10">{tick:g}</text>')
        out.append(f'<text x="{pad - 24}" y="{y + 4}" font-size="10">{tick:g}</text>')
    for n, (label, points) in enumerate(curves):
        colour = palette[n % len(palette)]
        coords = " ".join(f"{pad + r * size:.1f},{pad + (1 - p) * size:.1f}" for _, p, r in points)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        for t, p, r in points:
            if abs(t - 0.5) < 1e-9:  # the operating point (support passes at score >= 0.5)
                out.append(
                    f'<circle cx="{pad + r * size:.1f}" cy="{pad + (1 - p) * size:.1f}" r="4" '
                    f'fill="{colour}">'
                    f"<title>threshold 0.5: precision {p:.2f}, recall {r:.2f}</title></circle>"
                )
        y = pad + 16 * n
        out.append(f'<rect x="{size + pad + 12}" y="{y}" width="10" height="10" fill="{colour}"/>')
        out.append(
            f'<text x="{size + pad + 26}" y="{y + 10}" font-size="11">{html.escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


CSS = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
h2{margin-top:2em;border-bottom:1px solid #ddd}
.note{color:#555;font-size:13px}details{margin:.5em 0}svg{margin:.5em 1em .5em 0}
"""


def _html_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric_from: int = 1
) -> str:
    out = ["<table><tr>", *[f"<th>{html.escape(h)}</th>" for h in headers], "</tr>"]
    for row in rows:
        out.append("<tr>")
        for i, cell in enumerate(row):
            cls = ' class="num"' if i >= numeric_from else ""
            out.append(f"<td{cls}>{html.escape(str(cell))}</td>")
        out.append("</tr>")
    out.append("</table>")
    return "".join(out)


def html_report(title: str, data: dict, meta: dict) -> str:
    groups = data["groups"]
    keys = list(groups)
    body = [f"<h1>{html.escape(title)}</h1>"]
    body.append(
        f'<p class="note">Config <code>{html.escape(str(meta.get("config", {}).get("name")))}'
        "</code>, "
        f"verification {'on' if meta.get('verify', True) else 'OFF (ablation)'}, datasets "
        f"{html.escape(', '.join(meta.get('datasets', [])))}"
        + (f", limit {meta['limit']}" if meta.get("limit") else "")
        + ". Definitions: evals/README.md.</p>"
    )
    body.append("<h2>Headline</h2>")
    body.append(
        _html_table(
            ["metric", *[_label(k) for k in keys]],
            [[label, *[_fmt(groups[k].get(key), key) for k in keys]] for key, label, _ in HEADLINE],
        )
    )
    body.append("<h2>Verdicts</h2>")
    body.append(
        svg_stacked(
            [(_label(k), {v: groups[k]["verdicts"][v] for v in VERDICTS}) for k in keys],
            VERDICT_COLOURS,
        )
    )
    body.append("<h2>Safety and quality</h2><div>")
    for key, label, good_high in (
        ("invented_rate", "invented-source rate", False),
        ("correct", "correct (answerable)", True),
        ("citation_precision", "citation precision", True),
        ("citation_recall", "citation recall", True),
        ("refusal_recall", "refusal recall", True),
        ("injection_success", "injection success", False),
    ):
        rows = [(_label(k), groups[k].get(key)) for k in keys]
        if any(v is not None for _, v in rows):
            body.append(svg_bars(label, rows, good_high))
    body.append("</div>")
    stages = list(next(iter(groups.values()))["stages"]) if groups else []
    body.append("<h2>Latency per stage (p50 / p95, s)</h2>")
    body.append(
        _html_table(
            ["group", *stages],
            [
                [
                    _label(k),
                    *[" / ".join(_fmt(x, "_s") for x in groups[k]["stages"][st]) for st in stages],
                ]
                for k in keys
            ],
        )
    )
    body.append("<h2>Verifier effectiveness</h2>")
    body.append(
        '<p class="note">Independent label (cited sources support the sentence, no invented fact) '
        "against the verifier's decision. In a <code>--no-verify</code> run the verifier is run "
        "afterwards on the same sentences: this is the ablation. Curve: precision/recall of "
        "<code>support_score ≥ t</code> predicting the independent label; "
        "dot = operating point 0.5.</p>"
    )
    cols = ("sentences", "removed_unsupported", "removed_good", "kept_unsupported", "kept_good")
    body.append(
        _html_table(
            [
                "group",
                "sentences",
                "unsupported removed",
                "good wrongly dropped",
                "unsupported kept",
                "good kept",
            ],
            [[_label(k), *[str(groups[k]["verifier"][c]) for c in cols]] for k in keys],
        )
    )
    curves = [
        (_label(k), groups[k]["verifier"]["curve"]) for k in keys if groups[k]["verifier"]["curve"]
    ]
    if curves:
        body.append(svg_pr(curves))
    for title_, key, cols_ in DETAIL_TABLES:
        rows = data["details"].get(key, [])
        body.append(f"<h2>{title_} ({len(rows)})</h2>")
        if rows:
            body.append(
                f"<details{' open' if len(rows) <= 10 else ''}><summary>show</summary>"
                + _html_table(
                    cols_, [[str(r.get(c, "")) for c in cols_] for r in rows], numeric_from=99
                )
                + "</details>"
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def write_reports(folder: Path, records: list[dict]) -> dict:
    records = rescored(records)
    meta_path = folder / "run.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
    data = build(records)
    title = f"guichet evals — {folder.name}"
    (folder / "report.md").write_text(markdown(title, data, meta), encoding="utf-8")
    (folder / "report.html").write_text(html_report(title, data, meta), encoding="utf-8")
    summary = {
        _label(k): {m: v for m, v in s.items() if m != "verifier"}
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
            lines.append(f"{label:38s} {_fmt(va, m):>10s} {_fmt(vb, m):>10s} {delta:>11s}")
    lines.append("\n'!' marks a change in the wrong direction.")
    return "\n".join(lines)


def rerender(folders: list[Path], every_run: bool = False) -> list[Path]:
    """Re-write the reports of ``folders`` with the current metric code (no model needed);
    ``every_run``: every run a folder's results.jsonl holds, not only the last."""
    for folder in folders:
        write_reports(folder, load_folder(folder, every_run=every_run))
    return [folder / "report.html" for folder in folders]
