"""Chunks to Qdrant in small batches, each saved as it completes.

A batch is bounded by work, not by files: at most ``max_chunks`` chunks and ``max_bytes`` of
text, so one council's 300-page minutes fill many batches and a kill loses at most one of
them (a few seconds of embedding). After each batch the docstore is saved atomically with:

- the hash of every document (a page of a PDF) whose chunks are now all stored: a resumed or
  repeated ingest skips it;
- for the one document cut by the batch's end, how many of its chunks are stored and for which
  version (``guichet/partial``): a resume stores the rest, not the whole document again;
- the file hashes (``file::<id>``) of the files whose documents are all stored.

Chunk ids are deterministic (``ingest.chunking.chunk_id``), so a chunk written just before a
kill is overwritten, not duplicated; a document that changed has all its old chunks deleted
before its new ones are queued.

llama-index's ``IngestionPipeline`` did this before, one run per batch of 16 files: a run is
all or nothing and cannot record a half-stored document, so a batch holding 1,215 chunks of
minutes saved nothing for 19 minutes. The chunker and the embedder are still llama-index
transformations, the store its ``QdrantVectorStore``, the hashes its docstore.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llama_index.core.schema import BaseNode, Document
from llama_index.core.storage.docstore import SimpleDocumentStore

from ingest.reading import signed

PARTIAL = "guichet/partial"  # docstore collection: {doc id: {"hash", "done"}}


@dataclass
class _Entry:
    node: BaseNode | None  # None: a marker (an empty document, a completed file)
    doc_id: str
    doc_hash: str
    done: int  # chunks of the document stored once this entry is
    owner: Any = None
    doc: Document | None = None  # set on the entry that completes the document
    file_key: str | None = None  # set on the marker of a completed file

    @property
    def size(self) -> int:
        return len(self.node.get_content().encode()) if self.node is not None else 0


class ChunkWriter:
    def __init__(
        self,
        *,
        chunker: Callable[[Document], list[Any]],
        embed: Callable[[list[BaseNode]], Any],
        store: Any,
        docstore: SimpleDocumentStore,
        save: Callable[[], None],
        max_chunks: int,
        max_bytes: int,
        max_documents: int,
        on_stored: Callable[[int], None] | None = None,
        signature: str = "",
    ) -> None:
        self.chunker, self.embed, self.store, self.docstore = chunker, embed, store, docstore
        self.signature = signature
        self.save = save
        self.max_chunks, self.max_bytes = max(1, max_chunks), max(1, max_bytes)
        self.max_documents = max(1, max_documents)
        self.on_stored = on_stored
        self.pending: list[_Entry] = []
        self.stored = 0

    # ---------------------------------------------------------------------------- queueing

    def add(self, doc: Document, owner: Any = None) -> bool:
        """Queue the chunks of ``doc`` not stored yet; False when it is stored unchanged."""
        # Read differently (another loader or chunker version) is not the same document.
        digest = signed(doc.hash, self.signature) if self.signature else doc.hash
        existing = self.docstore.get_document_hash(doc.id_)
        if existing == digest:
            return False
        nodes = self.chunker(doc)
        partial = self.docstore._kvstore.get(doc.id_, collection=PARTIAL)
        start = int(partial["done"]) if partial and partial.get("hash") == digest else 0
        if start == 0 and (existing is not None or partial):
            # Another version (or a half-stored other version) is in the index: replace it.
            self.store.delete(doc.id_)
            self.docstore.delete_ref_doc(doc.id_, raise_error=False)
        todo = nodes[start:]
        for k, node in enumerate(todo, start=start + 1):
            last = k == len(nodes)
            self.pending.append(_Entry(node, doc.id_, digest, k, owner, doc=doc if last else None))
        if not todo:  # nothing left to store: the document is complete once reached
            self.pending.append(_Entry(None, doc.id_, digest, len(nodes), owner, doc=doc))
        self._flush(force=False)
        return True

    def file_done(self, key: str, digest: str) -> None:
        """Record the file hash once every document queued before it is stored."""
        self.pending.append(_Entry(None, key, digest, 0, file_key=key))
        self._flush(force=False)

    def flush(self) -> None:
        self._flush(force=True)

    # ---------------------------------------------------------------------------- storing

    def _full(self) -> bool:
        nodes = [e for e in self.pending if e.node is not None]
        documents = sum(1 for e in self.pending if e.doc is not None)
        return (
            len(nodes) >= self.max_chunks
            or sum(e.size for e in nodes) >= self.max_bytes
            or documents >= self.max_documents
        )

    def _take(self) -> list[_Entry]:
        """The next batch: entries up to the bounds, and the markers right after them."""
        batch: list[_Entry] = []
        chunks = size = documents = 0
        while self.pending:
            entry = self.pending[0]
            if entry.node is not None and (
                chunks >= self.max_chunks
                or size >= self.max_bytes
                or documents >= self.max_documents
            ):
                break
            batch.append(self.pending.pop(0))
            chunks += entry.node is not None
            size += entry.size
            documents += entry.doc is not None
        return batch

    def _flush(self, *, force: bool) -> None:
        while self.pending and (force or self._full()):
            self._store(self._take())

    def _store(self, batch: list[_Entry]) -> None:
        nodes = [e.node for e in batch if e.node is not None]
        if nodes:
            self.embed(nodes)
            self.store.add(nodes)
        kv = self.docstore._kvstore
        for entry in batch:
            if entry.node is not None and entry.owner is not None:
                entry.owner.chunks += 1
            if entry.doc is not None:
                self.docstore.add_documents([entry.doc], store_text=False)
                # After add_documents, which records the bare doc.hash: ours is signed.
                self.docstore.set_document_hash(entry.doc_id, entry.doc_hash)
                kv.delete(entry.doc_id, collection=PARTIAL)
            elif entry.file_key is not None:
                self.docstore.set_document_hash(entry.file_key, entry.doc_hash)
        cut = next((e for e in reversed(batch) if e.node is not None), None)
        if cut is not None and cut.doc is None:
            kv.put(cut.doc_id, {"hash": cut.doc_hash, "done": cut.done}, collection=PARTIAL)
        self.save()
        self.stored += len(nodes)
        if self.on_stored is not None and nodes:
            self.on_stored(len(nodes))


def forget_partial(docstore: SimpleDocumentStore, doc_id: str) -> None:
    docstore._kvstore.delete(doc_id, collection=PARTIAL)
