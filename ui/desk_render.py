"""HTML and plain-text rendering of answers for the staff desk; pure functions, no Gradio.

Every piece of model or document text is passed through ``html.escape`` before it is put in
HTML: a document or an answer containing ``<script>`` must show as text. Links are only made
from ``http(s)`` URLs; file paths are shown as text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from html import escape

from assistant.core import messages as msg
from assistant.core.answer import Answer, Choice, Preview, Sentence, Source, Suggestions

D = msg.DESK
ANCHOR = "desk-src-{n}"
VERDICT_CLASSES = {"answered": "ok", "partial": "partial", "quoted": "quoted", "refused": "refused"}
CHECK_NAMES = {
    "citations": "citations valides",
    "facts": "faits vérifiés (chiffres, dates, contacts)",
    "support": "appui dans la source",
    "not_instruction": "pas une consigne cachée",
    "complete": "phrase complète (pas un titre ni une annonce de liste)",
    "on_topic": "sujet de la question présent dans les documents",
    "citation_corrected": "citation corrigée",
    "quote": "extrait verbatim",
    "verbatim": "texte exact du document (rien de reformulé)",
    "subject": "porte sur le sujet de la question (titre, section, phrase)",
    "one_document": "même document que le reste de la réponse",
    "polarity": "même sens que la source (négation, ouvert/fermé…)",
    "conditions": "conditions de la source conservées",
    "periods": "mêmes jours et périodes que la source",
    "bracket": "tranche du barème qui correspond à la question",
}


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip()).date()
    except ValueError:
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None


def french_date(value: str | None) -> str | None:
    day = parse_day(value)
    return day.strftime("%d/%m/%Y") if day else None


def is_old(updated: str | None, max_age_days: int, today: date | None = None) -> bool:
    day = parse_day(updated)
    return day is not None and ((today or date.today()) - day).days > max_age_days


def seconds_fr(ms: float) -> str:
    """Milliseconds as French seconds with one decimal: 31 700 → "31,7"."""
    return f"{ms / 1000:.1f}".replace(".", ",")


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s), else None (no ``javascript:`` or ``data:`` links)."""
    if url and re.match(r"^https?://", url.strip(), re.IGNORECASE):
        return url.strip()
    return None


def citation_links(ids: Iterable[int]) -> str:
    return "".join(
        f'<a class="cite" href="#{ANCHOR.format(n=n)}" aria-label="source {n}">[{n}]</a>'
        for n in ids
    )


def _verdict_label(verdict: str, mode: str = "quote") -> str:
    return msg.verdict_label(verdict, mode)


def verdict_badge(verdict: str | None, mode: str = "quote", *, short: bool = False) -> str:
    """``short``: the busy service's exact excerpt alone (Reason.busy_short)."""
    if verdict is None:
        return ""
    label = msg.BUSY_SHORT_LABEL if short else msg.verdict_label(verdict, mode)
    css = VERDICT_CLASSES.get(verdict, "refused")
    return (
        f'<span class="verdict verdict-{css}" role="status">'
        f"{escape(D['verdict'].format(label=label))}</span>"
    )


def answer_html(
    sentences: Sequence[Sentence], *, orientation: str | None = None, status: str = ""
) -> str:
    """The delivered sentences with [n] links to the source cards; the orientation when
    refused; a status line (queue position, progress) while the answer is being written."""
    parts = [
        f'<p class="sentence">{_context_html(s)}{escape(s.text)} {citation_links(s.source_ids)}</p>'
        for s in sentences
    ]
    if orientation:
        parts.append(f'<p class="orientation">{escape(orientation)}</p>')
    if status:
        parts.append(f'<p class="desk-status" role="status">{escape(status)}</p>')
    return f'<div class="answer" aria-live="polite">{"".join(parts)}</div>'


def preview_html(preview: Preview | None) -> str:
    """The exact excerpt streamed before the answer: the unit highlighted in its passage, its
    source cited, labelled as an excerpt (the verified answer replaces it)."""
    if preview is None:
        return ""
    source = preview.source
    where = _page_link(source.title, safe_url(source.url))
    return (
        '<div class="preview" role="note">'
        f'<p class="preview-label"><strong>{escape(msg.PREVIEW_LABEL)}</strong></p>'
        f'<blockquote class="preview-excerpt">{highlight(source.excerpt, [preview.sentence.text])}'
        f"</blockquote><p>[{source.id}] {where}</p></div>"
    )


def choice_label(choice: Choice) -> str:
    """A close document as the agent picks it: title and section, else its passage's start."""
    name = choice.title or choice.excerpt[:80]
    return f"{name} — {choice.section}" if choice.section else name


