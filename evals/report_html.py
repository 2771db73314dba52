"""report.html: the figures as tables and inline SVG plots, self-contained (no external asset,
readable offline)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from evals.figures import (
    DETAIL_TABLES,
    VERDICTS,
    group_label,
    headline_rows,
    stage_table,
    verifier_table,
)

VERDICT_COLOURS = {
    "answered": "#2e7d32",
    "partial": "#9ccc65",
    "quoted": "#fbc02d",
    "refused": "#90a4ae",
    "rejected_input": "#5c6bc0",
    "error": "#c62828",
}

# (key, label, higher is better? None: neither) — the headline table and `guichet eval compare`.


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
            ["metric", *[group_label(k) for k in keys]],
            headline_rows(groups),
        )
    )
    body.append("<h2>Verdicts</h2>")
    body.append(
        svg_stacked(
            [(group_label(k), {v: groups[k]["verdicts"][v] for v in VERDICTS}) for k in keys],
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
        rows = [(group_label(k), groups[k].get(key)) for k in keys]
        if any(v is not None for _, v in rows):
            body.append(svg_bars(label, rows, good_high))
    body.append("</div>")
    body.append("<h2>Latency per stage (p50 / p95, s)</h2>")
    body.append(_html_table(*stage_table(groups)))
    body.append("<h2>Verifier effectiveness</h2>")
    body.append(
        '<p class="note">Independent label (cited sources support the sentence, no invented fact) '
        "against the verifier's decision. In a <code>--no-verify</code> run the verifier is run "
        "afterwards on the same sentences: this is the ablation. Curve: precision/recall of "
        "<code>support_score ≥ t</code> predicting the independent label; "
        "dot = operating point 0.5.</p>"
    )
    body.append(_html_table(*verifier_table(groups)))
    curves = [
        (group_label(k), groups[k]["verifier"]["curve"])
        for k in keys
        if groups[k]["verifier"]["curve"]
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
