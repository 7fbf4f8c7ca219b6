"""Dense search for the embedded backend: the store's vectors mirrored in a faiss index in
this process's memory, with the chunk-to-document map, kept in step by the store's change log.

`DenseSearch` is what search needs of the dense side, whatever keeps the vectors: this mirror
(SQLite; the index is a cache saved beside the database), or a database that searches its
own vectors (PostgreSQL with pgvector, kb.store.postgres). A process sees other processes' committed
writes before it answers: `catch_up` replays only what changed since it last looked.
"""

from __future__ import annotations

import threading
from collections import ChainMap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from kb.store.base import LoggedStore
from kb.store.vectors import FaissIndex
from kb.types import SearchFilters


class MirroredVectors:
    """Exact cosine search over every stored vector, from memory (faiss flat)."""

    def __init__(self, path: Path, dim: int, store: LoggedStore) -> None:
        self.path = path
        self.store = store
        self._lock = threading.RLock()
        self._doc_of_chunk: dict[int, str] = {}
        self._synced_version, self._saved_version = -1, -1
        self._allowed_cache: dict[tuple[SearchFilters, int], np.ndarray] = {}
        self.index = self._open_index(dim)

    # -- DenseSearch -------------------------------------------------------------------------
    def search(
        self, vector: np.ndarray, limit: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        allowed = None if filters is None or filters.is_empty() else self._allowed(filters)
        return self.index.search(vector, limit, allowed)

    def docs_of(self, chunk_ids: Sequence[int]) -> Mapping[int, str]:
        """Every embedded chunk's document is kept in memory; a chunk still waiting for its
        vector (found by its words) is looked up in the store."""
        waiting = [chunk_id for chunk_id in chunk_ids if chunk_id not in self._doc_of_chunk]
        if not waiting:
            return self._doc_of_chunk
        return ChainMap(self.store.doc_ids_of(waiting), self._doc_of_chunk)

    def is_empty(self) -> bool:
        """No chunk at all: chunks without vectors yet count (lexical search finds them)."""
        return not self._doc_of_chunk and self.store.count_chunks() == 0

    def prepare(self, filters: SearchFilters | None) -> None:
        if filters is not None and not filters.is_empty():
            self._allowed(filters)  # here, not under the lexical query

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        """Chunk ids passing the filters, cached per store version (filters repeat a lot)."""
        key = (filters, self.store.version)
        cached = self._allowed_cache.get(key)
        if cached is None:
            if len(self._allowed_cache) > 256:
                self._allowed_cache.clear()
            cached = self.store.chunk_ids_matching(filters)
            self._allowed_cache[key] = cached
        return cached

    # -- keeping the index in step with the store ------------------------------------------
    def _open_index(self, dim: int) -> FaissIndex:
        """The saved index if it is this store's, mended to hold exactly the store's chunks."""
        loaded = FaissIndex.load(self.path, dim)
        index = FaissIndex(dim)
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

    def catch_up(self) -> None:
        """Costs one SQLite read when nothing changed; otherwise replays only the chunks that
        changed since (the store's change log), or, for a process too far behind for the log,
        re-reads the chunk map and mends the index."""
        if self.store.version == self._synced_version:
            return
        with self._lock:
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

    def _save(self, index: FaissIndex, version: int) -> None:
        """Save only an index that holds exactly the chunks of `version`."""
        if len(index) != len(self._doc_of_chunk):
            return
        index.save(self.path, {"store_id": self.store.store_id, "version": version})
        self._saved_version = version

    def flush(self) -> None:
        """Save the index if the store changed since it was last saved."""
        with self._lock:
            self.catch_up()
            if self._synced_version != self._saved_version:
                self._save(self.index, self._synced_version)


__all__ = ["MirroredVectors"]
