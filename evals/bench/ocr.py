"""OCR benchmark: pages/s and character accuracy on scanned pages made from known French text.

Each page is typeset with PyMuPDF, rasterised (as a scanner would), optionally degraded
(blur, speckle), and wrapped as an image-only PDF; guichet's PDF loader then recognises it
back. Character accuracy is 1 - (Levenshtein distance / reference length) on text with
whitespace collapsed. The same generator serves the tests (tests/integration/test_loaders_ocr.py).

    guichet bench ocr [--pages 4] [--dpi 200]
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

PAGES = [
    "Horaires de la mairie\n\n"
    "La mairie est ouverte du lundi au vendredi, de 8 h 30 à 12 h et de 13 h 30 à 17 h. "
    "Le samedi matin, l'accueil de l'état civil reçoit sur rendez-vous de 9 h à 12 h.\n\n"
    "Pièces à fournir pour une carte d'identité : une photo d'identité récente, un "
    "justificatif de domicile de moins de trois mois et l'ancienne carte. Le délai moyen "
    "est de quatre semaines.",
    "Extrait du registre des délibérations du conseil municipal\n\n"
    "Séance du 14 mars 2024. L'an deux mille vingt-quatre, le quatorze mars à dix-huit "
    "heures, le conseil municipal, légalement convoqué, s'est réuni en séance publique sous "
    "la présidence de Monsieur le Maire.\n\n"
    "Objet : tarifs de la restauration scolaire. Le conseil municipal, après en avoir "
    "délibéré, fixe le prix du repas à 3,20 euros pour les élèves domiciliés dans la "
    "commune et à 4,80 euros pour les autres, à compter du 1er septembre 2024.",
    "Arrêté municipal portant réglementation de la circulation\n\n"
    "Article 1 : la circulation de tous les véhicules est interdite rue des Oliviers, entre "
    "la place de la République et l'avenue des Cigales, du lundi 3 juin au vendredi 14 juin "
    "inclus, de 7 h 30 à 18 h.\n\n"
    "Article 2 : une déviation est mise en place par le boulevard des Vignerons. Les "
    "riverains conservent l'accès à leur domicile.",
    "Règlement du cimetière communal\n\n"
    "Le cimetière est ouvert au public tous les jours, du 1er avril au 30 septembre de 8 h à "
    "19 h, et du 1er octobre au 31 mars de 8 h à 17 h. Les concessions sont accordées pour "
    "quinze, trente ou cinquante ans ; leur renouvellement doit être demandé dans les deux "
    "années qui suivent leur échéance.",
]


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def char_accuracy(reference: str, recognised: str) -> float:
    ref, hyp = _flat(reference), _flat(recognised)
    return max(0.0, 1.0 - levenshtein(ref, hyp) / max(1, len(ref)))


def scanned_pdf(
    texts: list[str], path: Path, *, dpi: int = 200, blur: float = 0.0, speckle: float = 0.0
) -> Path:
    """An image-only PDF, one page per text: typeset, rasterised at ``dpi``, degraded."""
    import io

    import pymupdf
    from PIL import Image, ImageFilter

    rng = random.Random(20261201)
    out = pymupdf.open()
    for text in texts:
        source = pymupdf.open()
        page = source.new_page()
        page.insert_textbox(pymupdf.Rect(60, 60, 535, 780), text, fontsize=11, fontname="helv")
        pix = page.get_pixmap(dpi=dpi, colorspace=pymupdf.csGRAY)
        image = Image.frombytes("L", (pix.width, pix.height), pix.samples)
        if blur:
            image = image.filter(ImageFilter.GaussianBlur(blur))
        if speckle:
            for _ in range(int(speckle * image.width * image.height)):
                xy = (rng.randrange(image.width), rng.randrange(image.height))
                image.putpixel(xy, 0 if image.getpixel(xy) > 127 else 255)  # type: ignore[operator]
        png = io.BytesIO()
        image.save(png, format="PNG")
        scan = out.new_page(width=page.rect.width, height=page.rect.height)
        scan.insert_image(scan.rect, stream=png.getvalue())
        source.close()
    out.save(str(path))
    out.close()
    return path


def run(pages: int, dpi: int, blur: float = 0.0, speckle: float = 0.0) -> dict[str, float]:
    """Recognise ``pages`` generated pages through the PDF loader; figures of the run."""
    from ingest.loaders import LoadOptions, load_file

    texts = [PAGES[k % len(PAGES)] for k in range(pages)]
    with tempfile.TemporaryDirectory() as tmp:
        pdf = scanned_pdf(texts, Path(tmp) / "scan.pdf", dpi=dpi, blur=blur, speckle=speckle)
        options = LoadOptions(ocr_min_confidence=0.0)  # measure every page, keep none back
        start = time.perf_counter()
        result = load_file(pdf, pdf.parent, max_bytes=10**9, options=options)
        seconds = time.perf_counter() - start
    by_page = {d.metadata["page"]: d for d in result.documents}
    accuracies = [
        char_accuracy(text, by_page[k].text) if k in by_page else 0.0
        for k, text in enumerate(texts, start=1)
    ]
    confidences = [d.metadata["ocr_confidence"] for d in result.documents]
    return {
        "pages": pages,
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages / seconds, 3),
        "char_accuracy": round(sum(accuracies) / len(accuracies), 4),
        "min_char_accuracy": round(min(accuracies), 4),
        "mean_confidence": round(sum(confidences) / max(1, len(confidences)), 1),
    }


QUALITIES = (
    ("clean", 0.0, 0.0),
    ("speckled 0.2 %", 0.0, 0.002),
    ("speckled 0.5 %", 0.0, 0.005),
    ("blurred (radius 2)", 2.0, 0.0),
    ("blurred (radius 3)", 3.0, 0.0),
)


def measure(pages: int = 4, dpi: int = 200) -> dict:
    """The figures of every scan quality (the ``ocr`` part of BENCHMARKS.json)."""
    rows = [{"scan": label, **run(pages, dpi, blur, speckle)} for label, blur, speckle in QUALITIES]
    return {"date": time.strftime("%Y-%m-%d"), "pages": pages, "dpi": dpi, "rows": rows}


def render(figures: dict) -> list[str]:
    """Markdown lines: one row per scan quality."""
    lines = [
        "",
        "## OCR (`guichet bench ocr`)",
        "",
        f"Measured {figures.get('date', '?')}: {figures['pages']} generated French pages per "
        f"quality, scanned at {figures['dpi']} dpi, recognised at 300 dpi by Tesseract (one "
        "thread), through guichet's PDF loader. Character accuracy is 1 - Levenshtein distance "
        "/ length. Pages under confidence 80 are not indexed (`GUICHET_OCR_MIN_CONFIDENCE`).",
        "",
        "| scan | pages/s | character accuracy (worst page) | mean confidence |",
        "|---|---|---|---|",
    ]
    for r in figures["rows"]:
        lines.append(
            f"| {r['scan']} | {r['pages_per_s']:.2f} | {r['char_accuracy']:.1%} "
            f"({r['min_char_accuracy']:.1%}) | {r['mean_confidence']:.1f} |"
        )
    return lines


def report(pages: int, dpi: int) -> str:
    """Figures of every scan quality, as markdown."""
    return "\n".join(render(measure(pages, dpi))).strip()
