"""The encoder scheduler: concurrent queries share a batch, queries go before an ingest's
batches, every caller gets its own vector. The model is the real one (PyTorch, fp32),
wrapped only to count and time its calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from kb import SentenceTransformerEmbedder
from kb.embed.scheduler import BatchEncoder, EncoderScheduler

QUERIES = [
    "how do I stop the model favouring the majority label",
    "drift alerts for a model in production",
    "choosing the rank of a LoRA adapter",
    "cold start for new users in a recommender",
    "latency budget of an online model",
    "label noise from near duplicate reviews",
    "mean average precision for rankings",
    "tracking experiments with mlflow",
]


class Recording:
    """The real model, with a log of its calls: (kind, texts, start, end)."""

    def __init__(self, model: BatchEncoder, slow_s: float = 0.0) -> None:
        self.model = model
        self.slow_s = slow_s
        self.calls: list[tuple[tuple[str, ...], float, float]] = []
        self.active = 0
        self.overlapped = False
        self._lock = threading.Lock()

    @property
    def dim(self) -> int:
        return self.model.dim

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.active += 1
            self.overlapped |= self.active > 1
        started = time.perf_counter()
        try:
            vectors = self.model.encode_batch(texts)
            if self.slow_s:
                time.sleep(self.slow_s)
            return vectors
        finally:
            with self._lock:
                self.active -= 1
                self.calls.append((tuple(texts), started, time.perf_counter()))


@pytest.fixture(scope="module")
def reference(embedder: SentenceTransformerEmbedder) -> dict[str, np.ndarray]:
    vectors = embedder.model.encode_batch(QUERIES)
    return dict(zip(QUERIES, vectors, strict=True))


def _run_together(callers: list[threading.Thread]) -> None:
    for thread in callers:
        thread.start()
    for thread in callers:
        thread.join(timeout=60)
        assert not thread.is_alive()


def test_concurrent_queries_share_batches_and_each_gets_its_own_vector(
    embedder: SentenceTransformerEmbedder, reference: dict[str, np.ndarray]
) -> None:
    model = Recording(embedder.model)
    scheduler = EncoderScheduler(model)
    gate = threading.Barrier(len(QUERIES))
    got: dict[str, np.ndarray] = {}

    def search(text: str) -> None:
        gate.wait()
        got[text] = scheduler.encode_query(text)

    _run_together([threading.Thread(target=search, args=(q,)) for q in QUERIES])
    assert len(model.calls) < len(QUERIES), [len(c[0]) for c in model.calls]
    assert sum(len(c[0]) for c in model.calls) == len(QUERIES)
    assert not model.overlapped  # one batch at a time
    for text in QUERIES:
        assert float(got[text] @ reference[text]) > 0.9999, text


def test_queries_arriving_while_the_model_is_busy_form_the_next_batch(
    embedder: SentenceTransformerEmbedder, reference: dict[str, np.ndarray]
) -> None:
    model = Recording(embedder.model, slow_s=0.2)
    scheduler = EncoderScheduler(model, query_window_s=0.0)
    got: dict[str, np.ndarray] = {}

    def search(text: str, delay: float) -> None:
        time.sleep(delay)
        got[text] = scheduler.encode_query(text)

    # The first query takes the model alone; the others arrive during its (slow) encode.
    threads = [threading.Thread(target=search, args=(QUERIES[0], 0.0))] + [
        threading.Thread(target=search, args=(q, 0.05 + 0.01 * i))
        for i, q in enumerate(QUERIES[1:])
    ]
    _run_together(threads)
    assert [len(c[0]) for c in model.calls] == [1, len(QUERIES) - 1]
    for text in QUERIES:
        assert float(got[text] @ reference[text]) > 0.9999


def test_queries_go_before_a_long_document_batch(embedder: SentenceTransformerEmbedder) -> None:
    model = Recording(embedder.model, slow_s=0.05)
    scheduler = EncoderScheduler(model, batch_size=8, small_batch=2)
    documents = [f"section {i}: notes on evaluating a sentiment classifier" for i in range(80)]
    ingest = threading.Thread(target=scheduler.encode_documents, args=(documents,))
    ingest.start()
    time.sleep(0.3)  # the ingest is under way
    asked = time.perf_counter()
    vector = scheduler.encode_query(QUERIES[0])
    answered = time.perf_counter()
    ingest.join(timeout=120)
    assert not ingest.is_alive()
    assert vector.shape == (model.dim,)
    query_call = next(c for c in model.calls if c[0] == (QUERIES[0],))
    last_document_call = max(c[2] for c in model.calls if c[0] != (QUERIES[0],))
    # The query waited for at most the batch running when it came, not for the ingest.
    assert query_call[2] < last_document_call
    assert answered - asked < 1.5
    done_before = [c for c in model.calls if c[2] <= asked and c[0] != (QUERIES[0],)]
    assert len(done_before) < 10  # ... and the ingest was far from done
    assert sum(len(c[0]) for c in model.calls if c[0] != (QUERIES[0],)) == len(documents)


def test_documents_come_back_in_their_order_and_queries_are_cached(
    embedder: SentenceTransformerEmbedder, reference: dict[str, np.ndarray]
) -> None:
    model = Recording(embedder.model)
    scheduler = EncoderScheduler(model, batch_size=3)
    vectors = scheduler.encode_documents(QUERIES)
    for text, vector in zip(QUERIES, vectors, strict=True):
        assert float(vector @ reference[text]) > 0.9999
    calls = len(model.calls)
    first = scheduler.encode_query(QUERIES[1])
    again = scheduler.encode_query(QUERIES[1])
    assert again is first and len(model.calls) == calls + 1


def test_a_model_error_reaches_every_caller_of_the_batch(
    embedder: SentenceTransformerEmbedder,
) -> None:
    class Broken:
        dim = embedder.dim

        def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
            raise RuntimeError("model on fire")

    scheduler = EncoderScheduler(Broken())
    gate = threading.Barrier(3)
    errors: list[str] = []

    def search(text: str) -> None:
        gate.wait()
        try:
            scheduler.encode_query(text)
        except RuntimeError as exc:
            errors.append(str(exc))

    _run_together([threading.Thread(target=search, args=(q,)) for q in QUERIES[:3]])
    assert errors == ["model on fire"] * 3
