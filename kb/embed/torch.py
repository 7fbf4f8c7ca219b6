"""The sentence-transformers model run by PyTorch (`torch-fp32`): the reference variant, whose
vectors the ONNX variants reproduce."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed.base import TORCH_FP32, ScheduledEmbedder, TokenCounter, counting_tokenizer
from kb.embed.scheduler import BatchEncoder
from kb.errors import ModelLoadError


class TorchModel:
    """A loaded sentence-transformers model as a `BatchEncoder` (fp32, PyTorch, CPU)."""

    def __init__(self, model: Any) -> None:
        self.st = model
        self.dim = int(model.get_embedding_dimension() or 0)
        self.max_tokens = int(model.max_seq_length or 256)

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self.st.encode(
            list(texts),
            batch_size=max(len(texts), 1),
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


def load_sentence_transformer(path: Path) -> Any:
    """The sentence-transformers model in `path`, offline, on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:  # any loader failure becomes one actionable message
        raise ModelLoadError(f"Could not load the embedding model at {path}: {exc}") from exc


class SentenceTransformerEmbedder(ScheduledEmbedder):
    """A sentence-transformers model loaded from a local folder, never from a hub, run by
    PyTorch in fp32 (variant `torch-fp32`)."""

    variant = TORCH_FP32
    _tokenizer: Any = None

    def _load(self) -> BatchEncoder:
        return TorchModel(load_sentence_transformer(self.path))

    def _loaded(self) -> Any:
        """The bare sentence-transformers model (the benchmarks compare against it)."""
        model = self.model
        assert isinstance(model, TorchModel)
        return model.st

    def count_tokens(self, text: str) -> int:
        """Word pieces the model reads for `text`, special tokens included, untruncated (ingest
        packs chunks up to the window by it). Only the tokenizer is loaded, on first use."""
        if self._tokenizer is None:
            if not (self.path / "tokenizer.json").is_file():  # a slow tokenizer only
                slow = self._loaded().tokenizer
                return len(slow(text, add_special_tokens=True)["input_ids"])
            self._tokenizer = TokenCounter(counting_tokenizer(self.path))
        return int(self._tokenizer(text))
