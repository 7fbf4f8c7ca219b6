"""Searchable at once, on both backends: a document is stored for its words first (found by
lexical search, and by hybrid search through its words, the moment it lands), its chunks'
vectors come from the store's queue after, and the queue is safe to share: no text is
encoded twice, a stopped embedder leaves the rest queued, a deleted or re-ingested document
leaves nothing behind. The deterministic test model is enough: these are mechanics."""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from api.backends import open_backend
from ingest import ingest_paths
from kb import ChunkInput, DocumentInput, DocumentMeta, KnowledgeBase, Location
from kb.background import BackgroundEmbedder
from kb.knowledge_base import EMBED_POLL_S
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write


class CountingEmbedder(HashingEmbedder):
    """The hashing model, counting each text it is asked to encode."""

    def __init__(self) -> None:
        self.encoded: Counter[str] = Counter()
        self.batches: list[list[str]] = []  # each call's texts, in order
        self._lock = threading.Lock()

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            self.encoded.update(texts)
            self.batches.append(list(texts))
        return super().encode_documents(texts)


@pytest.fixture
def model() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture
def kb_on(
    backend_url: str | None, tmp_path: Path, model: CountingEmbedder
) -> Iterator[KnowledgeBase]:
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=model)
    yield base
    base.close()


def doc(name: str, *bodies: str) -> DocumentInput:
    return DocumentInput(
        origin=f"/corpus/{name}",
        source=name,
        type="markdown",
        content_hash=f"hash-of-{name}-{len(bodies)}-{hash(bodies)}",
        meta=DocumentMeta(title=name),
        chunks=tuple(
            ChunkInput(f"part {i}", body, Location(f"part {i}", f"p{i}"))
            for i, body in enumerate(bodies)
        ),
    )


def test_a_document_is_found_by_its_words_before_its_vectors_exist(kb_on: KnowledgeBase) -> None:
    kb_on.write_documents([doc("drift.md", "drift alerts on the serving fleet", "thresholds")])
    stats = kb_on.stats()
    assert (stats["pending_embeddings"], stats["pending_documents"]) == (2, 1)
    assert [hit.source for hit in kb_on.search("drift alerts", mode="lexical")] == ["drift.md"]
    assert [hit.source for hit in kb_on.search("drift alerts", mode="hybrid")] == ["drift.md"]
    assert kb_on.search("drift alerts", mode="dense") == []  # no vector yet

    report = kb_on.embed_pending()
    assert (report.embedded, report.filled, report.pending) == (2, 2, 0)
    assert kb_on.stats()["pending_embeddings"] == 0
    assert [hit.source for hit in kb_on.search("drift alerts", mode="dense")] == ["drift.md"]


def test_a_text_is_encoded_once_however_many_chunks_share_it(
    kb_on: KnowledgeBase, model: CountingEmbedder
) -> None:
    shared = "the same paragraph, pasted into three write-ups"
    # the same heading and body in three documents: the same text to embed
    kb_on.write_documents([doc(f"copy{i}.md", shared, f"own words {i}") for i in range(3)])
    assert kb_on.embed_pending().embedded == 4  # the shared text once, and three own texts
    # a later document with a text already stored takes its vector: nothing is queued
    kb_on.write_documents([doc("copy3.md", shared)])
    assert kb_on.stats()["pending_embeddings"] == 0
    assert max(model.encoded.values()) == 1


