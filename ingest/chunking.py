"""Section-aware chunking of loaded Documents into TextNodes with deterministic ids.

1. Markdown headings (``#`` … ``######``, outside code fences) cut a Document into sections;
   the heading path becomes the chunk's ``section`` ("Carte d'identité > Pièces à fournir").
   A heading equal to the Document title is not repeated in the path. service-public fiches
   have no headings: their situation labels (metadata ``situation``) prefix the path.
2. Inside a section, text is packed greedily up to ``chunk_chars``: paragraphs first; a
   paragraph too long is split into lines (list items, table rows), a line too long into
   sentences, and only a single sentence longer than the limit is cut between words.
3. Consecutive chunks of one section overlap by whole sentences/lines up to ``overlap_chars``.
4. A section shorter than ``min_section_chars`` is appended to the previous chunk when both
   share the same top heading and the result fits (and a short chunk left by one section
   takes in the start of the next one); the chunk's section becomes the common part of both
   paths, and the headings below it stay in the text as lines.

Only ``title`` and ``section`` are embedded / shown to the LLM with the text: every other
metadata key of the chunk is listed in ``excluded_embed_metadata_keys`` and
``excluded_llm_metadata_keys``.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from llama_index.core.schema import BaseNode, NodeRelationship, TextNode, TransformComponent

from assistant.core.text import split_prose as split_sentences

# Namespace of guichet's chunk ids: uuid5(GUICHET_NS, "<doc id>::<chunk index>"). Never change
# it: every stored point id derives from it.
GUICHET_NS = uuid.UUID("5b0f7c1e-3d7a-5c2b-9a0e-6f1d2c4b8e90")
SECTION_SEPARATOR = " > "
EMBED_METADATA_KEYS = ("title", "section")
REQUIRED_KEYS = ("doc_id", "title", "url", "path", "service", "updated", "page", "kind")

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def chunk_id(doc_id: str, index: int) -> str:
    """The Qdrant point id of chunk ``index`` of document ``doc_id``."""
    return str(uuid.uuid5(GUICHET_NS, f"{doc_id}::{index}"))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\W+", " ", letters).strip()


@dataclass
class Section:
    path: tuple[str, ...]
    text: str


def split_sections(text: str, title: str | None = None) -> list[Section]:
    """Cut Markdown text at its headings; each section keeps the path of headings above it."""
    title_key = _fold(title) if title else None
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    lines: list[str] = []
    path: tuple[str, ...] = ()
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            sections.append(Section(path, body))
        lines.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        flush()
        level, name = len(heading.group(1)), heading.group(2).strip()
        while stack and stack[-1][0] >= level:
            stack.pop()
        if not (title_key and _fold(name) == title_key and not stack):
            stack.append((level, name))
        path = tuple(name for _, name in stack)
    flush()
    return sections


def _hard_split(text: str, limit: int) -> list[str]:
    """Cut a giant sentence between words (or anywhere if it has no space)."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind(" ", 0, limit + 1)
        if cut <= limit // 3:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


@dataclass
class _Unit:
    text: str
    joiner: str  # how it joins the unit before it in the same chunk
    header: str | None = None  # header row of the table this line belongs to


_TABLE_CELL = " | "


def _table_header(lines: Sequence[str], budget: int) -> str | None:
    """The heading rows of a table block ("Salles | Unité | Plein tarif"), if it is one.

    Repeated atop the chunks that continue the table so that every row keeps its column
    names: the lines up to the first ``a | b`` row, then the following rows without digits.
    """
    first = next((k for k, ln in enumerate(lines[:3]) if _TABLE_CELL in ln), None)
    if first is None:
        return None
    end = first + 1
    while end < len(lines) and _TABLE_CELL in lines[end] and not re.search(r"\d", lines[end]):
        end += 1
    header = "\n".join(lines[:end])
    return header if len(header) <= budget and end < len(lines) else None


