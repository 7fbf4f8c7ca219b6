"""The knowledge base: one folder holding the store, the vector index and their manifest."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed import Embedder
from kb.errors import NotFoundError, StoreMismatchError
from kb.search import Searcher
from kb.store import Store, doc_id_for, text_hash
from kb.types import ChunkInfo, DocumentInfo, DocumentInput, Hit, SearchFilters, WriteResult
from kb.vectors import FaissIndex

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "kb.sqlite"
VECTORS = "vectors.faiss"


def read_manifest(home: Path) -> dict[str, Any] | None:
    path = home / MANIFEST
    if not path.exists():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StoreMismatchError(
            f"{path} is unreadable ({exc}); restore it or use another --home."
        ) from exc
    return data


class KnowledgeBase:
    """Documents in, hits out. Safe to share between threads (searches during an ingest)."""

    def __init__(self, home: Path, embedder: Embedder) -> None:
        self.home = home
        self.embedder = embedder
        home.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(home)
        if manifest is not None:
            if manifest.get("format") != FORMAT_VERSION:
                raise StoreMismatchError(
                    f"The store in {home} has format {manifest.get('format')}, this version "
                    f"reads format {FORMAT_VERSION}: re-ingest into a new --home."
                )
            if manifest.get("model") != embedder.name:
                raise StoreMismatchError(
                    f"The store in {home} was built with the model {manifest.get('model')!r}, "
                    f"not {embedder.name!r}: use that model (--model / KB_MODEL), or another "
                    "--home for this one."
                )
            self.dim = int(manifest["dim"])
        else:
            self.dim = embedder.dim
            (home / MANIFEST).write_text(
                json.dumps({"format": FORMAT_VERSION, "model": embedder.name, "dim": self.dim})
            )
        self.store = Store(home / DATABASE)
        self._write_lock = threading.Lock()
        self._saved_version = self.store.version
        index = FaissIndex.load_if_current(home / VECTORS, self.dim, self._saved_version)
        if index is None:
            index = FaissIndex.build(self.dim, self.store.iter_embeddings())
            index.save(home / VECTORS, self._saved_version)
        self.index = index
        self._doc_of_chunk = self.store.all_chunk_docs()
        self.searcher = Searcher(self.store, self.index, embedder, self._doc_of_chunk)

    # -- reading ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        offset: int = 0,
    ) -> list[Hit]:
        return self.searcher.search(query, k=k, filters=filters, mode=mode, offset=offset)

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        return self.store.get_document(doc_id)

    def get_chunks(self, doc_id: str) -> list[ChunkInfo]:
        return self.store.get_chunks(doc_id)

    def list_documents(self, filters: SearchFilters | None = None) -> list[DocumentInfo]:
        return self.store.list_documents(filters)

    def find_documents(self, ref: str) -> list[DocumentInfo]:
        """By doc id, by source as shown in hits, or by original path."""
        return self.store.find_documents(ref)

    def stats(self) -> dict[str, Any]:
        return {
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "model": self.embedder.name,
            "dim": self.dim,
        }

    # -- writing ------------------------------------------------------------------------
    def is_unchanged(self, origin: str, content_hash: str) -> bool:
        return self.store.content_hash_of(origin) == content_hash

    def add_documents(self, docs: Sequence[DocumentInput]) -> list[WriteResult]:
        """Store documents, embedding in one batch only the chunk texts never embedded before.

        Each document is then written in its own transaction: a crash loses at most the
        document being written, and re-running the ingest completes the job.
        """
        texts = [chunk.embedding_text for doc in docs for chunk in doc.chunks]
        hashes = [text_hash(text) for text in texts]
        known = self.store.embeddings_for(hashes)
        todo: dict[str, str] = {}
        for digest, text in zip(hashes, texts, strict=True):
            if digest not in known and digest not in todo:
                todo[digest] = text
        if todo:
            fresh = self.embedder.encode_documents(list(todo.values()))
            known.update(zip(todo.keys(), fresh, strict=True))
        results: list[WriteResult] = []
        unclaimed = set(todo)  # a text shared by two documents was embedded once: count it once
        cursor = 0
        for doc in docs:
            doc_hashes = hashes[cursor : cursor + len(doc.chunks)]
            cursor += len(doc.chunks)
            vectors = (
                np.stack([known[h] for h in doc_hashes])
                if doc_hashes
                else np.zeros((0, self.dim), dtype=np.float32)
            )
            stored = self.add_embedded(doc, vectors)
            fresh_here = unclaimed.intersection(doc_hashes)
            unclaimed -= fresh_here
            results.append(WriteResult(stored.doc_id, stored.status, len(fresh_here)))
        return results

    def add_embedded(self, doc: DocumentInput, vectors: np.ndarray) -> WriteResult:
        """Store a document whose chunk vectors were computed elsewhere (a restore, a migration
        from another store of the same model, the benchmarks' synthetic fill)."""
        if vectors.shape != (len(doc.chunks), self.dim):
            raise ValueError(f"expected {len(doc.chunks)} vectors of dimension {self.dim}")
        with self._write_lock:
            doc_id, status, removed, added = self.store.replace_document(doc, vectors)
            self.index.remove(removed)
            self.index.add(np.asarray(added, dtype=np.int64), vectors)
            for chunk_id in removed:
                self._doc_of_chunk.pop(chunk_id, None)
            self._doc_of_chunk.update(dict.fromkeys(added, doc_id))
        return WriteResult(doc_id=doc_id, status=status, embedded=0)

    def delete(self, doc_id: str) -> DocumentInfo:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise NotFoundError(
                f"No document with id {doc_id!r}: `kb search` or `kb docs` show document ids."
            )
        with self._write_lock:
            removed = self.store.delete_document(doc_id)
            self.index.remove(removed)
            for chunk_id in removed:
                self._doc_of_chunk.pop(chunk_id, None)
        return doc

    def doc_ids_under(self, root: str) -> dict[str, str]:
        """origin -> doc_id of what was ingested from the folder `root` (for pruning)."""
        return self.store.origins_under(root)

    def flush(self) -> None:
        """Persist the vector index if the store changed since it was last saved."""
        with self._write_lock:
            version = self.store.version
            if version != self._saved_version:
                self.index.save(self.home / VECTORS, version)
                self._saved_version = version

    def close(self) -> None:
        self.searcher.close()
        self.flush()
        self.store.close()


__all__ = ["KnowledgeBase", "doc_id_for", "read_manifest"]
