"""The dense index: faiss over the stored embeddings, a cache that can always be rebuilt.

`VectorIndex` is the seam; `FaissIndex` (exact inner product over unit vectors = cosine) is
the implementation. It is saved beside the database with the store version it reflects;
on open, a missing or stale file is rebuilt from the store, so a crash mid-ingest costs at
most a rebuild, never a wrong answer.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

try:
    import faiss
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "faiss is not available: install faiss-cpu (`pip install faiss-cpu`)."
    ) from exc


class VectorIndex(Protocol):
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    def remove(self, ids: Sequence[int]) -> None: ...

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]: ...

    def __len__(self) -> int: ...


class FaissIndex:
    """Exact cosine search with `IndexIDMap2(IndexFlatIP)`; ids are the store's chunk ids."""

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        # One query at a time is faster on one thread (OpenMP start-up costs more than it
        # saves at 100k x 384), and it leaves the other core to the encoder and SQLite.
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        with self._lock:
            self._index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32),
                np.ascontiguousarray(ids, dtype=np.int64),
            )

    def remove(self, ids: Sequence[int]) -> None:
        if len(ids) == 0:
            return
        with self._lock:
            self._index.remove_ids(np.asarray(ids, dtype=np.int64))  # type: ignore[arg-type]

    def search(
        self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> list[tuple[int, float]]:
        """Top k (id, cosine); `allowed` restricts the search to those ids before the cut."""
        with self._lock:
            total = int(self._index.ntotal)
            if total == 0 or k <= 0:
                return []
            params = None
            if allowed is not None:
                if len(allowed) == 0:
                    return []
                params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
            scores, ids = self._index.search(
                np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32),
                min(k, total),
                params=params,
            )
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path, version: int) -> None:
        """Write atomically (temp file + rename) so a crash never leaves a half-written index."""
        with self._lock:
            tmp = path.with_suffix(".tmp")
            faiss.write_index(self._index, str(tmp))
            os.replace(tmp, path)
            stamp = path.with_suffix(".json")
            stamp_tmp = stamp.with_suffix(".json.tmp")
            stamp_tmp.write_text(json.dumps({"version": version, "count": len(self)}))
            os.replace(stamp_tmp, stamp)

    @classmethod
    def load_if_current(cls, path: Path, dim: int, version: int) -> FaissIndex | None:
        """The saved index, or None when it is missing, unreadable or older than the store."""
        stamp = path.with_suffix(".json")
        try:
            saved = json.loads(stamp.read_text())
            if saved.get("version") != version or not path.exists():
                return None
            index = faiss.read_index(str(path))
        except (OSError, ValueError, RuntimeError):
            return None
        if index.d != dim:
            return None
        return cls(dim, index)

    @classmethod
    def build(cls, dim: int, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> FaissIndex:
        index = cls(dim)
        for ids, vectors in batches:
            index.add(ids, vectors)
        return index
