"""Who gets the model when: one scheduler in front of any model that encodes a batch.

A model (PyTorch, ONNX Runtime, ...) only has to turn a batch of texts into unit vectors
(`BatchEncoder`). The scheduler decides whose texts go in the next batch:

- Queries go first. Queries that arrive while the model is busy, or within
  `query_window_s` of each other, are encoded together in one batch: under load, eight
  searches cost one model call instead of eight queued ones. No thread is started for
  this: the first waiting query's own thread runs the batch and hands every caller its
  vector.
- Documents (an ingest) are encoded shortest-first in model-sized batches, taking the
  model one batch at a time; while searches are coming in they take it a few texts at a
  time, and waiting queries go before their next batch (for up to `query_turn_s`, so an
  ingest is slowed by searches, never stopped).
- Recent query vectors are cached (pagination and page refreshes repeat queries).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from kb.observe import EncodedCounts, EncodeKind

QUERY_TURN_S = 0.25
QUERY_WINDOW_S = 0.002
SMALL_BATCH = 4
QUERY_CACHE_SIZE = 512
SEARCHING_FOR_S = 1.0


@runtime_checkable
class BatchEncoder(Protocol):
    """A loaded model: one batch of texts in, one unit-length float32 row per text out.

    Called by one thread at a time (the scheduler sees to it)."""

    @property
    def dim(self) -> int: ...

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray: ...


class _Request:
    __slots__ = ("text", "vector", "error", "done")

    def __init__(self, text: str) -> None:
        self.text = text
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


class EncoderScheduler:
    """Shares one `BatchEncoder` between searches and ingests, searches first.

    Thread-safe; every public method may be called from any number of threads at once.
    """

    def __init__(
        self,
        model: BatchEncoder,
        batch_size: int = 32,
        *,
        small_batch: int = SMALL_BATCH,
        query_window_s: float = QUERY_WINDOW_S,
        query_turn_s: float = QUERY_TURN_S,
        max_query_batch: int = 64,
        cache_size: int = QUERY_CACHE_SIZE,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.small_batch = small_batch
        self.query_window_s = query_window_s
        self.query_turn_s = query_turn_s
        self.max_query_batch = max_query_batch
        self.cache_size = cache_size
        self._cond = threading.Condition()
        self._busy = False  # someone is encoding (or a query leader is gathering its batch)
        self._pending: list[_Request] = []  # queries waiting for a batch
        self._last_query = -SEARCHING_FOR_S
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        # texts, tokens and batches encoded (kb.observe), read by metrics at scrape time
        self.encoded = EncodedCounts()
        self._query_slots: threading.BoundedSemaphore | None = None  # see cap_queries

    def cap_queries(self, at_once: int | None) -> None:
        """Let at most `at_once` callers encode queries at a time (None: no cap); the others
        wait their turn in `encode_queries`. A burst of searches then costs latency, never
        memory: the waiting callers hold their text, not their part of a batch being built.
        Set by the service from KB_MAX_CONCURRENT_ENCODES; callers already past it finish."""
        self._query_slots = threading.BoundedSemaphore(at_once) if at_once else None

    def _encode(self, kind: EncodeKind, texts: list[str]) -> np.ndarray:
        """One model call, counted; the caller holds the model."""
        start = time.perf_counter()
        vectors = self.model.encode_batch(texts)
        tokens = getattr(self.model, "last_batch_tokens", 0)
        self.encoded.add(kind, len(texts), int(tokens), time.perf_counter() - start)
        return vectors

    # -- documents ----------------------------------------------------------------------
    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of `texts`, in order, encoded shortest first (little padding)."""
        dim = self.model.dim
        vectors = np.empty((len(texts), dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        start = 0
        while start < len(order):
            searching = time.perf_counter() - self._last_query < SEARCHING_FOR_S
            step = self.small_batch if searching else self.batch_size
            batch = order[start : start + step]
            start += step
            self._take_model_for_documents()
            try:
                vectors[batch] = self._encode("document", [texts[i] for i in batch])
            finally:
                self._release()
        return vectors

    def _take_model_for_documents(self) -> None:
        """Wait for the model; waiting queries go first, for up to `query_turn_s`."""
        with self._cond:
            deadline = time.perf_counter() + self.query_turn_s
            while True:
                now = time.perf_counter()
                if not self._busy and (not self._pending or now >= deadline):
                    break
                timeout = deadline - now if self._pending and not self._busy else None
                self._cond.wait(timeout if timeout is None else max(timeout, 0.0005))
            self._busy = True

    def _release(self) -> None:
        with self._cond:
            self._busy = False
            self._cond.notify_all()

    # -- queries ------------------------------------------------------------------------
    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def encode_query(self, text: str) -> np.ndarray:
        with self._cache_lock:
            cached = self._cache.get(text)
            if cached is not None:
                self._cache.move_to_end(text)
                return cached
        vector = self.encode_queries([text])[0]
        with self._cache_lock:
            self._cache[text] = vector
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return vector

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Encode queries (uncached), batched with every other query waiting at that time
        (after a turn of `cap_queries`' slots, when capped)."""
        slots = self._query_slots
        if slots is None:
            return self._encode_queries(texts)
        with slots:
            return self._encode_queries(texts)

    def _encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        requests = [_Request(text) for text in texts]
        if not requests:
            return np.zeros((0, self.model.dim), dtype=np.float32)
        with self._cond:
            self._pending.extend(requests)
            self._last_query = time.perf_counter()
            self._cond.notify_all()
            while not all(r.done for r in requests):
                if self._busy or not self._pending:
                    self._cond.wait()
                    continue
                self._busy = True  # this thread leads the next query batch
                first = len(self._pending) == len(requests)
                self._cond.release()
                try:
                    self._lead(linger=first)
                finally:
                    self._cond.acquire()
        for request in requests:
            if request.error is not None:
                raise request.error
        return np.stack([r.vector for r in requests if r.vector is not None])

    def _lead(self, linger: bool) -> None:
        """Holding the model: gather the waiting queries and encode them in one batch."""
        batch: list[_Request] = []
        try:
            if linger and self.query_window_s > 0:
                # Nobody else was waiting: give queries sent at the same moment a chance to
                # join this batch (a few milliseconds, against an encode of 10 ms or more).
                time.sleep(self.query_window_s)
            with self._cond:
                batch = self._pending[: self.max_query_batch]
                del self._pending[: len(batch)]
            rows = {text: row for row, text in enumerate(dict.fromkeys(r.text for r in batch))}
            try:
                vectors = self._encode("query", list(rows))
                for request in batch:
                    request.vector = vectors[rows[request.text]]
            except BaseException as exc:  # every caller in the batch gets the error
                for request in batch:
                    request.error = exc
                if not isinstance(exc, Exception):
                    raise
        finally:
            with self._cond:
                for request in batch:
                    request.done = True
                self._busy = False
                self._cond.notify_all()


__all__ = ["BatchEncoder", "EncoderScheduler", "QUERY_TURN_S", "QUERY_WINDOW_S", "SMALL_BATCH"]
