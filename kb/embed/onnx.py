"""The sentence-transformers model run by ONNX Runtime, in fp32 or dynamically quantised int8.

The ONNX files are made on this machine from the installed model's own weights, once, at
first use: `torch.onnx.export` of the transformer (the TorchScript exporter, which needs no
extra package), then ONNX Runtime's transformer optimiser, which fuses each layer's attention
(Q, K and V in one product, the mask, softmax and context in one `Attention` node), the
residual adds with their LayerNorm (`SkipLayerNormalization`), the FFN's bias with its GELU
(`BiasGelu`) and the embeddings with theirs (`EmbedLayerNormalization`): the same vectors
(cosine 1.0 to the plain export, float noise) in fewer, faster kernels; then, for int8,
`onnxruntime.quantization.quantize_dynamic` of the fused graph. They are cached in
`<cache>/<model name>-<hash of its weights>/` (see `kb.embed.onnx.default_cache_dir`) under
names that say how they were made (`onnx_file_name`), so a file made another way is never
taken for this one; each file is written under a temporary name and renamed into place, so
two processes exporting at once each leave a whole file. At run time only onnxruntime,
tokenizers and numpy are used: tokenisation by the model's own fast tokenizer
(`tokenizer.json`), truncated to the model's `max_seq_length`, then the model's own pooling
(from its `modules.json` and pooling config) and L2 normalisation, as sentence-transformers
does.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed.base import (
    ONNX_FP32,
    ONNX_INT8,
    ScheduledEmbedder,
    TokenCounter,
    counting_tokenizer,
    has_vnni,
)
from kb.errors import ModelLoadError

OPSET = 17
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
SUPPORTED_MODULES = {"Transformer", "Pooling", "Normalize"}
POOLING_MODES = ("mean_tokens", "cls_token", "max_tokens", "mean_sqrt_len_tokens")
ONNX_VARIANTS = (ONNX_INT8, ONNX_FP32)
_export_lock = threading.Lock()  # one export per process at a time (other processes: rename)


@dataclass(frozen=True)
class ModelLayout:
    """What sentence-transformers would do with the model folder, read from its config."""

    pooling: str  # one of POOLING_MODES
    normalize: bool
    max_tokens: int
    dim: int


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept: `KB_MODEL_CACHE`, else the user's cache folder."""
    configured = os.environ.get("KB_MODEL_CACHE")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kb-training" / "onnx"


def read_layout(path: Path) -> ModelLayout:
    """The pooling, normalisation and window of the sentence-transformers model in `path`;
    a model with modules this runner does not reproduce is refused with the fix."""
    modules: list[dict[str, Any]] = []
    if (path / "modules.json").is_file():
        modules = json.loads((path / "modules.json").read_text())
    kinds = {str(m.get("type", "")).rsplit(".", 1)[-1]: m for m in modules}
    unsupported = set(kinds) - SUPPORTED_MODULES
    if unsupported:
        raise ModelLoadError(
            f"The model at {path} has modules ({', '.join(sorted(unsupported))}) that the ONNX "
            "runner does not reproduce: use the variant torch-fp32 (KB_MODEL_VARIANT)."
        )
    config = json.loads((path / "config.json").read_text())
    dim = int(config.get("hidden_size", 0))
    pooling = "mean_tokens"
    if "Pooling" in kinds:
        pooling_config = json.loads(
            (path / str(kinds["Pooling"].get("path", "")) / "config.json").read_text()
        )
        chosen = [mode for mode in POOLING_MODES if pooling_config.get(f"pooling_mode_{mode}")]
        others = [
            key
            for key, value in pooling_config.items()
            if key.startswith("pooling_mode_") and value and key[13:] not in POOLING_MODES
        ]
        if len(chosen) != 1 or others:
            raise ModelLoadError(
                f"The model at {path} pools with {chosen + others}; the ONNX runner "
                f"reproduces one of {', '.join(POOLING_MODES)}: use the variant torch-fp32."
            )
        pooling = chosen[0]
        dim = int(pooling_config.get("word_embedding_dimension", dim))
    max_tokens = 512
    st_config = path / "sentence_bert_config.json"
    if st_config.is_file():
        max_tokens = int(json.loads(st_config.read_text()).get("max_seq_length") or 512)
    max_tokens = min(max_tokens, int(config.get("max_position_embeddings", max_tokens)))
    # The stores expect unit vectors: the PyTorch embedder normalises too.
    return ModelLayout(pooling=pooling, normalize=True, max_tokens=max_tokens, dim=dim)


