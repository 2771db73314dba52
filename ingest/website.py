"""A city's website as a corpus: a sitemap (or a list of page addresses) fetched politely into
a local mirror, which the ordinary ingest then reads like any folder.

Polite: ``robots.txt`` is obeyed (its ``Crawl-delay`` too, when longer than ours), one request
at a time at least ``delay_s`` apart, only the host(s) of the given addresses, at most
``max_pages``. Incremental: each address's ``ETag`` and ``Last-Modified`` are kept
(``sites.state.json`` beside the mirror, so the ingest never meets it) and sent back, so an
unchanged page costs a ``304``; a page fetched again with the same bytes (same SHA-256) is not
rewritten, so the ingest's file hash skips it too. A page that disappeared from the sitemap
leaves the mirror, and ``--prune`` takes it out of the index.

An HTML page keeps its real address as its source link: a ``<link rel="canonical">`` is added
when the page has none (the HTML loader reads it). Linked PDFs and office files of the same host
are fetched too; their citation shows the file (the PDF loader has no address to give).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import urllib.robotparser
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from xml.etree import ElementTree

import httpx

USER_AGENT = "guichet (assistant d'accueil de la mairie; +https://github.com/guichet)"
DOCUMENT_SUFFIXES = (
    *(".pdf", ".docx", ".odt", ".ods", ".doc", ".rtf"),
    *(".xlsx", ".xls", ".odp", ".pptx", ".ppt"),
)
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_BYTES = 50 * 1024 * 1024


@dataclass
class SiteReport:
    fetched: list[str] = field(default_factory=list)  # new or changed
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (address, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def is_address(text: str) -> bool:
    return bool(re.match(r"^https?:/", text))


def repair(text: str) -> str:
    """``Path("https://x")`` reads "https:/x": give the address back its two slashes."""
    return re.sub(r"^(https?):/+", r"\1://", text)


def mirror_path(folder: Path, url: str, html: bool) -> Path:
    """Where ``url`` is kept: host/path, ``index.html`` for a folder, ``.html`` when the
    address has no suffix (the ingest picks its reader by suffix)."""
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if path.endswith("/"):
        path += "index.html"
    if parts.query:
        path += "-" + hashlib.sha256(parts.query.encode()).hexdigest()[:8]
    clean = [re.sub(r"[^\w.\-]+", "-", p).strip(".") or "_" for p in path.split("/") if p]
    target = folder / parts.netloc.replace(":", "_") / Path(*clean)
    if html and target.suffix.lower() not in (".html", ".htm"):
        target = target.with_name(target.name + ".html")
    return target


def with_canonical(html: str, url: str) -> str:
    if re.search(r"<link[^>]+rel=[\"']?canonical", html, re.I):
        return html
    tag = f'<link rel="canonical" href="{url.replace(chr(34), "%22")}">'
    head = re.search(r"<head[^>]*>", html, re.I)
    if head:
        return html[: head.end()] + tag + html[head.end() :]
    return tag + html


class Site:
    def __init__(
        self,
        mirror: Path,
        *,
        delay_s: float = 1.0,
        max_pages: int = 2000,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.mirror = mirror
        self.delay_s = delay_s
        self.max_pages = max_pages
        self.client = client or httpx.Client(
            headers={"User-Agent": USER_AGENT}, timeout=30, follow_redirects=True
        )
        self.sleep = sleep
        self._last = 0.0
        self._robots: dict[str, urllib.robotparser.RobotFileParser] = {}
        self.state: dict[str, dict[str, Any]] = self._load_state()
        self.requests: list[tuple[float, str]] = []  # (time, address): what politeness means

    # --- politeness ---------------------------------------------------------------------------
    def _get(self, url: str, headers: dict[str, str] | None = None) -> httpx.Response:
        robots = self._robots.get(urlsplit(url).netloc)
        delay = max(self.delay_s, float(robots.crawl_delay(USER_AGENT) or 0) if robots else 0)
        wait = self._last + delay - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last = time.monotonic()
        self.requests.append((self._last, url))
        return self.client.get(url, headers=headers or {})

    def allowed(self, url: str) -> bool:
        host = urlsplit(url).netloc
        if host not in self._robots:
            parser = urllib.robotparser.RobotFileParser()
            scheme = urlsplit(url).scheme
            try:
                response = self._get(f"{scheme}://{host}/robots.txt")
                lines = response.text.splitlines() if response.status_code == 200 else []
            except httpx.HTTPError:
                lines = []
            parser.parse(lines)  # no robots.txt: everything allowed
            self._robots[host] = parser
        return self._robots[host].can_fetch(USER_AGENT, url)

    # --- what to fetch ------------------------------------------------------------------------
    def addresses(self, starts: Iterable[str], report: SiteReport) -> list[str]:
        """Page addresses: sitemaps (and sitemap indexes) expanded, other addresses as given."""
        found: list[str] = []
        queue = [repair(u) for u in starts]
        hosts = {urlsplit(u).netloc for u in queue}
        seen: set[str] = set()
        while queue and len(found) < self.max_pages:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if urlsplit(url).netloc not in hosts:
                report.skipped.append((url, "autre site"))
                continue
            if not url.lower().endswith(".xml"):
                found.append(url)
                continue
            try:
                response = self._get(url)
                response.raise_for_status()
                root = ElementTree.fromstring(response.content)
            except (httpx.HTTPError, ElementTree.ParseError) as exc:
                report.failed.append((url, f"plan du site illisible : {exc}"))
                continue
            locs = [e.text.strip() for e in root.iter() if e.tag.endswith("loc") and e.text]
            if root.tag.endswith("sitemapindex"):
                queue += locs
                continue
            for loc in locs:  # a sitemap may list other sites' pages: never fetched
                if urlsplit(loc).netloc in hosts:
                    found.append(loc)
                else:
                    report.skipped.append((loc, "autre site"))
        return found[: self.max_pages]

    # --- fetching -----------------------------------------------------------------------------
    def fetch(self, url: str, report: SiteReport, kept: set[Path]) -> list[str]:
        """Fetch one address into the mirror; returns the document links an HTML page holds."""
        if not self.allowed(url):
            report.skipped.append((url, "interdit par robots.txt"))
            return []
        known = self.state.get(url, {})
        headers = {}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            headers["If-Modified-Since"] = known["last_modified"]
        try:
            response = self._get(url, headers)
        except httpx.HTTPError as exc:
            report.failed.append((url, f"injoignable : {exc}"))
            return []
        if response.status_code == 304 and known.get("path"):
            kept.add(Path(known["path"]))
            report.unchanged.append(url)
            return list(known.get("links", []))
        if response.status_code != 200:
            report.failed.append((url, f"HTTP {response.status_code}"))
            return []
        if len(response.content) > MAX_BYTES:
            report.failed.append((url, "trop volumineux"))
            return []
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        html = kind in HTML_TYPES
        if not html and not urlsplit(url).path.lower().endswith(DOCUMENT_SUFFIXES):
            report.skipped.append((url, f"type non pris en charge ({kind or 'inconnu'})"))
            return []
        data = response.content
        links: list[str] = []
        if html:
            text = response.text
            links = self._document_links(text, str(response.url))
            data = with_canonical(text, url).encode("utf-8")
        digest = hashlib.sha256(data).hexdigest()
        target = mirror_path(self.mirror, url, html)
        kept.add(target)
        if known.get("sha256") == digest and target.is_file():
            report.unchanged.append(url)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            report.fetched.append(url)
        self.state[url] = {
            "etag": response.headers.get("etag"),
            "last_modified": response.headers.get("last-modified"),
            "sha256": digest,
            "path": str(target),
            "links": links,
        }
        return links

    def _document_links(self, html: str, base: str) -> list[str]:
        host = urlsplit(base).netloc
        links = []
        for href in re.findall(r"""href\s*=\s*["']([^"'#]+)""", html, re.I):
            target = urljoin(base, href.strip())
            parts = urlsplit(target)
            if parts.netloc == host and parts.path.lower().endswith(DOCUMENT_SUFFIXES):
                links.append(urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, "")))
        return list(dict.fromkeys(links))

    def run(self, starts: Iterable[str]) -> SiteReport:
        """Mirror the site; files of earlier runs no longer listed are removed."""
        report = SiteReport()
        kept: set[Path] = set()
        starts = [repair(u) for u in starts]
        hosts = {urlsplit(u).netloc for u in starts}
        pages = self.addresses(starts, report)
        documents: list[str] = []
        for url in pages:
            documents += self.fetch(url, report, kept)
        for url in dict.fromkeys(d for d in documents if d not in pages):
            if len(kept) >= self.max_pages:
                break
            self.fetch(url, report, kept)
        for url, known in list(self.state.items()):
            path = Path(known.get("path", ""))
            if urlsplit(url).netloc in hosts and path not in kept:  # other sites: untouched
                path.unlink(missing_ok=True)
                report.removed.append(url)
                del self.state[url]
        self._save_state()
        return report

    # --- state --------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.mirror.with_name(self.mirror.name + ".state.json")

    def _load_state(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _save_state(self) -> None:
        self.mirror.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(self.state_path)


def site_folder(data_dir: Path) -> Path:
    return data_dir / "sites"


def mirror_site(
    starts: list[str], data_dir: Path, *, delay_s: float = 1.0
) -> tuple[Path, SiteReport]:
    """Mirror ``starts`` (sitemaps or pages) under ``data_dir/sites``; returns the folder to
    ingest and what was fetched."""
    folder = site_folder(data_dir)
    return folder, Site(folder, delay_s=delay_s).run(starts)
