"""The ONNX Runtime embedder against the PyTorch one, on the real model: same tokens, same
vectors in fp32 (the optimised graph's too), close vectors in int8; the export is cached and
reused, under names no older export used; a failed export says what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kb import SentenceTransformerEmbedder
from kb.embed.base import ONNX_FP32, ONNX_INT8
from kb.embed.onnx import (
    PLAIN_FP32,
    OnnxEmbedder,
    OnnxModel,
    cache_folder,
    onnx_file_name,
    read_layout,
)
from kb.embed.registry import make_embedder
from kb.errors import ModelLoadError
from tests.onnx_helpers import session_onnx_cache

PASSAGES = [
    "Class imbalance: when one label dominates, the classifier learns to predict it.",
    "Drift detection compares the live feature distribution with the training one.",
    "LoRA adds low-rank adapters to the attention weights; the rank trades memory for fit.",
    "hi",
    "Cold start: a new user has no history, so content features carry the recommendation.",
    # longer than the model's window (256 tokens): truncated the same way
    " ".join(["The latency budget of an online model covers features, model and network."] * 40),
]


@pytest.fixture(scope="module")
def onnx_fp32(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    embedder = make_embedder(None, ONNX_FP32, cache_dir=session_onnx_cache(tmp_path_factory))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def onnx_int8(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    embedder = make_embedder(None, ONNX_INT8, cache_dir=session_onnx_cache(tmp_path_factory))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def torch_vectors(embedder: SentenceTransformerEmbedder) -> np.ndarray:
    return embedder.encode_documents(PASSAGES)


def test_names_and_variants(embedder: SentenceTransformerEmbedder, onnx_int8: OnnxEmbedder) -> None:
    assert embedder.name == onnx_int8.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (embedder.variant, onnx_int8.variant) == ("torch-fp32", "onnx-int8")
    with pytest.raises(ModelLoadError, match="torch-fp32"):
        make_embedder(None, "onnx-int4")


def test_tokens_match_sentence_transformers(
    embedder: SentenceTransformerEmbedder, onnx_fp32: OnnxEmbedder
) -> None:
    model = onnx_fp32.model
    assert isinstance(model, OnnxModel)
    assert model.max_tokens == embedder.max_tokens == 256
    expected = embedder._loaded().tokenize(PASSAGES)
    ours = model.tokenizer.encode_batch(PASSAGES)
    assert np.array_equal(np.array([e.ids for e in ours]), expected["input_ids"].numpy())
    assert np.array_equal(
        np.array([e.attention_mask for e in ours]), expected["attention_mask"].numpy()
    )


def test_onnx_fp32_gives_the_pytorch_vectors(
    onnx_fp32: OnnxEmbedder, torch_vectors: np.ndarray
) -> None:
    vectors = onnx_fp32.encode_documents(PASSAGES)
    assert vectors.dtype == np.float32 and vectors.shape == torch_vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    query = onnx_fp32.encode_query(PASSAGES[0])
    assert float(query @ torch_vectors[0]) > 0.999


def test_int8_stays_close_to_fp32(onnx_int8: OnnxEmbedder, torch_vectors: np.ndarray) -> None:
    cosines = (onnx_int8.encode_documents(PASSAGES) * torch_vectors).sum(axis=1)
    assert cosines.mean() > 0.97, cosines
    assert cosines.min() > 0.9, cosines


def test_the_export_is_cached_and_reused(
    onnx_int8: OnnxEmbedder, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = onnx_int8.onnx_path
    folder = cache_folder(onnx_int8.path, onnx_int8.name, session_onnx_cache(tmp_path_factory))
    assert path.parent == folder and path.is_file()
    assert folder.name.startswith("sentence-transformers--all-MiniLM-L6-v2-")
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no leftovers
    stamp = path.stat().st_mtime_ns
    again = make_embedder(None, ONNX_INT8, cache_dir=folder.parent)
    assert isinstance(again, OnnxEmbedder)
    assert again.onnx_path == path and path.stat().st_mtime_ns == stamp


def test_the_optimised_graph_is_fused_and_gives_the_plain_exports_vectors(
    onnx_fp32: OnnxEmbedder,
) -> None:
    """The transformer optimiser changes the kernels, not the vectors (float noise only)."""
    import onnx

    fused = onnx_fp32.onnx_path
    plain = fused.parent / PLAIN_FP32
    assert plain.is_file() and fused != plain
    ops = {node.op_type for node in onnx.load(str(fused)).graph.node}
    assert {"Attention", "SkipLayerNormalization", "BiasGelu"} <= ops, ops
    layout = read_layout(onnx_fp32.path)
    ours = OnnxModel(fused, onnx_fp32.path, layout).encode_batch(PASSAGES)
    before = OnnxModel(plain, onnx_fp32.path, layout).encode_batch(PASSAGES)
    assert (ours * before).sum(axis=1).min() > 0.99999


def test_file_names_are_not_those_of_older_exports() -> None:
    """A file made another way (before the optimiser) is never taken for today's."""
    older = {"model-fp32.onnx", "model-int8-u8.onnx", "model-int8-s8.onnx"}
    older |= {"model-int8-fused-u8.onnx"}  # the fused graph quantised with unsigned weights
    assert not {onnx_file_name(ONNX_FP32), onnx_file_name(ONNX_INT8)} & older


def test_a_failed_export_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    embedder = make_embedder(None, ONNX_INT8, cache_dir=blocker)
    with pytest.raises(ModelLoadError) as failure:
        embedder.encode_query("anything")
    message = str(failure.value)
    assert "KB_MODEL_CACHE" in message and "KB_MODEL_VARIANT=torch-fp32" in message


def test_layout_follows_the_model_folder(embedder: SentenceTransformerEmbedder) -> None:
    layout = read_layout(embedder.path)
    assert (layout.pooling, layout.normalize, layout.max_tokens, layout.dim) == (
        "mean_tokens",
        True,
        256,
        384,
    )


@pytest.fixture
def model_copy(tmp_path: Path, embedder: SentenceTransformerEmbedder) -> Iterator[Path]:
    folder = tmp_path / "model"
    folder.mkdir()
    for item in embedder.path.iterdir():
        if item.is_file():
            (folder / item.name).symlink_to(item)
    (folder / "1_Pooling").mkdir()
    yield folder


def test_pooling_the_onnx_runner_cannot_reproduce_is_refused(model_copy: Path) -> None:
    (model_copy / "1_Pooling" / "config.json").write_text(
        '{"word_embedding_dimension": 384, "pooling_mode_weightedmean_tokens": true}'
    )
    with pytest.raises(ModelLoadError, match="torch-fp32"):
        read_layout(model_copy)


def test_onnx_counts_tokens_as_the_model_reads_them(
    embedder: SentenceTransformerEmbedder, onnx_int8: OnnxEmbedder
) -> None:
    """Ingest packs chunks to the window by this count, whichever variant the store uses."""
    for text in ["Rank 8 adapters, alpha 16.", "低秩适配器 LoRA 微调", "word " * 400]:
        assert onnx_int8.count_tokens(text) == embedder.count_tokens(text)
    assert onnx_int8.count_tokens("word " * 400) > onnx_int8.max_tokens  # not truncated
