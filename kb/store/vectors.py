"""The dense index: faiss over the stored embeddings, a cache that can always be rebuilt.

`VectorIndex` is the seam; `FaissIndex` (exact inner product over unit vectors = cosine) is
the implementation. It is saved beside the database, stamped with the store it came from and
the version it reflects; on open the knowledge base checks its ids against the store's chunks
and mends any difference from the stored embeddings, so a crash, a stale file or another
process's writes cost at most a partial rebuild, never a wrong answer.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

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

    def ids(self) -> np.ndarray: ...


MAGIC = b"KBVECTORS1\n"


class FaissIndex:
    """Exact cosine search with `IndexIDMap2(IndexFlatIP)`; ids are the store's chunk ids."""

    def __init__(self, dim: int, index: faiss.IndexIDMap2 | None = None) -> None:
        # One query at a time is faster on one thread (OpenMP start-up costs more than it
        # saves at 100k x 384), and it leaves the other core to the encoder and SQLite.
        faiss.omp_set_num_threads(1)
        self.dim = dim
        self._index: faiss.IndexIDMap2 = (
            index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        )
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

    def ids(self) -> np.ndarray:
        """The chunk ids held, in no particular order."""
        with self._lock:
            return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: Path, stamp: dict[str, Any]) -> None:
        """Write `stamp` (what the index reflects) and the index as one file, atomically: a
        temporary file of this process's own, then a rename, so a crash or another process
        saving at the same moment never leaves a half-written or mismatched index."""
        header = json.dumps({**stamp, "count": len(self)}).encode("utf-8")
        with self._lock:
            data = faiss.serialize_index(self._index)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(MAGIC + len(header).to_bytes(4, "little") + header)
                data.tofile(out)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path, dim: int) -> tuple[FaissIndex, dict[str, Any]] | None:
        """The saved index and its stamp, or None when it is missing, unreadable, of another
        dimension or in an older format (the caller then rebuilds it from the store)."""
        try:
            raw = path.read_bytes()
            if not raw.startswith(MAGIC):
                return None
            size = int.from_bytes(raw[len(MAGIC) : len(MAGIC) + 4], "little")
            start = len(MAGIC) + 4
            stamp = json.loads(raw[start : start + size])
            index = faiss.deserialize_index(np.frombuffer(raw, dtype=np.uint8, offset=start + size))
        except (OSError, ValueError, RuntimeError):
            return None
        if (
            not isinstance(index, faiss.IndexIDMap2)
            or index.d != dim
            or not isinstance(stamp, dict)
        ):
            return None
        return cls(dim, index), stamp
