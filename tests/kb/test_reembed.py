"""Variants in the store manifest, and `reembed` moving a store between them in place:
resumable after a kill, searchable afterwards, never mixing two variants' vectors."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from ingest import ingest_paths
from kb import SentenceTransformerEmbedder, open_knowledge_base
from kb.embed.base import ONNX_INT8
from kb.embed.onnx import OnnxEmbedder
from kb.embed.registry import make_embedder
from kb.errors import StoreMismatchError
from kb.reembed import reembed
from kb.store.rows import text_hash
from tests.onnx_helpers import session_onnx_cache

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "data" / "sample" / "docs" / "nlp-sentiment"
FILES = [
    CORPUS / name
    for name in (
        "01-cleaning-review-text.md",
        "02-near-duplicates-and-label-noise.md",
        "05-hyperparameter-search.md",
        "08-imbalance-thresholds-and-calibration.md",
    )
]
QUERIES = {
    "how do I stop the model from favouring the majority label": (
        "08-imbalance-thresholds-and-calibration.md"
    ),
    "copy-pasted customer comments with one word changed end up in both my training and "
    "evaluation data": "02-near-duplicates-and-label-noise.md",
    "keeping smiley faces as useful signal instead of deleting them during text prep": (
        "01-cleaning-review-text.md"
    ),
}


class Interrupted(Exception):
    pass


class KilledAfter:
    """The int8 embedder, killed (an exception) when asked for its `calls`+1-th batch."""

    def __init__(self, inner: OnnxEmbedder, calls: int) -> None:
        self.inner = inner
        self.name, self.variant = inner.name, inner.variant
        self.calls_left = calls

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def max_tokens(self) -> int:
        return self.inner.max_tokens

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        if self.calls_left == 0:
            raise Interrupted
        self.calls_left -= 1
        return self.inner.encode_documents(texts)

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> OnnxEmbedder:
    embedder = make_embedder(None, ONNX_INT8, cache_dir=session_onnx_cache(tmp_path_factory))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


@pytest.fixture(scope="module")
def torch_home(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Path:
    home = tmp_path_factory.mktemp("torch-home")
    base = open_knowledge_base(home, embedder=embedder)
    report = ingest_paths(base, FILES)
    assert not report.failed and report.chunks > 12
    base.close()
    return home


@pytest.fixture
def home(torch_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(torch_home, copy)
    return copy


def _manifest(home: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((home / "manifest.json").read_text())
    return data


def test_the_manifest_records_backend_model_and_variant(torch_home: Path) -> None:
    assert _manifest(torch_home) == {
        "format": 1,
        "backend": "sqlite",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "variant": "torch-fp32",
        "dim": 384,
    }


def test_another_variant_is_refused_with_the_way_out(home: Path, int8: OnnxEmbedder) -> None:
    with pytest.raises(StoreMismatchError) as refused:
        open_knowledge_base(home, embedder=int8)
    message = str(refused.value)
    assert "torch-fp32" in message and "onnx-int8" in message and "kb reembed" in message


def test_a_manifest_without_variant_is_taken_as_torch_fp32(
    home: Path, embedder: SentenceTransformerEmbedder, int8: OnnxEmbedder
) -> None:
    legacy = {k: v for k, v in _manifest(home).items() if k != "variant"}
    (home / "manifest.json").write_text(json.dumps(legacy))
    base = open_knowledge_base(home, embedder=embedder)
    assert base.search(next(iter(QUERIES)), k=3)
    base.close()
    with pytest.raises(StoreMismatchError, match="holds torch-fp32 vectors"):
        open_knowledge_base(home, embedder=int8)


def test_reembed_resumes_after_a_kill_and_the_store_searches_well(
    home: Path, int8: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    before = open_knowledge_base(home, embedder=embedder)
    chunks = before.store.count_chunks()
    before.close()
    killed = KilledAfter(int8, calls=2)
    with pytest.raises(Interrupted):
        reembed(home, killed, batch=4)
    # Killed mid-way: the store is untouched and still opens with its old variant.
    assert _manifest(home)["variant"] == "torch-fp32"
    still = open_knowledge_base(home, embedder=embedder)
    assert still.search(next(iter(QUERIES)), k=3)
    still.close()

    report = reembed(home, int8, batch=4)
    assert report.changed and report.previous_variant == "torch-fp32"
    assert report.variant == "onnx-int8" and report.chunks == chunks
    assert report.resumed == 8  # the two batches staged before the kill were kept
    assert report.encoded <= chunks - 8
    assert _manifest(home)["variant"] == "onnx-int8"

    after = open_knowledge_base(home, embedder=int8)
    # Every stored vector is the int8 vector of the chunk's stored text (int8 activations
    # are scaled per batch, so a text's vector varies a little with its batch-mates).
    rows = list(after.store._db.execute("SELECT heading, body, text_hash, embedding FROM chunks"))
    texts = [f"{heading}\n{body}" if heading else body for heading, body, _, _ in rows]
    assert [text_hash(text) for text in texts] == [row[2] for row in rows]
    stored = np.stack([np.frombuffer(row[3], dtype=np.float32) for row in rows])
    cosines = (stored * int8.encode_documents(texts)).sum(axis=1)
    assert cosines.min() > 0.98, cosines
    for query, wanted in QUERIES.items():
        for mode in ("hybrid", "dense"):
            hits = after.search(query, k=3, mode=mode)
            assert any(hit.source.endswith(wanted) for hit in hits), (query, mode)
    after.close()
    with pytest.raises(StoreMismatchError, match="holds onnx-int8 vectors"):
        open_knowledge_base(home, embedder=embedder)
    assert not reembed(home, int8).changed  # nothing to do
    assert _manifest(home)["backend"] == "sqlite"


def test_a_kill_during_the_switch_is_finished_by_the_next_run(
    home: Path, int8: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    assert reembed(home, int8).changed
    # Pretend the process died after committing the vectors, before naming the variant.
    manifest = _manifest(home)
    switching = {
        **manifest,
        "variant": "torch-fp32",
        "reembed": {"model": manifest["model"], "variant": "onnx-int8", "dim": 384},
    }
    (home / "manifest.json").write_text(json.dumps(switching))
    with pytest.raises(StoreMismatchError, match="interrupted"):
        open_knowledge_base(home, embedder=embedder)
    again = reembed(home, int8)
    assert not again.changed and _manifest(home)["variant"] == "onnx-int8"
    base = open_knowledge_base(home, embedder=int8)
    assert base.search(next(iter(QUERIES)), k=3)
    base.close()


def test_a_process_still_on_the_old_variant_stops_with_a_way_out(
    home: Path, int8: OnnxEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    server = open_knowledge_base(home, embedder=embedder)  # a `kb serve` opened before the reembed
    query = next(iter(QUERIES))
    assert server.search(query, k=3)
    assert reembed(home, int8).changed
    # Its queries would be torch vectors against int8 ones, its ingests would mix the two.
    with pytest.raises(StoreMismatchError, match="re-embedded with .* restart it"):
        server.search(query, k=3)
    with pytest.raises(StoreMismatchError, match="restart it"):
        ingest_paths(server, [CORPUS / "03-tfidf-ngrams-baseline.md"])
    server.close()
    reopened = open_knowledge_base(home, embedder=int8)
    assert reopened.stats()["documents"] == len(FILES), "a document with old-variant vectors"
    reopened.close()
