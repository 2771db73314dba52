"""Plain text (service-public fiches included) and HTML pages (main content by trafilatura)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from llama_index.core.schema import Document

from ingest import service_public
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


def load_text(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    text, warnings = read_text(data)
    require_text(text)
    if service_public.is_fiche_file(path):
        fiche = service_public.parse_fiche(path, text)
        body = require_text(fiche.body, "fiche sans contenu (seulement les libellés de situation)")
        situation = service_public.SITUATION_SEPARATOR.join(fiche.situation) or None
        meta = metadata(
            path,
            doc_id,
            "txt",
            title=short(fiche.title),
            url=fiche.url,
            service=fiche.service,
            situation=situation,
        )
        if fiche.title is None or not fiche.theme_path:
            warnings.append(f"fiche {fiche.fiche_id} absente du catalogue des thèmes")
        return one_document(Document(id_=doc_id, text=body, metadata=meta), warnings)
    body = require_text(normalise_text(text))
    first = next(ln for ln in body.split("\n") if ln.strip())
    meta = metadata(path, doc_id, "txt", title=short(first))
    return one_document(Document(id_=doc_id, text=body, metadata=meta), warnings)


def html_fallback_text(tree: Any) -> str:
    """Visible text without scripts and navigation when trafilatura finds no main content."""
    for bad in tree.xpath(
        "//script|//style|//noscript|//nav|//header|//footer|//aside|//form|//template"
    ):
        bad.drop_tree()
    body = tree.find("body")
    node = body if body is not None else tree
    blocks = []
    for element in node.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre"):
        text = re.sub(r"\s+", " ", element.text_content()).strip()
        if not text:
            continue
        tag = element.tag
        if isinstance(tag, str) and re.fullmatch(r"h[1-6]", tag):
            text = "#" * int(tag[1]) + " " + text
        elif tag == "li":
            text = "- " + text
        blocks.append(text)
    if not blocks:
        return re.sub(r"[ \t]+", " ", node.text_content())
    return "\n\n".join(blocks)


def _html_meta_date(tree: Any) -> str | None:
    """Only explicit modification / publication dates; never a guess from the page text."""
    for attr, name in (
        ("property", "article:modified_time"),
        ("name", "last-modified"),
        ("name", "dcterms.modified"),
        ("name", "DC.date.modified"),
        ("property", "article:published_time"),
        ("name", "date"),
        ("name", "dcterms.date"),
    ):
        for value in tree.xpath(f"//meta[@{attr}=$n]/@content", n=name):
            iso = iso_date(value)
            if iso and re.match(r"^\d{4}-\d{2}-\d{2}$", iso):
                return iso
    return None


def load_html(path: Path, data: bytes, doc_id: str, options: LoadOptions) -> LoadStream:
    import lxml.html
    import trafilatura

    text, warnings = read_text(data)
    require_text(text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses str with a declaration
    try:
        tree = lxml.html.fromstring(text)
    except Exception as exc:
        raise LoadError(f"HTML illisible: {exc}") from exc
    canonical = tree.xpath("//link[@rel='canonical']/@href")
    url = short(canonical[0], 2000) if canonical else None
    page_title = short(tree.findtext(".//title"))
    h1_nodes = tree.xpath("//h1")
    h1 = short(h1_nodes[0].text_content()) if h1_nodes else None
    # "<h1>Carte d'identité</h1>" in "<title>Carte d'identité - Mairie de X</title>": the h1
    # without the site name; an h1 unrelated to the title is often the site logo.
    title = h1 if h1 and page_title and h1.lower() in page_title.lower() else page_title or h1
    updated = _html_meta_date(tree)
    body = trafilatura.extract(
        text, output_format="markdown", include_tables=True, include_comments=False
    )
    if not body or not body.strip():
        warnings.append("contenu principal introuvable: texte brut de la page")
        body = html_fallback_text(lxml.html.fromstring(text))
    body = require_text(normalise_text(body), "page HTML sans texte")
    meta = metadata(path, doc_id, "html", title=title or stem_title(path), url=url, updated=updated)
    return one_document(Document(id_=doc_id, text=body, metadata=meta), warnings)