def weights_digest(path: Path) -> str:
    """A hash of the model's weights, config and tokenizer: the cache key of its export."""
    digest = hashlib.sha256()
    names = [n for n in WEIGHT_FILES if (path / n).is_file()]
    if not names:
        raise ModelLoadError(f"No weights ({' or '.join(WEIGHT_FILES)}) in {path}.")
    for name in [names[0], "config.json", "tokenizer.json"]:
        file = path / name
        if file.is_file():
            digest.update(name.encode())
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()[:16]


def cache_folder(model_path: Path, name: str, cache_dir: Path | None = None) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name.replace("/", "--"))
    return (cache_dir or default_cache_dir()) / f"{safe}-{weights_digest(model_path)}"


def _replace_into(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def export_fp32(model_path: Path, out: Path) -> None:
    """The transformer of `model_path` as ONNX (token states out; pooling is done after)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model = AutoModel.from_pretrained(
        str(model_path), local_files_only=True, attn_implementation="eager"
    )
    model.eval()
    names = ["input_ids", "attention_mask"]
    if getattr(model.config, "type_vocab_size", 0):
        names.append("token_type_ids")

    class TokenStates(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *inputs: Any) -> Any:
            return self.inner(**dict(zip(names, inputs, strict=True))).last_hidden_state

    # A padded batch of two, so that the traced graph keeps the attention mask.
    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]], dtype=torch.long)
    mask = (ids != 0).long()
    example = (ids, mask, torch.zeros_like(ids))[: len(names)]
    axes = {n: {0: "batch", 1: "tokens"} for n in [*names, "token_states"]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            TokenStates(model),
            example,
            str(out),
            input_names=names,
            output_names=["token_states"],
            dynamic_axes=axes,
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )


def optimize_fp32(src: Path, out: Path, model_path: Path) -> None:
    """The plain export `src` through ONNX Runtime's transformer optimiser (BERT fusions,
    heads and width from the model's config.json; its Python fusions only, no
    hardware-specific graph): fused attention, SkipLayerNormalization, BiasGelu and
    EmbedLayerNormalization. On this 2-core AVX2 EPYC it encoded ~8% faster than the
    plain graph with the same vectors (bench/roofline.py)."""
    from onnxruntime.transformers.optimizer import optimize_model

    config = json.loads((model_path / "config.json").read_text())
    optimized = optimize_model(
        str(src),
        model_type="bert",
        num_heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
        opt_level=0,
    )
    optimized.save_model_to_file(str(out))


def int8_weight_type() -> str:
    """How int8 weights are stored: signed ("s8") where the CPU has VNNI (its fast path);
    elsewhere signed in 7 bits ("s8r", reduce_range), which AVX2's u8 x s8 kernels multiply
    without saturating their 16-bit sums. On this AVX2-only EPYC, quantised after the fusion:
    s8r encoded 1.28x as fast as unsigned weights (u8 x u8 kernels) at mean cosine 0.992 to
    fp32 against 0.994, nDCG within the gate (bench/roofline.py, variant_quality.py)."""
    return "s8" if has_vnni() else "s8r"


@contextmanager
def quiet_quantizer() -> Iterator[None]:
    """Silence ONNX Runtime's quantiser below ERROR for the block, without touching the root
    logger's level or handlers.

    The quantiser logs through the root logger itself (`logging.warning(...)`: "consider
    pre-processing" on every call) and through `onnxruntime.*` loggers. Setting the root's
    level, as this module once did, silenced every thread's lines for the call (a search
    logged nothing while an export ran) and left the level changed if the call was
    interrupted at the wrong moment. Instead: a filter on the root logger drops the records
    the quantiser's own files log on it (a logger's filters see only that logger's own
    records, never those propagated from others), the `onnxruntime` logger is raised to
    ERROR, and when the root has no handler a NullHandler stands in, so that the module-level
    `logging.warning` does not install one (it calls `basicConfig`). All are undone after."""
    import onnxruntime.quantization

    folder = str(Path(onnxruntime.quantization.__file__).resolve().parent)

    def keep(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or not record.pathname.startswith(folder)

    root = logging.getLogger()
    library = logging.getLogger("onnxruntime")
    library_level = library.level
    stand_in = logging.NullHandler() if not root.handlers else None
    root.addFilter(keep)
    if stand_in is not None:
        root.addHandler(stand_in)
    library.setLevel(logging.ERROR)
    try:
        yield
    finally:
        library.setLevel(library_level)
        if stand_in is not None:
            root.removeHandler(stand_in)
        root.removeFilter(keep)


def quantize_int8(
    src: Path,
    out: Path,
    weight_type: str,
    *,
    reduce_range: bool = False,
    per_channel: bool = True,
    op_types: Sequence[str] | None = None,
) -> None:
    """Dynamic int8 quantisation of the weights, per output channel (per-tensor scales lose
    too much: mean cosine to fp32 0.95 against 0.99 on the sample corpus); `op_types`: the
    operators quantised (None: quantize_dynamic's own choice, embeddings included)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with quiet_quantizer():  # "consider pre-processing" on every call
        quantize_dynamic(
            str(src),
            str(out),
            weight_type=QuantType.QInt8 if weight_type == "s8" else QuantType.QUInt8,
            per_channel=per_channel,
            reduce_range=reduce_range,
            op_types_to_quantize=list(op_types) if op_types is not None else None,
            # the fused graph's outputs have no inferred type (contrib operators)
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )


PLAIN_FP32 = "model-fp32.onnx"  # the export itself, before the optimiser
# The operators int8 quantises in the fused graph: the linear layers and the attention's
# input projection; the embeddings stay fp32 (quantising them costs fidelity and no time).
INT8_OPS = ("MatMul", "Attention")


def onnx_file_name(variant: str) -> str:
    """The cached file of `variant`; the name says how it was made (a change to how a
    variant's file is made changes its name, so older files are not taken for it)."""
    if variant == ONNX_INT8:
        return f"model-int8-fused-{int8_weight_type()}.onnx"
    return "model-fp32-fused.onnx"


def ensure_onnx(model_path: Path, name: str, variant: str, cache_dir: Path | None = None) -> Path:
    """The cached ONNX file of `variant`, exported, optimised (and quantised) first if need
    be; the plain export stays in the folder beside them."""
    if variant not in ONNX_VARIANTS:
        raise ModelLoadError(f"No ONNX file for the variant {variant!r}.")
    folder = cache_folder(model_path, name, cache_dir)
    final = folder / onnx_file_name(variant)
    if final.is_file():
        return final
    with _export_lock:
        if final.is_file():
            return final
        step = "create the cache folder"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix=".export-", dir=folder))
            try:
                plain = folder / PLAIN_FP32
                if not plain.is_file():
                    step = "export the model to ONNX"
                    export_fp32(model_path, work / "plain.onnx")
                    _replace_into(work / "plain.onnx", plain)
                fused = folder / onnx_file_name(ONNX_FP32)
                if not fused.is_file():
                    step = "optimise the ONNX model"
                    optimize_fp32(plain, work / "fused.onnx", model_path)
                    _replace_into(work / "fused.onnx", fused)
                if variant == ONNX_INT8:
                    step = "quantise the ONNX model to int8"
                    weights = int8_weight_type()
                    quantize_int8(
                        fused,
                        work / "int8.onnx",
                        weights[:2],
                        reduce_range=weights == "s8r",
                        op_types=INT8_OPS,
                    )
                    _replace_into(work / "int8.onnx", final)
            finally:
                shutil.rmtree(work, ignore_errors=True)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"Could not {step} for {name} in {folder} ({type(exc).__name__}: {exc}). "
                "Check that the folder is writable (or set KB_MODEL_CACHE to one that is) and "
                "that onnx and onnxruntime are installed; meanwhile the PyTorch model works: "
                "KB_MODEL_VARIANT=torch-fp32 (for a store built with another variant, "
                "`kb reembed` moves it)."
            ) from exc
    return final


