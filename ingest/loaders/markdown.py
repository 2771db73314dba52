"""Markdown pages (Jekyll and similar site exports): front matter, then text rendered by
markdown-it-py.

What reaches the index is what a reader of the page sees: inline HTML tags, ``<br/>``, link
targets, images, HTML comments, Liquid tags (``{% include … %}``) and kramdown attribute lines
go; the link texts stay. The layout the rest of guichet reads is kept: ``#`` headings (the
chunker cuts sections there), one line per list item (``- `` or ``1. ``) and per table row
(written as a sentence, "Mercredi : de 10 h à 18 h."), since the answer stage cuts units on
lines (``assistant/grounding/units.py``). A paragraph keeps its source lines, and blocks that
touch in the source (a lead-in line and its list) stay together.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from ingest.loaders.common import (
    LoadError,
    LoadOptions,
    LoadStream,
    iso_date,
    metadata,
    normalise_text,
    one_document,
    read_text,
    require_text,
    short,
    stem_title,
)
from ingest.tables import header_line, row_sentence

# First key found wins: Jekyll sites of French communes use their own names.
TITLE_KEYS = ("title", "titre", "titre_page", "name")
DATE_KEYS = ("updated", "last_modified_at", "date", "date_texte")
URL_KEYS = ("url", "permalink")

_ATX_HEADING = re.compile(r"^\s{0,3}#\s+(.+?)\s*#*\s*$", re.MULTILINE)
_LIQUID = re.compile(r"\{%.*?%\}|\{\{.*?\}\}", re.DOTALL)
_KRAMDOWN_ATTRIBUTES = re.compile(r"^[ \t]*\{:[^}\n]*\}[ \t]*$", re.MULTILINE)
_BR = re.compile(r"^<br\s*/?>$", re.IGNORECASE)
_HTML_BLOCK_TAGS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul")


@lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _inline_text(token: Any) -> str:
    """Visible text of an inline token: link texts without targets, no images, no tags."""
    out: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            out.append(child.content)
        elif child.type in ("softbreak", "hardbreak") or (
            child.type == "html_inline" and _BR.match(child.content.strip())
        ):
            out.append("\n")
        # images, other HTML tags, comments, link and emphasis markers: nothing
    # "…12h30<br/>" at the end of a source line: one line break, not a paragraph break
    return re.sub(r"\n[ \t]*\n", "\n", "".join(out))


def html_to_text(html: str) -> str:
    """Text of a raw HTML block: ``<br>`` and block ends become line breaks, list items
    "- " lines; comments, scripts and styles go."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (lxml.etree.ParserError, ValueError):
        return ""
    lxml.etree.strip_elements(root, lxml.etree.Comment, "script", "style", with_tail=False)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag == "br":
            element.tail = "\n" + (element.tail or "")
        elif element.tag in ("td", "th"):
            element.tail = " | " + (element.tail or "")
        elif element.tag in _HTML_BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag == "li":
                element.text = "- " + (element.text or "")
    lines = [re.sub(r"[ \t]+", " ", ln).strip(" |") for ln in root.text_content().split("\n")]
    return "\n".join(ln for ln in lines if ln)


def _table_rows(tokens: list[Any], start: int) -> tuple[list[str], int]:
    """Sentences of the table starting at ``tokens[start]`` and the index after it."""
    header: list[str] = []
    rows: list[str] = []
    cells: list[str] = []
    in_head = False
    i = start
    while tokens[i].type != "table_close":
        kind = tokens[i].type
        if kind == "thead_open":
            in_head = True
        elif kind == "thead_close":
            in_head = False
        elif kind == "tr_open":
            cells = []
        elif kind == "inline":
            cells.append(re.sub(r"\s+", " ", _inline_text(tokens[i])).strip())
        elif kind == "tr_close":
            if in_head:
                header = cells
                if head := header_line(header):
                    rows.append(head)
            elif sentence := row_sentence(header, cells):
                rows.append(sentence)
        i += 1
    return rows, i + 1