def test_while_an_ingest_writes_the_queue_is_embedded_in_full_claims_in_written_order(
    kb_on: KnowledgeBase, model: CountingEmbedder
) -> None:
    """The same files give the same claims whatever the timing, so the same batchmates and,
    with a quantised encoder, the same vectors (docs/chinese.md: build noise)."""
    embedder = BackgroundEmbedder(kb_on, claim=4).start()
    try:
        for i in range(10):
            kb_on.write_documents([doc(f"d{i}.md", f"write-up number {i} on drift alerts")])
            time.sleep(EMBED_POLL_S * 1.5)  # the embedder looks between writes
        embedder.finish()
    finally:
        embedder.stop()

    def numbers(batch: list[str]) -> list[int]:
        return [int(re.search(r"number (\d+)", text).group(1)) for text in batch]  # type: ignore[union-attr]

    assert [numbers(batch) for batch in model.batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_embedders_running_at_once_share_the_work_and_encode_each_text_once(
    kb_on: KnowledgeBase, model: CountingEmbedder
) -> None:
    kb_on.write_documents(
        [doc(f"d{i}.md", *(f"note {i}-{j} about serving" for j in range(5))) for i in range(12)]
        + [doc(f"dup{i}.md", "one text many copies") for i in range(6)]
    )
    reports = []
    threads = [
        threading.Thread(target=lambda: reports.append(kb_on.embed_pending(claim=4)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.filled for r in reports) == 12 * 5 + 6
    assert sum(r.embedded for r in reports) == 12 * 5 + 1
    assert max(model.encoded.values()) == 1
    assert kb_on.stats()["pending_embeddings"] == 0


def test_a_stopped_embedder_leaves_the_rest_queued_and_unclaimed(kb_on: KnowledgeBase) -> None:
    kb_on.write_documents([doc(f"d{i}.md", f"text {i} one", f"text {i} two") for i in range(5)])
    stop = threading.Event()
    seen: list[int] = []

    def after_each(done: int, total: int) -> None:
        seen.append(done)
        if done >= 2:
            stop.set()

    first = kb_on.embed_pending(claim=2, stop=stop, progress=after_each)
    assert first.filled == 2 and first.pending == 8
    # what it left is not held by a claim: the next embedder finishes at once
    second = kb_on.embed_pending(claim=100)
    assert (second.filled, second.pending) == (8, 0)


def test_deleting_or_reingesting_a_waiting_document_leaves_nothing_queued(
    kb_on: KnowledgeBase,
) -> None:
    (kept,) = kb_on.write_documents([doc("kept.md", "first words", "second words")])
    (gone,) = kb_on.write_documents([doc("gone.md", "doomed words")])
    kb_on.delete(gone.doc_id)
    assert kb_on.stats()["pending_embeddings"] == 2
    kb_on.write_documents([doc("kept.md", "first words, edited")])  # replaces both chunks
    assert (kb_on.stats()["pending_embeddings"], kb_on.stats()["chunks"]) == (1, 1)
    assert kb_on.embed_pending().filled == 1
    (chunk,) = kb_on.get_chunks(kept.doc_id)
    assert chunk.body == "first words, edited"
    assert [hit.source for hit in kb_on.search("edited", mode="dense", k=1)] == ["kept.md"]


def test_an_ingest_that_does_not_wait_leaves_vectors_to_a_watching_embedder(
    kb_on: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "notes"
    for i in range(4):
        write(folder / f"n{i}.md", markdown_doc(f"Note {i}", {"Body": f"gradient clipping {i}"}))
    report = ingest_paths(kb_on, [folder], embed=False)
    assert (report.added, report.embedded) == (4, 0)
    assert report.pending_embeddings == kb_on.stats()["chunks"] > 0
    assert report.searchable_seconds <= report.seconds
    assert len(kb_on.search("gradient clipping", mode="lexical")) == 4

    watcher = BackgroundEmbedder(kb_on, watch=True, poll_s=0.05).start()
    try:
        watcher.nudge()
        for _ in range(200):
            if kb_on.stats()["pending_embeddings"] == 0:
                break
            threading.Event().wait(0.05)
    finally:
        watcher.stop()
    assert kb_on.stats()["pending_embeddings"] == 0
    assert len(kb_on.search("gradient clipping", mode="dense", k=10)) == 4
    again = ingest_paths(kb_on, [folder])
    assert (again.unchanged, again.embedded, again.pending_embeddings) == (4, 0, 0)


def test_a_chunk_for_words_only_is_never_queued_nor_embedded(
    kb_on: KnowledgeBase, model: CountingEmbedder
) -> None:
    mixed = DocumentInput(
        origin="/corpus/run.ipynb",
        source="run.ipynb",
        type="notebook",
        content_hash="run-1",
        meta=DocumentMeta(title="run"),
        chunks=(
            ChunkInput(
                "run", "fit(model)\nOutput:\nloss 0.42", Location("cell 1", ""), "fit(model)"
            ),
            ChunkInput("run", "epoch 9 loss 0.0417", Location("cell 2", ""), ""),
        ),
    )
    kb_on.write_documents([mixed])
    assert kb_on.stats()["pending_embeddings"] == 1
    assert kb_on.embed_pending().embedded == 1
    assert list(model.encoded) == ["run\nfit(model)"]  # the dense text, not the output
    assert kb_on.stats()["pending_embeddings"] == 0
    assert [h.location for h in kb_on.search("0.0417", mode="lexical")] == ["cell 2"]
    assert [h.location for h in kb_on.search("fit model", mode="dense", k=5)] == ["cell 1"]