class OnnxModel:
    """An exported model in an ONNX Runtime session, with the model's own tokenizer and
    pooling: a `BatchEncoder`."""

    def __init__(
        self, onnx_path: Path, model_path: Path, layout: ModelLayout, threads: int = 0
    ) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelLoadError(
                f"{exc.name} is not installed: `pip install onnxruntime`, or use the variant "
                "torch-fp32 (KB_MODEL_VARIANT)."
            ) from exc
        self.onnx_path = onnx_path
        self.layout = layout
        self.dim = layout.dim
        self.max_tokens = layout.max_tokens
        tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        # tokenizer.json may carry its own (shorter, fixed) padding and truncation: use the
        # sentence-transformers ones, longest-first truncation at max_seq_length, padding to
        # the longest text of the batch.
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=layout.max_tokens)
        pad = tokenizer.token_to_id("[PAD]")
        pad_token = "[PAD]"
        config_file = model_path / "tokenizer_config.json"
        if config_file.is_file():
            pad_token = str(json.loads(config_file.read_text()).get("pad_token") or pad_token)
            pad = tokenizer.token_to_id(pad_token)
        tokenizer.enable_padding(pad_id=pad or 0, pad_token=pad_token)
        self.tokenizer = tokenizer
        self.last_batch_tokens = 0  # input tokens of the last batch, padding excluded
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        # Threads that spin between runs steal the cores that faiss, BM25 and the ingest's
        # parsing share with the model on a small machine.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(onnx_path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise ModelLoadError(
                f"ONNX Runtime could not load {onnx_path} ({exc}): delete that file to export "
                "it again, or use the variant torch-fp32 (KB_MODEL_VARIANT)."
            ) from exc
        self.inputs = [i.name for i in self.session.get_inputs()]

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        self.last_batch_tokens = int(mask.sum())  # the scheduler counts them (kb.observe)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        states = self.session.run(None, feed)[0]
        return pool(states, mask, self.layout)


