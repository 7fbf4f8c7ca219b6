"""The knowledge base: one folder holding the store, the vector index and their manifest."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed import LEGACY_VARIANT, Embedder
from kb.errors import NotFoundError, StoreMismatchError
from kb.search import Searcher
from kb.store import VECTORS_OF_KEY, DocumentStore, Store, doc_id_for, text_hash, vectors_key
from kb.types import (
    ChunkInfo,
    DocumentInfo,
    DocumentInput,
    EmbeddedBatch,
    Hit,
    SearchFilters,
    WriteResult,
)
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


def write_atomically(path: Path, text: str) -> None:
    """Two processes creating one home at once each write the whole file or nothing."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class KnowledgeBase:
    """Documents in, hits out. Safe to share between threads (searches during an ingest) and
    between processes on one home (a server, CLI ingests, `kb rm`): each sees the others'
    committed writes before it answers."""

    def __init__(self, home: Path, embedder: Embedder, store: DocumentStore | None = None) -> None:
        """`store` is the document store to use (kb.factory builds it); by default the
        SQLite store in `home`. The manifest in `home` names the model and its variant."""
        self.home = home
        self.embedder = embedder
        home.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(home)
        # The manifest names the model and its variant (backend and precision): vectors of
        # two variants never mix in one store. A manifest without a variant predates them.
        variant = embedder.variant
        backend = store.backend if store is not None else Store.backend
        if manifest is not None:
            if manifest.get("format") != FORMAT_VERSION:
                raise StoreMismatchError(
                    f"The store in {home} has format {manifest.get('format')}, this version "
                    f"reads format {FORMAT_VERSION}: re-ingest into a new --home."
                )
            if manifest.get("reembed"):
                target = manifest["reembed"]
                raise StoreMismatchError(
                    f"A `kb reembed` of the store in {home} to {target.get('model')} "
                    f"({target.get('variant')}) was interrupted while switching its vectors: "
                    "run it again to finish."
                )
            if manifest.get("backend", Store.backend) != backend:
                raise StoreMismatchError(
                    f"The knowledge base in {home} keeps its data in {manifest['backend']}, "
                    f"not {backend}: open it with that backend, or use another --home."
                )
            if manifest.get("model") != embedder.name:
                raise StoreMismatchError(
                    f"The store in {home} was built with the model {manifest.get('model')!r}, "
                    f"not {embedder.name!r}: use that model (--model / KB_MODEL), or another "
                    "--home for this one."
                )
            stored_variant = manifest.get("variant", LEGACY_VARIANT)
            if stored_variant != variant:
                raise StoreMismatchError(
                    f"The store in {home} holds {stored_variant} vectors of {embedder.name}, "
                    f"not {variant} ones: open it with the variant {stored_variant} "
                    f"(KB_MODEL_VARIANT), or move it to {variant} with `kb reembed --to {variant}`."
                )
            self.dim = int(manifest["dim"])
        else:
            self.dim = embedder.dim
            write_atomically(
                home / MANIFEST,
                json.dumps(
                    {
                        "format": FORMAT_VERSION,
                        "backend": backend,
                        "model": embedder.name,
                        "variant": variant,
                        "dim": self.dim,
                    }
                ),
            )
        self.store: DocumentStore = store if store is not None else Store(home / DATABASE)
        # The index and the chunk -> document map mirror the store at `_synced_version`;
        # every change to them comes from the store (see `refresh`), under this lock.
        self._sync_lock = threading.RLock()
        self._doc_of_chunk: dict[int, str] = {}
        self._synced_version, self._saved_version = -1, -1
        self.index = self._open_index()
        self.searcher = Searcher(self.store, self.index, embedder, self._doc_of_chunk)

    # -- keeping the in-memory index in step with the store ---------------------------------
    def _open_index(self) -> FaissIndex:
        """The saved index if it is this store's, mended to hold exactly the store's chunks."""
        loaded = FaissIndex.load(self.home / VECTORS, self.dim)
        index = FaissIndex(self.dim)
        if loaded is not None and loaded[1].get("store_id") == self.store.store_id:
            index, stamp = loaded
            self._saved_version = int(stamp.get("version", -1))
        version, doc_of_chunk = self.store.chunk_docs()
        mended = self._mend(index, doc_of_chunk)
        self._doc_of_chunk.update(doc_of_chunk)
        self._synced_version = version
        if mended or self._saved_version != version:
            self._save(index, version)
        return index

    def _mend(self, index: FaissIndex, doc_of_chunk: dict[int, str]) -> bool:
        """Make the index hold exactly the chunks of `doc_of_chunk`: drop the others, add the
        missing ones from their stored embeddings. True when anything changed."""
        held = index.ids()
        wanted = np.fromiter(doc_of_chunk, dtype=np.int64, count=len(doc_of_chunk))
        extra = np.setdiff1d(held, wanted, assume_unique=True)
        missing = np.setdiff1d(wanted, held, assume_unique=True)
        index.remove(extra.tolist())
        for start in range(0, len(missing), 20_000):
            index.add(*self.store.vectors_of(missing[start : start + 20_000].tolist()))
        return bool(len(extra) or len(missing))

    def refresh(self) -> None:
        """Catch up with every committed write, this process's or another's, before answering.

        Costs one SQLite read when nothing changed; otherwise replays only the chunks that
        changed since (the store's change log), or, for a process too far behind for the log,
        re-reads the chunk map and mends the index.
        """
        if self.store.version == self._synced_version:
            return
        with self._sync_lock:
            self._check_vectors_are_ours()
            changes = self.store.changes_since(self._synced_version)
            if changes is None:
                version, doc_of_chunk = self.store.chunk_docs()
                self._mend(self.index, doc_of_chunk)
                for chunk_id in set(self._doc_of_chunk).difference(doc_of_chunk):
                    del self._doc_of_chunk[chunk_id]
                self._doc_of_chunk.update(doc_of_chunk)
                self._synced_version = version
                return
            self.index.remove(changes.removed)
            for chunk_id in changes.removed:
                self._doc_of_chunk.pop(chunk_id, None)
            ids, vectors = changes.added_vectors
            new = np.fromiter(
                (chunk_id not in self._doc_of_chunk for chunk_id in ids.tolist()),
                dtype=bool,
                count=len(ids),
            )
            self.index.add(ids[new], vectors[new])
            self._doc_of_chunk.update(changes.added)
            self._synced_version = changes.version

    def _check_vectors_are_ours(self) -> None:
        """A `kb reembed` by another process moved the vectors to another model or variant:
        this process would encode queries and documents with the old one, so it stops."""
        vectors_of = self.store.get_meta(VECTORS_OF_KEY)
        ours = vectors_key(self.embedder.name, self.embedder.variant)
        if vectors_of is not None and vectors_of != ours:
            target = json.loads(vectors_of)
            raise StoreMismatchError(
                f"The store in {self.home} was re-embedded with {target['model']} "
                f"({target['variant']}) while this process encodes with {self.embedder.name} "
                f"({self.embedder.variant}): restart it "
                "(kb serve picks the store's variant) to search the new vectors."
            )

    def _save(self, index: FaissIndex, version: int) -> None:
        """Save only an index that holds exactly the chunks of `version`."""
        if len(index) != len(self._doc_of_chunk):
            return
        index.save(self.home / VECTORS, {"store_id": self.store.store_id, "version": version})
        self._saved_version = version

    # -- reading ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        offset: int = 0,
    ) -> list[Hit]:
        self.refresh()
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
            "backend": self.store.backend,
            "model": self.embedder.name,
            "variant": self.embedder.variant,
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
        return self.store_embedded(self.embed_documents(docs))

    def embed_documents(
        self, docs: Sequence[DocumentInput], reuse: Mapping[str, np.ndarray] | None = None
    ) -> EmbeddedBatch:
        """Vectors for every chunk of `docs`, encoding only texts neither stored nor in `reuse`
        (the previous batch's vectors while it is still being written). Thread-safe, so that
        an ingest can encode one batch while it parses and stores another."""
        self.refresh()  # a store re-embedded meanwhile to another variant stops us here
        texts = [chunk.embedding_text for doc in docs for chunk in doc.chunks]
        hashes = [text_hash(text) for text in texts]
        known = self.store.embeddings_for(hashes)
        todo: dict[str, str] = {}
        for digest, text in zip(hashes, texts, strict=True):
            if digest in known or digest in todo:
                continue
            if reuse is not None and digest in reuse:
                known[digest] = reuse[digest]
            else:
                todo[digest] = text
        if todo:
            fresh = self.embedder.encode_documents(list(todo.values()))
            known.update(zip(todo.keys(), fresh, strict=True))
        return EmbeddedBatch(tuple(docs), hashes, known, frozenset(todo))

    def store_embedded(self, batch: EmbeddedBatch) -> list[WriteResult]:
        """Write an embedded batch, one transaction per document."""
        results: list[WriteResult] = []
        unclaimed = set(batch.fresh)  # a text shared by two documents was embedded once
        cursor = 0
        for doc in batch.docs:
            doc_hashes = batch.hashes[cursor : cursor + len(doc.chunks)]
            cursor += len(doc.chunks)
            vectors = (
                np.stack([batch.vectors[h] for h in doc_hashes])
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
        self.refresh()  # never write vectors of a variant the store has moved away from
        doc_id, status = self.store.replace_document(doc, vectors)
        self.refresh()
        return WriteResult(doc_id=doc_id, status=status, embedded=0)

    def delete(self, doc_id: str) -> DocumentInfo:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise NotFoundError(
                f"No document with id {doc_id!r}: `kb search` or `kb docs` show document ids."
            )
        self.store.delete_document(doc_id)
        self.refresh()
        return doc

    def doc_ids_under(self, root: str) -> dict[str, str]:
        """origin -> doc_id of what was ingested from the folder `root` (for pruning)."""
        return self.store.origins_under(root)

    def flush(self) -> None:
        """Persist the vector index if the store changed since it was last saved."""
        with self._sync_lock:
            self.refresh()
            if self._synced_version != self._saved_version:
                self._save(self.index, self._synced_version)

    def close(self) -> None:
        self.searcher.close()
        try:
            self.flush()
        except StoreMismatchError:
            pass  # re-embedded by another process: its index is not this one's to save
        finally:
            self.store.close()


__all__ = ["KnowledgeBase", "doc_id_for", "read_manifest"]
