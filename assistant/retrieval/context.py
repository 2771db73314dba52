"""Choose what the model reads: the passages of the retrieved chunks that best match the
question, within a token budget, numbered as the sources [1]..[n].

On CPU every prompt token costs ~10 ms, so instead of whole chunks we keep sentence windows
(a matching sentence and its neighbours) ranked by lexical match with the question and by the
chunk's retrieval rank; one source per chunk, its windows in document order.

Sentences addressed to a model (planted instructions, see ``assistant.grounding.instructions``)
are left out in both modes: the model cannot repeat what it never reads, and the facts check
then finds nothing planted in the cited source either.
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.core.answer import Chunk, Source, SourceUnit
from assistant.core.text import approx_tokens, content_stems, split_sentences
from assistant.grounding.instructions import instruction_match, without_instructions

TokenCounter = Callable[[str], int]


def _sentence_scores(question: str, sentences: list[str]) -> list[float]:
    q = set(content_stems(question))
    if not q:
        return [0.0] * len(sentences)
    return [len(q & set(content_stems(s))) / len(q) for s in sentences]


def pack_windows(
    scored: list[tuple[float, int, int]],
    lengths: list[int],
    window: int,
    *,
    header_cost: Callable[[int], int],
    item_cost: Callable[[int, int], int],
    budget_tokens: int,
) -> dict[int, set[int]]:
    """Greedy choice of item windows within a token budget, for both prompts.

    ``scored`` holds (match score, passage rank, item index); each item brings its neighbours
    (``window`` on each side). Best windows first, with a prior for better-ranked passages (a
    sentence of the best chunk beats an equal match further down) and for a passage's first
    item; a window adds only items not taken yet, and a passage's header is paid once. Returns
    the chosen item indices per passage rank."""
    ranked = sorted(
        (
            (score + 0.35 / (1 + rank) + (0.05 if i == 0 else 0.0), rank, i)
            for score, rank, i in scored
        ),
        key=lambda w: w[0],
        reverse=True,
    )
    chosen: dict[int, set[int]] = {}
    used = 0
    for _, rank, i in ranked:
        have = chosen.setdefault(rank, set())
        lo, hi = max(0, i - window), min(lengths[rank], i + window + 1)
        new = [j for j in range(lo, hi) if j not in have]
        if not new:
            continue
        cost = (0 if have else header_cost(rank)) + sum(item_cost(rank, j) for j in new)
        if used + cost > budget_tokens:
            continue
        have.update(new)
        used += cost
    return chosen


def select_context(
    question: str,
    chunks: list[Chunk],
    budget_tokens: int,
    count_tokens: TokenCounter = approx_tokens,
    mode: str = "windows",
    window: int = 1,
) -> list[Source]:
    """Numbered sources for the prompt; the first chunk is always represented."""
    if mode == "chunks":
        return _whole_chunks(chunks, budget_tokens, count_tokens)
    split = [without_instructions(split_sentences(c.text) or [c.text]) for c in chunks]
    scored = [
        (score, rank, i)
        for rank, sentences in enumerate(split)
        for i, score in enumerate(_sentence_scores(question, sentences))
    ]
    chosen = pack_windows(
        scored,
        [len(s) for s in split],
        window,
        header_cost=lambda rank: count_tokens(chunk_header(chunks[rank])) + 4,
        item_cost=lambda rank, i: count_tokens(split[rank][i]),
        budget_tokens=budget_tokens,
    )
    sources: list[Source] = []
    for rank in sorted(r for r, idx in chosen.items() if idx):
        idx = sorted(chosen[rank])
        parts, prev = [], None
        for i in idx:
            if prev is not None and i != prev + 1:
                parts.append("…")
            parts.append(split[rank][i])
            prev = i
        # One sentence per line: a list item "Dimanche : de 9 h à 12 h" must not run into the
        # next sentence, or the verifier compares a written sentence with both at once.
        sources.append(source_from_chunk(len(sources) + 1, chunks[rank], "\n".join(parts)))
    if not sources and split and split[0]:  # budget below any window: truncate the best chunk
        sources.append(source_from_chunk(1, chunks[0], "\n".join(split[0])[: budget_tokens * 3]))
    return sources


def _clean_text(chunk: Chunk) -> str:
    """The chunk's text without sentences addressed to a model (unchanged when there are none)."""
    if instruction_match(chunk.text) is None:
        return chunk.text
    return "\n".join(without_instructions(split_sentences(chunk.text)))


def _whole_chunks(chunks: list[Chunk], budget: int, count_tokens: TokenCounter) -> list[Source]:
    sources: list[Source] = []
    used = 0
    for chunk in chunks:
        text = _clean_text(chunk)
        if not text:
            continue
        cost = count_tokens(chunk_header(chunk)) + count_tokens(text) + 4
        if used + cost > budget and sources:
            break
        sources.append(source_from_chunk(len(sources) + 1, chunk, text))
        used += cost
    return sources


def chunk_header(chunk: Chunk | Source) -> str:
    """The line that names a passage in a prompt: its title and section."""
    return f"{chunk.title} — {chunk.section}" if chunk.section else chunk.title


def source_from_chunk(
    number: int, chunk: Chunk, excerpt: str, units: list[SourceUnit] | None = None
) -> Source:
    """Source [number] for a retrieved chunk, showing ``excerpt`` (and, in quote mode, the
    numbered ``units`` the excerpt is made of)."""
    return Source(
        id=number,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title=chunk.title or chunk.doc_id,
        url=chunk.url,
        path=chunk.path,
        page=chunk.page,
        section=chunk.section,
        excerpt=excerpt,
        updated=chunk.updated,
        ocr=chunk.ocr,
        ocr_confidence=chunk.ocr_confidence,
        score=chunk.score,
        units=units or [],
    )


def render_sources(sources: list[Source]) -> str:
    blocks = []
    for s in sources:
        head = chunk_header(s)
        blocks.append(f"[{s.id}] {head}\n{s.excerpt}")
    return "\n\n".join(blocks)
