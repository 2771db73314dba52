"""Section-aware chunking: sections, sizes, overlap, ids, metadata."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path

from llama_index.core.schema import Document, MetadataMode, NodeRelationship, RelatedNodeInfo

from ingest.chunking import (
    GUICHET_NS,
    SectionChunker,
    chunk_id,
    chunk_stats,
    split_sections,
    split_sentences,
)
from ingest.loaders import load_file

SENTENCE = "La mairie délivre ce document sur rendez-vous, du lundi au vendredi, au guichet {n}."


def doc(text: str, doc_id: str = "guide.md", **meta: object) -> Document:
    metadata = {
        "doc_id": doc_id,
        "title": "Guide",
        "url": None,
        "path": "/tmp/" + doc_id,
        "service": "Accueil",
        "updated": "2024-01-01",
        "page": None,
        "kind": "md",
        **meta,
    }
    return Document(id_=doc_id, text=text, metadata=metadata)


def long_paragraph(count: int, start: int = 0) -> str:
    return " ".join(SENTENCE.format(n=start + i) for i in range(count))


MARKDOWN = f"""# Guide

Introduction courte.

## Qui peut faire la demande ?

{long_paragraph(4)}

### Pièces à fournir

{long_paragraph(20, 100)}

## Délais

{long_paragraph(3, 200)}
"""


def test_headings_become_section_paths() -> None:
    sections = split_sections(MARKDOWN, title="Guide")
    paths = [s.path for s in sections]
    assert paths == [
        (),
        ("Qui peut faire la demande ?",),
        ("Qui peut faire la demande ?", "Pièces à fournir"),
        ("Délais",),
    ]
    nodes = SectionChunker()([doc(MARKDOWN)])
    sections_seen = [n.metadata["section"] for n in nodes]
    assert "Qui peut faire la demande ? > Pièces à fournir" in sections_seen
    assert sections_seen[-1] == "Délais"
    assert not any("#" in n.text for n in nodes)


def test_heading_inside_code_fence_is_text() -> None:
    text = "## Vrai\n\n```\n# pas un titre\n```\n"
    assert [s.path for s in split_sections(text)] == [("Vrai",)]


def test_chunks_respect_the_limit_and_sentences() -> None:
    nodes = SectionChunker(chunk_chars=400, overlap_chars=100)([doc(MARKDOWN)])
    assert len(nodes) > 5
    for node in nodes:
        assert len(node.text) <= 400
        # never cut inside a sentence: every chunk ends at a sentence end
        assert node.text.rstrip().endswith((".", "?", ":")), node.text


def test_overlap_repeats_whole_sentences() -> None:
    nodes = SectionChunker(chunk_chars=400, overlap_chars=120)([doc(long_paragraph(12))])
    assert len(nodes) >= 3
    for before, after in itertools.pairwise(nodes):
        first_sentence = split_sentences(after.text)[0]
        assert first_sentence in before.text  # the overlap comes from the previous chunk
        assert len(first_sentence) <= 120


def test_giant_sentence_is_cut_between_words() -> None:
    giant = " ".join(["mot"] * 600) + "."
    nodes = SectionChunker(chunk_chars=300, overlap_chars=50)([doc(giant)])
    assert len(nodes) >= 7
    assert all(len(n.text) <= 300 for n in nodes)
    assert all(not n.text.startswith(" ") and "mo t" not in n.text for n in nodes)


def test_tiny_trailing_section_merged_into_previous_of_same_top_section() -> None:
    text = (
        "## Cantine\n\n### Inscription\n\n"
        + long_paragraph(3)
        + "\n\n### Menus\n\nLes menus sont affichés.\n\n## Piscine\n\nHoraires d'été."
    )
    nodes = SectionChunker()([doc(text)])
    sections = [n.metadata["section"] for n in nodes]
    assert sections == ["Cantine", "Piscine"]
    assert "Menus\nLes menus sont affichés." in nodes[0].text


def test_short_first_subsection_takes_in_the_next_one_and_keeps_headings() -> None:
    text = (
        "## Demande\n\n### Au guichet\n\nVenez avec une pièce d'identité.\n\n"
        "### Par courrier\n\n" + long_paragraph(3) + "\n\n## Autre\n\nTexte."
    )
    nodes = SectionChunker()([doc(text)])
    assert nodes[0].metadata["section"] == "Demande"
    assert nodes[0].text.startswith(
        "Au guichet\nVenez avec une pièce d'identité.\n\nPar courrier\nLa mairie"
    )
    assert [n.metadata["section"] for n in nodes] == ["Demande", "Autre"]


def test_fiche_without_headings_uses_paragraphs_and_situation() -> None:
    lines = [SENTENCE.format(n=i) for i in range(30)]
    fiche = doc(
        "\n".join(lines),
        doc_id="F1234_x--y_--z.txt",
        kind="txt",
        situation="Majeur > Pièces à fournir > Première demande",
    )
    nodes = SectionChunker()([fiche])
    assert len(nodes) >= 3
    for node in nodes:
        assert node.metadata["section"] == "Majeur > Pièces à fournir > Première demande"
        assert all(line in lines for line in node.text.split("\n"))  # whole lines only
        assert len(node.text) <= 900


def test_lead_in_line_moves_with_its_list_and_is_never_lost() -> None:
    item = "- justificatif numéro {} à présenter au guichet, en original et en copie, daté de moins"
    items = "\n".join((item + " de trois mois, au nom du demandeur.").format(i) for i in range(6))
    text = long_paragraph(4) + "\nPièces à fournir :\n" + items
    nodes = SectionChunker(chunk_chars=400, overlap_chars=80)([doc(text)])
    assert any(n.text.startswith("Pièces à fournir :\n- justificatif") for n in nodes)
    giant_item = "- " + " ".join(["mot"] * 120)
    text = long_paragraph(3) + "\nPièces à fournir :\n" + giant_item
    nodes = SectionChunker(chunk_chars=400, overlap_chars=80)([doc(text)])
    assert "Pièces à fournir :" in "".join(n.text for n in nodes)


def test_table_header_repeated_on_continuation_chunks() -> None:
    rows = "\n".join(f"Salle {i} | / jour | {100 + i},00 € | {50 + i},00 €" for i in range(40))
    text = "Salles | Unité | Plein tarif | Demi-tarif\n" + rows
    nodes = SectionChunker(chunk_chars=400)([doc(text, doc_id="tarifs.pdf#p3", page=3)])
    assert len(nodes) >= 3
    for node in nodes:
        assert node.text.startswith("Salles | Unité | Plein tarif | Demi-tarif\n")
        assert len(node.text) <= 400


def test_ids_deterministic_metadata_and_relationships(tmp_path: Path) -> None:
    document = doc(MARKDOWN)
    first = SectionChunker()([document])
    second = SectionChunker()([doc(MARKDOWN)])
    assert [n.id_ for n in first] == [n.id_ for n in second]
    assert first[0].id_ == str(uuid.uuid5(GUICHET_NS, "guide.md::0")) == chunk_id("guide.md", 0)
    uuid.UUID(first[0].id_)  # Qdrant wants UUIDs
    for index, node in enumerate(first):
        assert node.metadata["chunk_index"] == index
        assert node.metadata["chunk_count"] == len(first)
        for key in ("doc_id", "title", "page", "url", "path", "updated", "section"):
            assert key in node.metadata
        source = node.relationships[NodeRelationship.SOURCE]
        assert isinstance(source, RelatedNodeInfo) and source.node_id == "guide.md"
        assert node.ref_doc_id == "guide.md"


def test_only_title_and_section_are_embedded() -> None:
    document = doc(MARKDOWN)
    document.metadata["content_hash"] = "abcdef"  # added by the pipeline before chunking
    node = SectionChunker()([document])[1]
    embedded = node.get_content(metadata_mode=MetadataMode.EMBED)
    assert embedded.startswith("title: Guide\nsection: Qui peut faire la demande ?")
    for hidden in ("/tmp/guide.md", "2024-01-01", "abcdef", "chunk_index", "Accueil", "doc_id"):
        assert hidden not in embedded
    assert node.get_content(metadata_mode=MetadataMode.LLM) == embedded
    assert node.text not in ("", None) and "title:" not in node.text


def test_pdf_pages_keep_page_numbers(tmp_path: Path) -> None:
    import pymupdf

    pdf = pymupdf.open()
    for n in range(1, 4):
        page = pdf.new_page()
        page.insert_text((72, 72), f"Page {n} : horaires du guichet numero {n}.")
    pdf.save(tmp_path / "horaires.pdf")
    documents = load_file(tmp_path / "horaires.pdf", tmp_path, max_bytes=10**6).documents
    nodes = SectionChunker()(documents)
    assert [n.metadata["page"] for n in nodes] == [1, 2, 3]
    assert len({n.id_ for n in nodes}) == 3
    assert nodes[1].id_ == chunk_id("horaires.pdf#p2", 0)
    assert all(n.metadata["doc_id"] == "horaires.pdf" for n in nodes)


def test_sentence_split_keeps_abbreviations() -> None:
    text = "Adressez-vous à M. Dupont. Voir l'art. 12 du règlement. Fin !"
    assert split_sentences(text) == [
        "Adressez-vous à M. Dupont.",
        "Voir l'art. 12 du règlement.",
        "Fin !",
    ]


def test_chunk_stats() -> None:
    nodes = SectionChunker(chunk_chars=400)([doc(MARKDOWN)])
    stats = chunk_stats(nodes)
    assert stats["count"] == len(nodes)
    assert stats["max_chars"] <= 400
    assert 0 < stats["median_chars"] <= stats["max_chars"]
    assert chunk_stats([])["count"] == 0
