"""Website ingestion against a local HTTP server only (no outside address is ever touched):
sitemap index and sitemap, robots.txt obeyed, one host, requests spaced, linked PDFs fetched,
ETag and Last-Modified sent back (304), unchanged bytes not rewritten, vanished pages removed,
the real address kept as the page's source link."""

from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ingest.website import Site, mirror_path, repair, with_canonical
from tests.netguard import loopback_only

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def page(title: str, body: str) -> bytes:
    return (
        f"<html><head><title>{title} - Mairie</title></head><body><h1>{title}</h1>"
        f"<p>{body}</p><a href='/docs/arrete.pdf'>Arrêté</a>"
        "<a href='https://ailleurs.example/x.pdf'>ailleurs</a></body></html>"
    ).encode()


class City:
    """The pages a test site serves; ``hits`` records every request."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes]] = {}
        self.hits: list[tuple[str, str]] = []  # (path, status)
        self.modified = formatdate(1_700_000_000, usegmt=True)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        city = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = city.files.get(self.path)
                if found is None:
                    city.hits.append((self.path, "404"))
                    self.send_error(404)
                    return
                kind, data = found
                etag = '"' + hashlib.sha256(data).hexdigest()[:12] + '"'
                if self.headers.get("If-None-Match") == etag:
                    city.hits.append((self.path, "304"))
                    self.send_response(304)
                    self.end_headers()
                    return
                city.hits.append((self.path, "200"))
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", city.modified)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def city():
    site = City()
    server = ThreadingHTTPServer(("127.0.0.1", 0), site.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    html = "text/html; charset=utf-8"
    site.files.update(
        {
            "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /prive/\n"),
            "/sitemap.xml": (
                "application/xml",
                f"<sitemapindex xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                f"<sitemap><loc>{base}/pages.xml</loc></sitemap></sitemapindex>".encode(),
            ),
            "/pages.xml": (
                "application/xml",
                f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>"
                f"<url><loc>{base}/piscine/</loc></url>"
                f"<url><loc>{base}/cantine</loc></url>"
                f"<url><loc>{base}/prive/rh</loc></url>"
                f"<url><loc>https://ailleurs.example/page</loc></url></urlset>".encode(),
            ),
            "/piscine/": (html, page("Piscine", "Ouverte le mercredi de 10 h à 19 h.")),
            "/cantine": (html, page("Cantine", "Le repas coûte 3,20 €.")),
            "/prive/rh": (html, page("RH", "Interne.")),
            "/docs/arrete.pdf": ("application/pdf", PDF),
        }
    )
    with loopback_only():
        yield site, base
    server.shutdown()


def test_a_site_is_mirrored_politely_then_incrementally(city, tmp_path):
    site, base = city
    slept: list[float] = []
    mirror = tmp_path / "sites"
    first = Site(mirror, delay_s=0.2, sleep=lambda s: (slept.append(s), _sleep(s))).run(
        [base + "/sitemap.xml"]
    )
    assert sorted(first.fetched) == sorted(
        [f"{base}/piscine/", f"{base}/cantine", f"{base}/docs/arrete.pdf"]
    )
    assert (f"{base}/prive/rh", "interdit par robots.txt") in first.skipped
    assert ("https://ailleurs.example/page", "autre site") in first.skipped
    assert ("/prive/rh", "200") not in site.hits  # never requested
    assert slept and all(s <= 0.2 for s in slept)  # requests spaced by the delay

    piscine = mirror_path(mirror, f"{base}/piscine/", html=True)
    assert piscine.name == "index.html"
    assert f'<link rel="canonical" href="{base}/piscine/">' in piscine.read_text()
    assert mirror_path(mirror, f"{base}/cantine", html=True).suffix == ".html"
    assert mirror_path(mirror, f"{base}/docs/arrete.pdf", html=False).read_bytes() == PDF

    # Second run: ETags sent back, 304 for every page, nothing rewritten.
    site.hits.clear()
    stamp = piscine.stat().st_mtime_ns
    again = Site(mirror, delay_s=0.0).run([base + "/sitemap.xml"])
    assert not again.fetched and len(again.unchanged) == 3
    assert {status for path, status in site.hits if path in ("/piscine/", "/cantine")} == {"304"}
    assert piscine.stat().st_mtime_ns == stamp

    # A changed page is fetched again; a page gone from the sitemap leaves the mirror.
    site.files["/cantine"] = ("text/html", page("Cantine", "Le repas coûte 3,40 €."))
    pages = site.files["/pages.xml"][1].replace(
        f"<url><loc>{base}/piscine/</loc></url>".encode(), b""
    )
    site.files["/pages.xml"] = ("application/xml", pages)
    third = Site(mirror, delay_s=0.0).run([base + "/sitemap.xml"])
    assert third.fetched == [f"{base}/cantine"] and third.removed == [f"{base}/piscine/"]
    assert not piscine.exists()


def test_the_html_loader_gives_the_real_address(tmp_path):
    from ingest.loaders import open_file

    html = with_canonical(page("Piscine", "Ouverte le mercredi.").decode(), "https://ville.fr/p/")
    file = tmp_path / "ville.fr" / "p" / "index.html"
    file.parent.mkdir(parents=True)
    file.write_text(html, encoding="utf-8")
    docs = list(open_file(file, tmp_path, max_bytes=1_000_000).documents)
    assert docs[0].metadata["url"] == "https://ville.fr/p/"
    assert docs[0].metadata["title"] == "Piscine"


def test_addresses_given_to_the_command_line():
    assert repair(str(Path("https://ville.fr/plan.xml"))) == "https://ville.fr/plan.xml"
    assert with_canonical("<p>x</p>", 'https://a.fr/"x') == (
        '<link rel="canonical" href="https://a.fr/%22x"><p>x</p>'
    )


def _sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)
