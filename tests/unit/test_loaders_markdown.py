"""Markdown of a Jekyll site: front matter keys, text rendered by a parser, ignored folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.grounding.units import split_units
from ingest.discovery import walk
from ingest.loaders import LoadError, load_file, render_markdown

PAGE = """---
layout: page
titre_page: "Horaires de la mairie"
date_texte: "vendredi 15 mars 2024"
permalink: /mairie/horaires/
---
<!-- mis à jour par le secrétariat -->
{% include bandeau.html %}
Horaires :<br/>
Le lundi de 09h00 à 12h30<br/>
Le jeudi de 09h00 à 12h30<br/>
Lien utile pour en savoir plus sur [la commune](https://www.exemple.fr/commune) et
![plan](/assets/plan.png) le plan d'accès.
{: .encadre}

Pièces à fournir :
- une **pièce d'identité** ;
- un justificatif de domicile.

| Jour | Horaires |
|---|---|
| Mercredi | de 10 h à 18 h |

<div class="contact"><p>Téléphone : <b>01 99 00 10 00</b></p></div>
"""


def load_page(tmp_path: Path, text: str, name: str = "horaires.md"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_file(path, tmp_path, max_bytes=10**6)


def test_jekyll_page_renders_to_what_a_reader_sees(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text('url: "https://www.exemple.fr"\nbaseurl: ""\n')
    (doc,) = load_page(tmp_path, PAGE).documents
    assert doc.metadata["title"] == "Horaires de la mairie"
    assert doc.metadata["updated"] == "2024-03-15"
    assert doc.metadata["url"] == "https://www.exemple.fr/mairie/horaires/"
    text = doc.text
    for leftover in ("<", ">", "](", "{%", "{:", "plan.png", "https://www.exemple.fr", "**"):
        assert leftover not in text, leftover
    lines = text.split("\n")
    assert "Le lundi de 09h00 à 12h30" in lines and "Le jeudi de 09h00 à 12h30" in lines
    assert "Lien utile pour en savoir plus sur la commune et" in lines
    assert "- une pièce d'identité ;" in lines
    assert "Mercredi : de 10 h à 18 h." in lines
    assert "Téléphone : 01 99 00 10 00" in lines
    # The answer stage's units: one per item and row, lead-in kept as their context.
    units = [u.text for u in split_units(text)]
    assert "une pièce d'identité ;" in units and "Mercredi : de 10 h à 18 h." in units


@pytest.mark.parametrize(
    ("front", "title", "url", "updated"),
    [
        ("title: A\nurl: https://x.fr/a\nupdated: 2024-01-02", "A", "https://x.fr/a", "2024-01-02"),
        ("titre: B\ndate: 2023-05-06", "B", None, "2023-05-06"),
        ("name: C\ndate_texte: 1er juin 2022", "C", None, "2022-06-01"),
        ("titre_page: D\npermalink: /d/", "D", "/d/", None),
    ],
)
def test_front_matter_keys(tmp_path: Path, front, title, url, updated) -> None:
    (doc,) = load_page(tmp_path, f"---\n{front}\n---\nUn paragraphe.\n").documents
    assert (doc.metadata["title"], doc.metadata["url"], doc.metadata["updated"]) == (
        title,
        url,
        updated,
    )


def test_unpublished_page_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="non publiée"):
        load_page(tmp_path, "---\ntitle: Brouillon\npublished: false\n---\nTexte.\n")


def test_demo_corpus_renders_as_before() -> None:
    """The parser changed no line of the demo pages but the markers it removes."""
    demo = Path(__file__).resolve().parents[2] / "corpora" / "demo" / "mediatheque.md"
    body = demo.read_text(encoding="utf-8").split("---", 2)[2]
    rendered = render_markdown(body)
    assert "| --- |" not in rendered and "|---|" not in rendered
    source_items = [ln.strip() for ln in body.splitlines() if ln.strip().startswith("- ")]
    assert source_items and all(item.replace("**", "") in rendered for item in source_items)


def test_jekyll_template_folders_and_unsupported_files_are_reported(tmp_path: Path) -> None:
    site = tmp_path / "site"
    for folder in ("_layouts", "_includes", "_site/services", "services", "archives", ".git"):
        (site / folder).mkdir(parents=True)
    (site / "_layouts" / "page.html").write_text("<html>{{ content }}</html>")
    (site / "_includes" / "footer.html").write_text("<footer/>")
    (site / "_site" / "services" / "index.html").write_text("<html/>")
    (site / ".git" / "HEAD").write_text("ref")
    (site / "services" / "etat-civil.md").write_text("# État civil\n")
    (site / "services" / "brouillon.md").write_text("# Brouillon\n")
    (site / "archives" / "budget.xlsx").write_bytes(b"PK")
    (site / "archives" / "vieux.md").write_text("# Vieux\n")
    (site / "Gemfile").write_text("source 'https://rubygems.org'")
    (site / ".guichetignore").write_text("services/brouillon.md\narchives/\n!archives/vieux.md\n")
    found = {f.doc_id: f.skipped for f in walk([site])}
    assert found["services/etat-civil.md"] is None
    assert "motif par défaut « _layouts/ »" in found["_layouts/"]
    assert "_includes/" in found and "_site/" in found
    assert not any(k.startswith(("_layouts/p", "_site/s")) for k in found)  # one entry a folder
    assert found[".git/"] == "fichier ou dossier caché"
    assert found["services/brouillon.md"] == (
        "ignoré par .guichetignore (motif « services/brouillon.md »)"
    )
    assert found["Gemfile"] == "format non pris en charge (sans extension)"
    # gitignore semantics: a file under an excluded folder cannot be re-included
    assert "archives/" in found and "archives/vieux.md" not in found
    assert ".guichetignore" not in found


def test_a_two_column_tables_header_stays_as_the_heading_of_its_rows():
    # "| Entrée | Prix |" dropped made "Carte de 10 entrées adulte : 38,00 €" the best match for
    # "combien coûte l'entrée adulte ?", over "Adulte : 4,50 €".
    text = render_markdown(
        "## Tarifs\n\n| Entrée | Prix |\n|---|---|\n| Adulte | 4,50 € |\n"
        "| Carte de 10 entrées adulte | 38,00 € |\n\n| Jour | Ouverture | Fermeture |\n"
        "|---|---|---|\n| Lundi | 9 h | 17 h |\n"
    )
    units = {u.text: u.context for u in split_units(text.split("## Tarifs", 1)[-1])}
    assert units["Adulte : 4,50 €."] == "Entrée — Prix"
    assert units["Carte de 10 entrées adulte : 38,00 €."] == "Entrée — Prix"
    # a wider table names its columns in every row instead
    assert "Lundi — Ouverture : 9 h ; Fermeture : 17 h." in units


def test_a_tables_header_under_a_condition_keeps_the_condition():
    text = render_markdown(
        "**En période scolaire**\n\n| Jour | Horaires |\n|---|---|\n| Mercredi | de 10 h à 18 h |\n"
    )
    (unit,) = [u for u in split_units(text) if u.text.startswith("Mercredi")]
    assert unit.context == "En période scolaire > Jour — Horaires"
