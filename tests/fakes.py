"""A stand-in model for tests of mechanics (hashing, pruning, sidecars, archives, processes),
never for tests that judge search quality: those use the real model (conftest `embedder`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

WORD = re.compile(r"\w+")


class HashingEmbedder:
    """Each word hashed into one of `dim` buckets, the counts L2-normalised: deterministic,
    instant, and texts sharing words get similar vectors, so dense search still finds a
    document by its own words."""

    name = "tests/hashing-words"
    variant = "python-hashing"
    dim = 64
    max_tokens = 256

    def _one(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for word in WORD.findall(text.lower()):
            bucket = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
            vector[bucket % self.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0
            return vector
        return vector / norm

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._one(text) for text in texts])

    def encode_query(self, text: str) -> np.ndarray:
        return self._one(text)
