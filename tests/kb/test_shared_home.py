"""Several processes on one home: a server, CLI ingests and `kb rm` at once.

Two `KnowledgeBase` objects on one folder behave as two processes do (each has its own SQLite
connections, vector index and chunk map); the last test runs real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import kb.store.sqlite
from ingest import ingest_paths
from kb import Embedder, KnowledgeBase, SentenceTransformerEmbedder, open_knowledge_base
from kb.store.vectors import FaissIndex
from tests.helpers import free_port, markdown_doc, write

TOPICS = {
    "drift": ("Drift alerts", "Population stability index warns when live features wander."),
    "lora": ("LoRA adapters", "Rank 8 adapters with alpha 16 fine-tune a frozen model."),
    "rag": ("Retrieval", "Chunk the handbook, embed it, and cite the passages you retrieve."),
    "quant": ("Quantisation", "Int8 weights halve memory and speed up inference on CPUs."),
}


def doc(folder: Path, name: str, topic: str, extra: str = "") -> Path:
    title, body = TOPICS[topic]
    return write(folder / f"{name}.md", markdown_doc(title, {"Notes": body + extra}))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def pair(home: Path, fake_embedder: Embedder) -> Iterator[tuple[KnowledgeBase, ...]]:
    """Two knowledge bases open on one home at the same time, as two processes would be."""
    first, second = (
        open_knowledge_base(home, embedder=fake_embedder),
        open_knowledge_base(home, embedder=fake_embedder),
    )
    yield first, second
    first.close()
    second.close()


def all_chunk_ids(base: KnowledgeBase) -> set[int]:
    return {
        chunk.chunk_id
        for document in base.list_documents()
        for chunk in base.get_chunks(document.doc_id)
    }


def titles(base: KnowledgeBase, query: str, mode: str) -> list[str]:
    return [hit.title for hit in base.search(query, k=5, mode=mode)]


def test_another_writers_documents_are_found_by_every_mode(
    pair: tuple[KnowledgeBase, KnowledgeBase], tmp_path: Path
) -> None:
    writer, server = pair
    ingest_paths(writer, [doc(tmp_path / "a", "drift", "drift")])
    assert titles(server, "population stability index", "lexical") == ["Drift alerts"]
    ingest_paths(writer, [doc(tmp_path / "b", "lora", "lora")])
    for mode in ("dense", "lexical", "hybrid"):
        assert titles(server, "low rank adapters alpha", mode)[0] == "LoRA adapters", mode
    assert len(server.index) == len(all_chunk_ids(writer))


def test_an_update_by_another_writer_replaces_the_old_text_everywhere(
    pair: tuple[KnowledgeBase, KnowledgeBase], tmp_path: Path
) -> None:
    writer, server = pair
    folder = tmp_path / "docs"
    path = doc(folder, "notes", "drift")
    ingest_paths(writer, [folder])
    assert titles(server, "population stability", "lexical") == ["Drift alerts"]
    path.write_text(markdown_doc("Drift alerts", {"Notes": "Kolmogorov-Smirnov tests now."}))
    assert ingest_paths(writer, [folder]).updated == 1
    assert titles(server, "Kolmogorov Smirnov", "lexical") == ["Drift alerts"]
    assert titles(server, "Kolmogorov Smirnov", "dense")[0] == "Drift alerts"
    assert server.search("population stability", mode="lexical") == []
    assert len(server.index) == len(all_chunk_ids(server))


def test_a_document_deleted_by_another_process_is_gone_without_errors(
    pair: tuple[KnowledgeBase, KnowledgeBase], tmp_path: Path
) -> None:
    writer, server = pair
    ingest_paths(writer, [doc(tmp_path / "d", "drift", "drift"), doc(tmp_path / "d", "rag", "rag")])
    assert len(server.search("drift alerts", mode="dense")) == 2
    drift = writer.find_documents("drift.md")[0]
    writer.delete(drift.doc_id)
    for mode in ("dense", "lexical", "hybrid"):
        assert "Drift alerts" not in titles(server, "drift alerts population stability", mode)
    assert len(server.index) == len(all_chunk_ids(server))


def test_hits_deleted_between_ranking_and_reading_are_left_out(
    pair: tuple[KnowledgeBase, KnowledgeBase], tmp_path: Path
) -> None:
    """The race a refresh cannot close: another process deletes while a search runs."""
    writer, server = pair
    ingest_paths(writer, [doc(tmp_path / "d", "drift", "drift"), doc(tmp_path / "d", "rag", "rag")])
    server.refresh()
    drift = writer.find_documents("drift.md")[0]
    writer.delete(drift.doc_id)
    hits = server.searcher.search("drift alerts", k=5, mode="dense")  # not refreshed on purpose
    assert [hit.title for hit in hits] == ["Retrieval"]


def test_two_writers_never_save_a_stale_index(
    home: Path,
    pair: tuple[KnowledgeBase, KnowledgeBase],
    tmp_path: Path,
    fake_embedder: Embedder,
) -> None:
    first, second = pair
    ingest_paths(first, [doc(tmp_path / "one", "drift", "drift")])
    ingest_paths(second, [doc(tmp_path / "two", "lora", "lora")])
    first.flush()
    second.flush()
    loaded = FaissIndex.load(home / "vectors.faiss", first.dim)
    assert loaded is not None
    saved, stamp = loaded
    assert stamp["version"] == first.store.version
    assert set(saved.ids().tolist()) == all_chunk_ids(first)
    fresh = open_knowledge_base(home, embedder=fake_embedder)
    try:
        assert titles(fresh, "population stability index", "dense")[0] == "Drift alerts"
        assert titles(fresh, "low rank adapters", "dense")[0] == "LoRA adapters"
    finally:
        fresh.close()


def test_a_saved_index_that_misses_chunks_is_mended_on_open(
    home: Path, fake_embedder: Embedder, tmp_path: Path
) -> None:
    base = open_knowledge_base(home, embedder=fake_embedder)
    ingest_paths(base, [doc(tmp_path / "d", "drift", "drift")])
    stale = FaissIndex(base.dim)  # what an older, buggy writer could leave behind
    stale.save(home / "vectors.faiss", {"store_id": base.store.store_id, "version": 10**6})
    ingest_paths(base, [doc(tmp_path / "e", "rag", "rag")])
    base.store.close()
    reopened = open_knowledge_base(home, embedder=fake_embedder)
    try:
        assert set(reopened.index.ids().tolist()) == all_chunk_ids(reopened)
        assert titles(reopened, "population stability", "dense")[0] == "Drift alerts"
    finally:
        reopened.close()


def test_an_index_left_from_a_deleted_database_is_not_reused(
    home: Path, fake_embedder: Embedder, tmp_path: Path
) -> None:
    """Chunk ids restart at 1 in a new database: the old vectors must not answer for them."""
    base = open_knowledge_base(home, embedder=fake_embedder)
    ingest_paths(base, [doc(tmp_path / "old", "drift", "drift")])
    base.close()
    for leftover in home.glob("kb.sqlite*"):
        leftover.unlink()
    base = open_knowledge_base(home, embedder=fake_embedder)
    try:
        ingest_paths(base, [doc(tmp_path / "new", "quant", "quant")])
        assert titles(base, "population stability index", "dense") == ["Quantisation"]
        assert len(base.index) == len(all_chunk_ids(base))
    finally:
        base.close()


def test_a_process_behind_the_change_log_rereads_the_store(
    pair: tuple[KnowledgeBase, KnowledgeBase], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kb.store.sqlite, "LOG_KEEP_VERSIONS", 1)
    monkeypatch.setattr(kb.store.sqlite, "LOG_PRUNE_EVERY", 1)
    writer, server = pair
    folder = tmp_path / "d"
    for name in ("drift", "lora", "rag"):
        doc(folder, name, name)
    ingest_paths(writer, [folder])
    writer.delete(writer.find_documents("lora.md")[0].doc_id)
    assert server.store.changes_since(0) is None  # the log was pruned past this process
    assert titles(server, "low rank adapters", "lexical") == []
    assert titles(server, "cite retrieved passages", "dense")[0] == "Retrieval"
    assert set(server.index.ids().tolist()) == all_chunk_ids(server)


# -- real processes -------------------------------------------------------------------------
def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


ASIDES = (
    "Population stability index warns when live features wander.",
    "Rank 8 adapters with alpha 16 fine-tune a frozen model.",
    "Chunk the handbook, embed it, and cite the passages you retrieve.",
    "Int8 weights halve memory and speed up inference on CPUs.",
    "Canary releases send a tenth of traffic to the new model first.",
    "Label noise from star ratings inflates offline scores.",
    "A gold set of four thousand reviews settles model comparisons.",
    "Batch scoring writes tomorrow's recommendations into Redis overnight.",
    "Gradient checkpointing trades a third more time for memory.",
    "Macro F1 shows what accuracy hides when one class dominates.",
    "Thompson sampling picks which new items get carousel slots.",
    "The on-call engineer answers a first-tier alert within fifteen minutes.",
)


def test_two_cli_writers_and_a_searching_server_share_one_home(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """Two `kb ingest` processes and a `kb rm` while `kb serve` answers searches: no search
    fails, and afterwards every document is found by dense search, in the server and in a
    process that opens the home anew."""
    home = tmp_path / "home"
    first, second = tmp_path / "first", tmp_path / "second"
    for i in range(12):  # each its own text: near copies would be shown as one (kb.dedupe)
        write(
            first / f"a{i:02d}.md",
            markdown_doc(f"Alpha {i}", {"Notes": f"Alpha note {i}: {ASIDES[i]}"}),
        )
        write(
            second / f"b{i:02d}.md",
            markdown_doc(f"Beta {i}", {"Notes": f"Beta note {i}: {ASIDES[11 - i]} (beta)"}),
        )
    doomed = doc(tmp_path / "seed", "rag", "rag")
    kb_cli = [sys.executable, "-m", "api.cli", "--home", str(home)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "KB_AUTH_DISABLED": "1"}
    seeded = open_knowledge_base(home, embedder=embedder)
    ingest_paths(seeded, [doomed])
    seeded.close()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()

    def spawn(*args: str, log: str) -> subprocess.Popen[bytes]:
        with open(logs / log, "wb") as out:
            return subprocess.Popen([*kb_cli, *args], env=env, stdout=out, stderr=out)

    server = spawn("serve", "--port", str(port), "--log-level", "warning", log="serve.log")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(f"{base_url}/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("kb serve did not start: " + (logs / "serve.log").read_text())

        statuses: list[int] = []
        writing = threading.Event()
        writing.set()

        def search_meanwhile() -> None:
            queries = ["alpha note drift", "beta note adapters", "retrieval handbook"]
            while writing.is_set():
                query = urllib.parse.quote(queries[len(statuses) % 3])
                statuses.append(_get(f"{base_url}/search?q={query}&k=20")[0])

        searcher = threading.Thread(target=search_meanwhile)
        searcher.start()
        writers = [
            spawn("ingest", str(folder), log=f"{folder.name}.log") for folder in (first, second)
        ]
        removal = subprocess.run([*kb_cli, "rm", str(doomed)], env=env, capture_output=True)
        codes = [writer.wait(timeout=300) for writer in writers]
        writing.clear()
        searcher.join()
        assert codes == [0, 0], [(logs / f"{f.name}.log").read_text() for f in (first, second)]
        assert removal.returncode == 0, removal.stderr
        assert statuses and set(statuses) == {200}, statuses

        listed = _get(f"{base_url}/documents?limit=100")[1]
        sources = sorted(d["source"] for d in listed["documents"])
        assert len(sources) == 24 and "rag.md" not in sources
        for name, stem in [("Alpha", "a"), ("Beta", "b")]:
            for i in range(12):
                query = urllib.parse.quote(f"{name} {i} {name} note {i}")
                status, body = _get(f"{base_url}/search?q={query}&k=24&mode=dense")
                assert status == 200
                assert f"{stem}{i:02d}.md" in [hit["source"] for hit in body["hits"]]
    finally:
        server.terminate()
        server.wait(timeout=60)

    reopened = open_knowledge_base(home, embedder=embedder)
    try:
        chunk_ids = all_chunk_ids(reopened)
        loaded = FaissIndex.load(home / "vectors.faiss", reopened.dim)
        assert loaded is not None and set(loaded[0].ids().tolist()) == chunk_ids
        assert set(reopened.index.ids().tolist()) == chunk_ids
        assert reopened.stats()["documents"] == 24
    finally:
        reopened.close()
