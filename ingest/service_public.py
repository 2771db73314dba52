"""service-public.fr "fiches pratiques" in the plain-text export of etalab-ia/piaf-ml (2020).

A fiche is split into variant files, one per situation: ``F<id>_<slug>.txt``. The slug is made of
three parts separated by ``--`` (``apa-a-domicile--demande_--a-paris``), each the first 15
characters of one situation label, slugified. The file itself starts with those labels, each
on its own line and separated by blank lines, then the text::

    Apa à domicile          <- label 1

    Demande                 <- label 2

    À Paris                 <- label 3
    En ligne                <- first line of the text
    ...

The labels are *not* the fiche title: the title and theme path come from the site's theme tree
(``arborescence_spf_particuliers.json``). The rule used here to find the labels: the first N
non-empty lines whose folded alphanumeric form starts with the N slug parts of the file name
(checked on all 3,588 files of the 2020 export: all match); when a file was renamed and the
slug does not match, the leading one-line paragraphs followed by a blank line are the labels.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

CATALOGUE_NAME = "arborescence_spf_particuliers.json"
URL_TEMPLATE = "https://www.service-public.fr/particuliers/vosdroits/{id}"
FICHE_FILE = re.compile(r"^(F\d{1,6})_(.+)\.txt$", re.IGNORECASE)
SITUATION_SEPARATOR = " > "
_MAX_LABEL_CHARS = 300
# A line starting with punctuation is the tail of a sentence whose link text was cut out by
# the export ("... d'Action logement \n\n, si vous êtes salarié ..."): glue it back.
_ORPHAN_PUNCT = re.compile(r"^[,.;:)\]»]")


@dataclass(frozen=True)
class FicheInfo:
    title: str
    theme_path: list[str] = field(default_factory=list)


@dataclass
class ParsedFiche:
    fiche_id: str
    title: str | None
    situation: list[str]
    body: str
    url: str
    service: str | None
    theme_path: list[str]


def _fold_key(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", decomposed.lower())


@lru_cache(maxsize=8)
def load_catalogue(path: Path) -> dict[str, FicheInfo]:
    """Fiche id -> title and theme path (theme, sub-theme, dossier, sub-dossier names).

    A fiche listed under several dossiers keeps its first place in the tree.
    """
    tree = json.loads(Path(path).read_text(encoding="utf-8"))
    catalogue: dict[str, FicheInfo] = {}

    def walk(node: dict, parents: list[str]) -> None:
        name = " ".join((node.get("name") or "").split())  # NBSP before "?" -> space
        if node.get("type") == "fiche":
            fid = node.get("id")
            if fid and fid not in catalogue and name:
                catalogue[fid] = FicheInfo(title=name, theme_path=list(parents))
            return
        here = [*parents, name] if name else parents
        for child in node.get("data") or []:
            if isinstance(child, dict):
                walk(child, here)

    roots = tree.get("data") if isinstance(tree, dict) else tree
    for root in roots or []:
        if isinstance(root, dict):
            walk(root, [])
    return catalogue


def find_catalogue(file: Path) -> Path | None:
    """The theme tree in the fiche's folder or up to two parents above it."""
    return _catalogue_near(Path(file).resolve().parent)


@lru_cache(maxsize=64)
def _catalogue_near(folder: Path) -> Path | None:
    for candidate in [folder, *list(folder.parents)[:2]]:
        path = candidate / CATALOGUE_NAME
        if path.is_file():
            return path
    return None


def is_fiche_file(path: Path) -> bool:
    return FICHE_FILE.match(path.name) is not None


def split_situation(text: str, slug: str | None) -> tuple[list[str], str]:
    """Separate the leading situation labels from the fiche text."""
    lines = text.split("\n")
    parts = [_fold_key(p) for p in slug.split("--")] if slug else []
    parts = [p for p in parts if p]
    labels: list[str] = []
    i = 0
    if parts:
        # Rule 1: the labels announced by the file name's slug, in order.
        for part in parts:
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i >= len(lines):
                break
            candidate = lines[i].strip()
            if len(candidate) > _MAX_LABEL_CHARS or not _fold_key(candidate).startswith(part):
                break
            labels.append(candidate)
            i += 1
    if not labels:
        # Rule 2: leading one-line paragraphs (a short line followed by a blank line).
        i = 0
        while True:
            while i < len(lines) and not lines[i].strip():
                i += 1
            if i + 1 >= len(lines) or lines[i + 1].strip():
                break
            candidate = lines[i].strip()
            if len(candidate) > 120 or len(labels) >= 4:
                break
            labels.append(candidate)
            i += 1
    body = "\n".join(lines[i:])
    deduped = [lab for k, lab in enumerate(labels) if k == 0 or lab != labels[k - 1]]
    return deduped, body


def clean_fiche_body(body: str) -> str:
    """Undo the export's artefacts: orphan punctuation lines, runs of spaces."""
    out: list[str] = []
    pending_blank = False
    for raw in body.split("\n"):
        line = re.sub(r"[ \t\u00a0]+", " ", raw).strip()
        if not line:
            pending_blank = bool(out)
            continue
        if out and _ORPHAN_PUNCT.match(line):
            out[-1] = out[-1].rstrip() + line
            pending_blank = False
            continue
        if pending_blank:
            out.append("")
        out.append(line)
        pending_blank = False
    text = "\n".join(out)
    # "salarié ( autre" / "le , la" spacing left by removed links
    text = re.sub(r" +([,.)])", r"\1", text)
    return text.strip()


def parse_fiche(path: Path, text: str) -> ParsedFiche:
    """Title, situation, URL and theme of one variant file of a fiche."""
    match = FICHE_FILE.match(path.name)
    if match is None:
        raise ValueError(f"not a service-public fiche file name: {path.name}")
    fiche_id, slug = match.group(1).upper(), match.group(2)
    labels, body = split_situation(text, slug)
    info: FicheInfo | None = None
    catalogue_path = find_catalogue(path)
    if catalogue_path is not None:
        info = load_catalogue(catalogue_path).get(fiche_id)
    if info is not None:
        title: str | None = info.title
        theme_path = list(info.theme_path)
    else:
        first = next((ln.strip() for ln in text.split("\n") if ln.strip()), None)
        title, theme_path = first, []
    return ParsedFiche(
        fiche_id=fiche_id,
        title=title,
        situation=labels,
        body=clean_fiche_body(body),
        url=URL_TEMPLATE.format(id=fiche_id),
        service=theme_path[0] if theme_path else None,
        theme_path=theme_path,
    )