def pool(states: np.ndarray, mask: np.ndarray, layout: ModelLayout) -> np.ndarray:
    """Token states -> one unit vector per text, as sentence-transformers' Pooling does."""
    weights = mask[..., None].astype(np.float32)
    if layout.pooling == "cls_token":
        vectors = states[:, 0]
    elif layout.pooling == "max_tokens":
        vectors = np.where(weights > 0, states, -1e9).max(axis=1)
    else:
        summed = (states * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        vectors = summed / (np.sqrt(counts) if layout.pooling == "mean_sqrt_len_tokens" else counts)
    if layout.normalize:
        vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return np.ascontiguousarray(vectors, dtype=np.float32)


class OnnxEmbedder(ScheduledEmbedder):
    """The model run by ONNX Runtime: `onnx-int8` (dynamic int8 weights) or `onnx-fp32`."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        variant: str = ONNX_INT8,
        cache_dir: Path | None = None,
        batch_size: int = 32,
        threads: int = 0,
    ) -> None:
        super().__init__(model_path, batch_size)
        if variant not in ONNX_VARIANTS:
            raise ModelLoadError(
                f"Unknown ONNX variant {variant!r}: choose {ONNX_INT8} or {ONNX_FP32}."
            )
        self.variant = variant
        self.cache_dir = cache_dir
        self.threads = threads
        self._counter: Any = None

    @property
    def onnx_path(self) -> Path:
        """The cached ONNX file, exported first if need be."""
        return ensure_onnx(self.path, self.name, self.variant, self.cache_dir)

    def count_tokens(self, text: str) -> int:
        """Word pieces the model reads for `text`, special tokens included, untruncated (ingest
        packs chunks up to the window by it); the tokenizer alone, loaded on first use."""
        if self._counter is None:
            self._counter = TokenCounter(counting_tokenizer(self.path))
        return int(self._counter(text))

    def _load(self) -> OnnxModel:
        layout = read_layout(self.path)
        return OnnxModel(self.onnx_path, self.path, layout, self.threads)


__all__ = [
    "ModelLayout",
    "OnnxEmbedder",
    "OnnxModel",
    "cache_folder",
    "ensure_onnx",
    "export_fp32",
    "has_vnni",
    "int8_weight_type",
    "onnx_file_name",
    "optimize_fp32",
    "pool",
    "quantize_int8",
    "read_layout",
]