def _units(text: str, limit: int) -> list[_Unit]:
    """Paragraphs, or lines, or sentences, or word runs: the largest pieces within ``limit``."""
    units: list[_Unit] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        if len(paragraph) <= limit:
            units.append(_Unit(paragraph, "\n\n"))
            continue
        lines = [ln.strip() for ln in paragraph.split("\n") if ln.strip()]
        header = _table_header(lines, limit // 3)
        header_lines = set(header.split("\n")) if header else set()
        first_of_paragraph = True
        for line in lines:
            pieces = [line] if len(line) <= limit else split_sentences(line)
            for k, sentence in enumerate(pieces):
                joiner = "\n\n" if first_of_paragraph else ("\n" if k == 0 else " ")
                row_header = None if first_of_paragraph or line in header_lines else header
                for j, part in enumerate(_hard_split(sentence, limit)):
                    units.append(_Unit(part, joiner if j == 0 else " ", row_header))
                    first_of_paragraph = False
    return units


def _join(units: Sequence[_Unit]) -> str:
    out = ""
    for k, unit in enumerate(units):
        out += unit.text if k == 0 else unit.joiner + unit.text
    return out


def _overlap_tail(units: Sequence[_Unit], budget: int) -> list[_Unit]:
    """The last whole units (or sentences of the last unit) fitting in ``budget`` chars."""
    if budget <= 0 or not units:
        return []
    tail: list[_Unit] = []
    size = 0
    for unit in reversed(units):
        extra = len(unit.text) + (len(tail[0].joiner) if tail else 0)
        if size + extra > budget:
            break
        tail.insert(0, unit)
        size += extra
    if tail:
        return tail
    sentences = split_sentences(units[-1].text)
    picked: list[str] = []
    for sentence in reversed(sentences[1:]):  # never the whole unit
        if sum(map(len, picked)) + len(picked) + len(sentence) > budget:
            break
        picked.insert(0, sentence)
    return [_Unit(" ".join(picked), units[-1].joiner)] if picked else []


def _introduces(unit: _Unit) -> bool:
    return unit.text.rstrip().endswith(":") and len(unit.text) < 200


def pack(text: str, chunk_chars: int, overlap_chars: int) -> list[str]:
    """Pack one section's text into chunks of at most ``chunk_chars`` characters."""
    units = _units(text, chunk_chars)
    chunks: list[str] = []
    current: list[_Unit] = []
    for unit in units:
        candidate = len(_join([*current, unit])) if current else len(unit.text)
        if current and candidate > chunk_chars:
            # A lead-in line ("Pièces à fournir :") belongs with the list after it.
            carry = None
            if (
                len(current) > 1
                and _introduces(current[-1])
                and len(_join([current[-1], unit])) <= chunk_chars
            ):
                carry = current.pop()
            chunks.append(_join(current))
            if carry is not None:
                tail = [carry]
            elif unit.header is not None and _TABLE_CELL in unit.text:
                tail = [_Unit(unit.header, "\n\n")]
            else:
                budget = min(overlap_chars, len(chunks[-1]) // 2)
                tail = _overlap_tail(current, budget)
            current = tail if tail and len(_join([*tail, unit])) <= chunk_chars else []
        current.append(unit)
    if current:
        chunks.append(_join(current))
    return chunks


@dataclass
class _Chunk:
    path: tuple[str, ...]
    text: str


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        out.append(x)
    return tuple(out)


def _merge(first: _Chunk, second: _Chunk) -> _Chunk:
    """One chunk for two neighbours; headings below their common path become text lines."""
    common = _common_prefix(first.path, second.path)

    def labelled(chunk: _Chunk) -> str:
        below = SECTION_SEPARATOR.join(chunk.path[len(common) :])
        return f"{below}\n{chunk.text}" if below else chunk.text

    return _Chunk(common, labelled(first) + "\n\n" + labelled(second))


def embed_only(node: BaseNode, keys: Sequence[str] = EMBED_METADATA_KEYS) -> None:
    """Exclude every metadata key but ``keys`` from the embedded and the LLM-visible text.

    Call again after adding metadata to a node (hashes, redaction flags…): exclusions are
    a list of the keys present, not a whitelist.
    """
    excluded = [k for k in node.metadata if k not in keys or node.metadata[k] in (None, "")]
    node.excluded_embed_metadata_keys = list(excluded)
    node.excluded_llm_metadata_keys = list(excluded)


class SectionChunker(TransformComponent):
    """Documents -> TextNodes cut at headings and paragraphs (see the module docstring)."""

    chunk_chars: int = 900
    overlap_chars: int = 120
    min_section_chars: int = 200

    def __call__(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[TextNode]:
        out: list[TextNode] = []
        for node in nodes:
            out.extend(self.split(node))
        return out

    def _chunks(self, text: str, title: str | None, prefix: tuple[str, ...]) -> list[_Chunk]:
        chunks: list[_Chunk] = []
        small = self.min_section_chars
        previous_section: tuple[str, ...] | None = None
        for section in split_sections(text, title):
            pieces = pack(section.text, self.chunk_chars, self.overlap_chars)
            # Small neighbours under the same top heading share a chunk: a short section joins
            # the chunk before it, and a short chunk left by the previous section takes in the
            # first piece of this one.
            if (
                chunks
                and section.path
                and chunks[-1].path[:1] == section.path[:1]
                and (
                    (len(pieces) == 1 and len(section.text) < small)
                    or (len(chunks[-1].text) < small and previous_section != section.path)
                )
            ):
                merged = _merge(chunks[-1], _Chunk(section.path, pieces[0]))
                if len(merged.text) <= self.chunk_chars:
                    chunks[-1] = merged
                    pieces = pieces[1:]
            chunks.extend(_Chunk(section.path, piece) for piece in pieces)
            previous_section = section.path
        return [_Chunk((*prefix, *c.path), c.text) for c in chunks]

    def split(self, doc: BaseNode) -> list[TextNode]:
        meta = dict(doc.metadata)
        for key in REQUIRED_KEYS:
            meta.setdefault(key, None)
        if meta.get("doc_id") is None:
            meta["doc_id"] = doc.id_
        situation = meta.get("situation")
        prefix = tuple(s for s in str(situation).split(SECTION_SEPARATOR) if s) if situation else ()
        chunks = self._chunks(doc.get_content(), meta.get("title"), prefix)
        nodes: list[TextNode] = []
        for index, chunk in enumerate(chunks):
            node_meta = {
                **meta,
                "section": SECTION_SEPARATOR.join(chunk.path),
                "chunk_index": index,
                "chunk_count": len(chunks),
            }
            node = TextNode(id_=chunk_id(doc.id_, index), text=chunk.text, metadata=node_meta)
            node.relationships[NodeRelationship.SOURCE] = doc.as_related_node_info()
            embed_only(node)
            nodes.append(node)
        return nodes


def chunk_stats(nodes: Sequence[BaseNode]) -> dict[str, float]:
    """Count and size (characters) of chunks, for reports and for choosing ``chunk_chars``."""
    sizes = [len(n.get_content()) for n in nodes]
    if not sizes:
        return {"count": 0, "mean_chars": 0.0, "median_chars": 0.0, "max_chars": 0, "min_chars": 0}
    ordered = sorted(sizes)
    return {
        "count": len(sizes),
        "mean_chars": round(statistics.fmean(sizes), 1),
        "median_chars": float(statistics.median(sizes)),
        "p90_chars": ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))],
        "max_chars": ordered[-1],
        "min_chars": ordered[0],
    }
