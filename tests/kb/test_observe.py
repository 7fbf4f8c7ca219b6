"""kb's instrumentation hooks (kb.observe): what an observer is told of each search and what
the encoder counts, with no exporter in sight."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest_paths
from kb import EmptyQueryError, KnowledgeBase
from kb.embed.scheduler import EncoderScheduler
from kb.observe import Outcome, Stage
from tests.helpers import markdown_doc


class Recorder:
    """A SearchObserver that remembers what it was told."""

    def __init__(self) -> None:
        self.stages: list[Stage] = []
        self.searches: list[tuple[str, Outcome]] = []

    def stage(self, stage: Stage, seconds: float) -> None:
        assert seconds >= 0
        self.stages.append(stage)

    def searched(self, mode: str, outcome: Outcome, seconds: float) -> None:
        assert seconds >= 0
        self.searches.append((mode, outcome))


@pytest.fixture
def filled(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "imbalance.md").write_text(
        markdown_doc("Class imbalance", {"Reweighting": "Weight the loss by class frequency."})
    )
    ingest_paths(kb, [folder])
    return kb


def test_a_hybrid_search_tells_each_stage_and_its_outcome(filled: KnowledgeBase) -> None:
    seen = Recorder()
    filled.searcher.observer = seen
    assert filled.search("reweighting the loss")
    assert sorted(set(seen.stages)) == ["dense", "encode", "fuse", "lexical"]
    assert seen.searches == [("hybrid", "hits")]


def test_single_sided_searches_tell_only_their_stages(filled: KnowledgeBase) -> None:
    seen = Recorder()
    filled.searcher.observer = seen
    assert filled.search("qwxzvbnm", mode="lexical") == []
    assert seen.stages == ["lexical"] * len(seen.stages) and seen.stages
    filled.search("reweighting", mode="dense")
    assert seen.searches == [("lexical", "no_hits"), ("dense", "hits")]


def test_a_failed_search_is_told_as_an_error_and_still_raised(filled: KnowledgeBase) -> None:
    seen = Recorder()
    filled.searcher.observer = seen
    with pytest.raises(EmptyQueryError):
        filled.search("   ")
    assert seen.searches == [("hybrid", "error")]


def test_without_an_observer_search_is_unchanged(filled: KnowledgeBase) -> None:
    assert filled.searcher.observer is None
    seen = Recorder()
    plain = filled.search("reweighting the loss")
    filled.searcher.observer = seen
    assert filled.search("reweighting the loss") == plain


class Words:
    """A BatchEncoder that reports one token per word."""

    dim = 4

    def __init__(self) -> None:
        self.last_batch_tokens = 0

    def encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.last_batch_tokens = sum(len(t.split()) for t in texts)
        return np.ones((len(texts), self.dim), dtype=np.float32) / 2.0


def test_the_scheduler_counts_texts_tokens_and_batches_by_kind() -> None:
    scheduler = EncoderScheduler(Words(), batch_size=2, query_window_s=0)
    scheduler.encode_documents(["one two", "three", "four five six"])
    scheduler.encode_query("a query")
    scheduler.encode_query("a query")  # cached: not encoded again
    counts = scheduler.encoded.snapshot()
    assert counts.texts == {"document": 3, "query": 1}
    assert counts.tokens == {"document": 6, "query": 2}
    assert counts.batches == {"document": 2, "query": 1}
    assert counts.seconds["document"] >= 0.0


def test_reading_the_counts_never_loads_the_model(tmp_path: Path) -> None:
    from kb import OnnxEmbedder

    embedder = OnnxEmbedder(cache_dir=tmp_path)
    assert embedder.encoded is None


def test_quantising_leaves_the_root_logger_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ONNX Runtime's quantiser logs through the root logger itself; the int8 export silences
    it without changing the root's level or handlers, so other threads keep logging."""
    import onnx
    from onnx import TensorProto, helper

    from kb.embed.onnx import quantize_int8

    weights = helper.make_tensor("W", TensorProto.FLOAT, [8, 8], [0.1 * i for i in range(64)])
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "tiny",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 8])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "tiny.onnx")
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    caplog.set_level(logging.INFO)
    level = root.level

    quantize_int8(tmp_path / "tiny.onnx", tmp_path / "tiny-int8.onnx", "s8")

    assert (tmp_path / "tiny-int8.onnx").is_file()
    assert root.level == level
    assert root.handlers == handlers
    assert not root.filters
    assert not [r for r in caplog.records if "onnxruntime" in r.pathname and r.levelno < 40]