def render_markdown(source: str) -> str:
    """Markdown to the text guichet indexes (see the module docstring)."""
    source = _KRAMDOWN_ATTRIBUTES.sub("", _LIQUID.sub("", source))
    tokens = _parser().parse(source)
    blocks: list[tuple[str, int, int]] = []  # (text, first source line, line after it)
    lists: list[list[Any]] = []  # open lists: [ordered, next number]
    item_first = False  # the next paragraph starts a list item: gets its marker
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind, where = token.type, token.map
        text: str | None = None
        if kind in ("bullet_list_open", "ordered_list_open"):
            lists.append([kind == "ordered_list_open", int(token.attrGet("start") or 1)])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            item_first = True
        elif kind == "heading_open":
            text = "#" * int(token.tag[1]) + " " + _inline_text(tokens[i + 1]).replace("\n", " ")
            i += 2
        elif kind == "paragraph_open":
            text = _inline_text(tokens[i + 1])
            if item_first and lists:
                ordered, number = lists[-1]
                marker = f"{number}{tokens[i - 1].markup or '.'} " if ordered else "- "
                lists[-1][1] = number + 1
                text = marker + text
            item_first = False
            i += 2
        elif kind == "table_open":
            rows, i = _table_rows(tokens, i)
            text = "\n".join(rows)
            i -= 1
        elif kind in ("fence", "code_block"):
            text = token.content
        elif kind == "html_block":
            text = html_to_text(token.content)
        if text is not None and text.strip() and where is not None:
            blocks.append((text.strip("\n"), where[0], where[1]))
        i += 1
    out: list[str] = []
    previous_end: int | None = None
    for text, first, end in blocks:
        if previous_end is not None:
            out.append("\n" if first <= previous_end else "\n\n")
        out.append(text)
        previous_end = end
    return "".join(out)


def _first(front: dict[str, Any], keys: tuple[str, ...]) -> Any:
    return next((front[k] for k in keys if front.get(k) not in (None, "")), None)


@lru_cache(maxsize=64)
def _site_base(folder: Path) -> str | None:
    """The site address a Jekyll ``_config.yml`` gives (``url`` + ``baseurl``), if any."""
    import yaml

    try:
        config = yaml.safe_load((folder / "_config.yml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError):
        return None
    url = str(config.get("url") or "").rstrip("/") if isinstance(config, dict) else ""
    if not url.startswith(("http://", "https://")):
        return None
    return url + "/" + str(config.get("baseurl") or "").strip("/")


def page_url(value: object, path: Path, doc_id: str) -> str | None:
    """An absolute page address: a Jekyll permalink ("/etat-civil/") is joined to the site
    address of the nearest ``_config.yml`` between the page and the ingested folder."""
    url = short(value, 2000)
    if not url or url.startswith(("http://", "https://")):
        return url
    folder = path.resolve().parent
    for _ in range(doc_id.count("/") + 1):
        base = _site_base(folder)
        if base:
            return base.rstrip("/") + "/" + url.lstrip("/")
        folder = folder.parent
    return url


def _published(front: dict[str, Any]) -> bool:
    return front.get("published") not in (False, "false", "non", "no")


def load_markdown(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    import frontmatter

    text, warnings = read_text(data)
    try:
        post = frontmatter.loads(text)
        front, body = dict(post.metadata), post.content
    except Exception as exc:  # YAML errors come in many types
        warnings.append(f"en-tête YAML ignoré ({type(exc).__name__})")
        front, body = {}, text
    if not _published(front):
        raise LoadError("page non publiée (published: false dans l'en-tête)")
    body = require_text(normalise_text(render_markdown(body)))
    title = short(_first(front, TITLE_KEYS))
    if not title:
        heading = _ATX_HEADING.search(body)
        title = short(heading.group(1)) if heading else stem_title(path)
    meta = metadata(
        path,
        doc_id,
        "md",
        title=title,
        url=page_url(_first(front, URL_KEYS), path, doc_id),
        service=short(front.get("service")),
        updated=iso_date(_first(front, DATE_KEYS)),
    )
    return one_document(Document(id_=doc_id, text=body, metadata=meta), warnings)