def suggestions_html(suggestions: Suggestions | None) -> str:
    """A refusal's closest pages (labelled: they may not answer), the contact found verbatim in
    the top one, and a note to ask again after a time-out."""
    if suggestions is None:
        return ""
    parts = []
    if suggestions.pages:
        items = "".join(
            f"<li>{_page_link(p.title, p.url or p.path)} <span class='meta'>"
            f"{escape(p.excerpt)}</span></li>"
            for p in suggestions.pages
        )
        parts.append(f"<p><strong>{escape(msg.SUGGESTED_PAGES)}</strong></p><ul>{items}</ul>")
    if suggestions.contact:
        c = suggestions.contact
        label = msg.SUGGESTED_CONTACT.format(title=c.title)
        parts.append(f'<p class="contact">{escape(label)} {escape(c.text)}</p>')
    if suggestions.retry:
        parts.append(f'<p class="retry">{escape(D["retry_hint"])}</p>')
    return f'<div class="suggestions">{"".join(parts)}</div>'


def _page_link(title: str, where: str | None) -> str:
    if where and where.lower().startswith(("https://", "http://")):
        href = escape(where, quote=True)
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{escape(title)}</a>'
    return escape(title) + (f" ({escape(where)})" if where else "")


def _context_html(sentence: Sentence) -> str:
    """The heading an exact excerpt sits under ("Pendant les vacances scolaires"): part of
    what the document says, so it is shown with the sentence."""
    if not sentence.context:
        return ""
    return f'<span class="context">{escape(sentence.context)} :</span> '


def _spans(text: str, needles: Iterable[str]) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) of each needle in text, whitespace-insensitive."""
    spans: list[tuple[int, int]] = []
    for needle in needles:
        words = needle.split()
        if not words:
            continue
        match = re.search(r"\s+".join(map(re.escape, words)), text)
        if match and not any(a < match.end() and match.start() < b for a, b in spans):
            spans.append(match.span())
    return sorted(spans)


def highlight(text: str, needles: Iterable[str]) -> str:
    """Escaped ``text`` with each needle wrapped in ``<mark>``."""
    out, pos = [], 0
    for start, end in _spans(text, needles):
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def supporting_by_source(sentences: Iterable[Sentence]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for s in sentences:
        if s.supporting_excerpt:
            for n in s.source_ids:
                found.setdefault(n, []).append(s.supporting_excerpt)
    return found


def source_card(
    source: Source,
    *,
    cited: bool,
    marks: Sequence[str],
    max_age_days: int,
    today: date | None = None,
) -> str:
    url = safe_url(source.url)
    where = (
        f'<a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a>'
        if url
        else f"<code>{escape(source.path or source.url or source.doc_id)}</code>"
    )
    meta = [where]
    if source.page:
        meta.append(escape(D["source_page"].format(page=source.page)))
    if source.ocr:  # a scan read by OCR: staff should check the figures against the page
        meta.append(escape(D["source_ocr"].format(confidence=source.ocr_confidence or 0)))
    updated = french_date(source.updated)
    meta.append(
        escape(D["source_updated"].format(date=updated) if updated else D["source_unknown_date"])
    )
    warning = ""
    if is_old(source.updated, max_age_days, today):
        old = escape(D["source_old"].format(days=max_age_days))
        warning = f'<p class="old-source" role="note">⚠ {old}</p>'
    section = f' <span class="section">› {escape(source.section)}</span>' if source.section else ""
    unused = escape(D["source_not_cited"])
    not_cited = "" if cited else f' <span class="not-cited">({unused})</span>'
    css = "src-card" if cited else "src-card src-unused"
    label = escape(D["source_card"].format(n=source.id))
    title = f"{escape(source.title)}{section}{not_cited}"
    return (
        f'<article class="{css}" id="{ANCHOR.format(n=source.id)}" tabindex="-1"'
        f' aria-label="{label}">'
        f'<h4><span class="src-num">[{source.id}]</span> {title}</h4>'
        f'<p class="src-meta">{" · ".join(meta)}</p>{warning}'
        f'<blockquote class="excerpt">{highlight(source.excerpt, marks)}</blockquote></article>'
    )


def sources_html(
    sources: Sequence[Source] | None,
    sentences: Sequence[Sentence],
    *,
    max_age_days: int,
    today: date | None = None,
) -> str:
    """Cards for every source given to the model, the cited ones first."""
    if not sources:
        return f'<p class="no-sources">{escape(D["no_sources"])}</p>'
    cited = {n for s in sentences for n in s.source_ids}
    marks = supporting_by_source(sentences)
    ordered = sorted(sources, key=lambda s: (s.id not in cited, s.id))
    cards = [
        source_card(
            s,
            cited=s.id in cited,
            marks=marks.get(s.id, []),
            max_age_days=max_age_days,
            today=today,
        )
        for s in ordered
    ]
    return f'<div class="src-cards">{"".join(cards)}</div>'


def _sentence_detail(s: Sentence) -> str:
    checks = "".join(
        f'<li class="{"pass" if c.passed else "fail"}">{"✓" if c.passed else "✗"} '
        f"{escape(CHECK_NAMES.get(c.name, c.name))} : "
        f"{escape(D['check_passed'] if c.passed else D['check_failed'])}"
        f"{' — ' + escape(c.detail) if c.detail else ''}</li>"
        for c in s.checks
    )
    score = (
        f" · {escape(D['support_score'].format(score=s.support_score))}"
        if s.support_score is not None
        else ""
    )
    cites = " ".join(f"[{n}]" for n in s.source_ids) or "—"
    return f"<li><q>{escape(s.text)}</q> {cites}{score}<ul>{checks}</ul></li>"


def details_html(
    delivered: Sequence[Sentence], rejected: Sequence[Sentence], reasons: Sequence[str] = ()
) -> str:
    if not delivered and not rejected and not reasons:
        return f"<p>{escape(D['details_empty'])}</p>"
    parts = []
    if reasons:
        items = "".join(f"<li>{escape(r)}</li>" for r in reasons)
        parts.append(f"<h4>{escape(D['reasons'])}</h4><ul>{items}</ul>")
    if delivered:
        items = "".join(_sentence_detail(s) for s in delivered)
        parts.append(f"<h4>{escape(D['delivered_heading'])}</h4><ol>{items}</ol>")
    if rejected:
        items = "".join(_sentence_detail(s) for s in rejected)
        parts.append(f"<h4>{escape(D['dropped_heading'])}</h4><ol>{items}</ol>")
    return f'<div class="check-details">{"".join(parts)}</div>'


def citizen_text(answer: Answer) -> str:
    """Plain text to read out, print or e-mail: the answer, then the cited sources' links."""
    if answer.verdict.value == "refused" or not answer.sentences:
        return answer.orientation or answer.text
    lines = [answer.text, "", D["citizen_sources"]]
    for s in answer.cited_sources:
        where = safe_url(s.url) or D["citizen_no_link"]
        page = f", {D['source_page'].format(page=s.page)}" if s.page else ""
        lines.append(f"[{s.id}] {s.title} — {where}{page}")
    return "\n".join(lines)


