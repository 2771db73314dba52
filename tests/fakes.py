"""Stand-ins behind the pipeline's own protocols, for the model-free unit tier.

They are deliberately simple but not trivial: the embedder and the retriever rank by the same
French stems the real BM25 uses, so a question about the pool finds the pool's passage, and the
term statistics are computed from the passages exactly as ``read_term_stats`` reads them from
Qdrant's sparse vectors. What they cannot show (e5's semantics, the model's choices) is what the
integration tier is for.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from assistant.core.answer import Chunk
from assistant.core.text import approx_tokens, content_stems
from assistant.generation.base import Usage
from assistant.index.sparse import encode_document
from assistant.retrieval.relevance import TermStats


class HashEmbedder:
    """Bag of stems hashed into a fixed number of dimensions, L2-normalised (Embedder)."""

    name = "hash-stems"
    dim = 256

    def _rows(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for stem in content_stems(text):
                rows[i, zlib.crc32(stem.encode()) % self.dim] += 1.0
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._rows(texts)

    def query(self, text: str) -> np.ndarray:
        return self._rows([text])[0]

    def sentences(self, texts: list[str]) -> np.ndarray:
        return self._rows(texts)


class MemoryRetriever:
    """Ranks a fixed list of passages by cosine of ``HashEmbedder`` rows (Retriever).

    ``dense_floor`` maps a cosine of 0 to a dense score e5 gives unrelated French text, and
    a cosine of 1 to 1.0, so the real relevance gate sees scores on e5's scale."""

    collection = "memory"

    def __init__(self, chunks: list[Chunk], dense_floor: float = 0.82) -> None:
        self.chunks = chunks
        self.embedder = HashEmbedder()
        self.dense_floor = dense_floor
        self._rows = self.embedder.passages([f"{c.title} {c.section} {c.text}" for c in chunks])
        df: Counter[int] = Counter()
        for c in chunks:
            df.update(set(encode_document(c.text)[0]))
        self._stats = TermStats(len(chunks), dict(df))
        self.searches: list[str] = []

    def search(
        self,
        query: str,
        k: int | None = None,
        *,
        service: str | None = None,
        document: str | None = None,
    ) -> list[Chunk]:
        self.searches.append(query)
        cos = self._rows @ self.embedder.query(query)
        order = np.argsort(-cos, kind="stable")
        if document:
            order = np.array([i for i in order if self.chunks[i].doc_id == document], dtype=int)
        out = []
        for i in order[: k or 5]:
            dense = self.dense_floor + (1 - self.dense_floor) * float(cos[i])
            out.append(
                self.chunks[i].model_copy(update={"score": float(cos[i]), "dense_score": dense})
            )
        return out

    def corpus_version(self) -> tuple:
        return (self.collection, len(self.chunks))

    def term_stats(self) -> TermStats:
        return self._stats


class ScriptedGenerator:
    """Replies with a fixed text, or with what ``reply(messages)`` returns (Generator)."""

    name = "scripted"
    backend = "fake"

    def __init__(self, reply: str | Callable[[list[dict[str, str]]], str]) -> None:
        self.reply = reply
        self.prompts: list[list[dict[str, str]]] = []
        self.grammars: list[str] = []

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]:
        self.prompts.append(messages)
        self.grammars.append(grammar)
        text = self.reply(messages) if callable(self.reply) else self.reply
        usage.prompt_tokens = sum(approx_tokens(m["content"]) for m in messages)
        usage.backend, usage.model = self.backend, self.name
        for piece in text.split(" "):
            usage.output_tokens += 1
            yield piece + " "

    def count_tokens(self, text: str) -> int:
        return approx_tokens(text)


class FakeClock:
    """A clock that only moves when told (``Pace(clock=...)``, ``PacedGenerator``)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class PacedGenerator(ScriptedGenerator):
    """A ``ScriptedGenerator`` on a slow machine: reading the prompt advances ``clock`` by
    prompt tokens / ``read_tps`` before the first piece, each further piece by 1 / ``write_tps``;
    past ``timeout_s`` of reading it raises ``GenerationTimeout`` as the real backends do."""

    def __init__(
        self,
        reply: str | Callable[[list[dict[str, str]]], str],
        clock: FakeClock,
        read_tps: float,
        write_tps: float,
        timeout_s: float = float("inf"),
    ) -> None:
        super().__init__(reply)
        self.clock, self.read_tps, self.write_tps, self.timeout_s = (
            clock,
            read_tps,
            write_tps,
            timeout_s,
        )

    def stream(
        self, messages: list[dict[str, str]], grammar: str, max_tokens: int, usage: Usage
    ) -> Iterator[str]:
        from assistant.generation.base import GenerationTimeout

        reading = sum(approx_tokens(m["content"]) for m in messages) / self.read_tps
        if reading > self.timeout_s:
            self.prompts.append(messages)
            self.clock.now += self.timeout_s
            raise GenerationTimeout(f"génération interrompue après {self.timeout_s:.0f} s")
        self.clock.now += reading
        for i, piece in enumerate(super().stream(messages, grammar, max_tokens, usage)):
            if i:
                self.clock.now += 1 / self.write_tps
            yield piece