def history_html(history: Sequence[dict]) -> str:
    """Session history, newest first: question, verdict, answer text."""
    if not history:
        return f"<p>{escape(D['history_empty'])}</p>"
    items = "".join(
        f"<li><details><summary>{escape(h['time'])} — {escape(h['question'])} "
        f'<span class="verdict-small">'
        f"({escape(_verdict_label(h['verdict'], h.get('mode', 'quote')))})"
        f"</span></summary><p>{escape(h['text'])}</p></details></li>"
        for h in reversed(history)
    )
    return f'<ol class="history" reversed>{items}</ol>'


def per_day_html(per_day: Sequence[tuple[str, int]]) -> str:
    """Questions per day as a table with proportional bars (readable without a chart library,
    and by a screen reader)."""
    if not per_day:
        return ""
    top = max(n for _, n in per_day) or 1
    rows = "".join(
        f"<tr><td>{escape(french_date(day) or day)}</td><td>{n}</td>"
        f'<td aria-hidden="true"><span class="bar" style="width:{round(100 * n / top)}%">'
        f"</span></td></tr>"
        for day, n in per_day
    )
    return (
        f'<table class="per-day"><caption>{escape(D["stats_days"])}</caption>'
        f"<thead><tr><th>{escape(D['col_day'])}</th><th>{escape(D['col_questions'])}</th>"
        f"<th></th></tr></thead><tbody>{rows}</tbody></table>"
    )


def banner_html(error: str | None) -> str:
    if not error:
        return ""
    return (
        f'<div class="startup-error" role="alert">'
        f"{escape(D['startup_error'].format(error=error))}</div>"
    )


def notice_html(text: str, *, kind: str = "info") -> str:
    role = "alert" if kind == "error" else "status"
    return f'<p class="notice notice-{escape(kind)}" role="{role}">{escape(text)}</p>'
