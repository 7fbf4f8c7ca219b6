"""Many replicas, many writers on one PostgreSQL database: knowledge bases opened side by side
in one process (each its own store and pool of connections, as separate replicas are) and in
separate processes (CLI ingests, an HTTP replica), writing overlapping and distinct files at
once while others search.

Afterwards nothing is lost or doubled: the database holds exactly what one ingest of the same
files into the embedded store holds (the oracle), every chunk is found by dense search for its
own vector, the BM25 term counts equal a recount, and a write by any replica is seen by every
other replica's very next search.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.backends import open_backend
from ingest import ingest_paths
from kb import ChunkInput, DocumentInput, DocumentMeta, KnowledgeBase, Location, open_knowledge_base
from kb.store.lexical.postgres import chunk_lexemes
from kb.types import SEARCH_MODES
from tests.api_helpers import auth, write_keys
from tests.backend_corpus import documents_of, sources
from tests.fakes import HashingEmbedder
from tests.helpers import free_port, markdown_doc, stop_process, write
from tests.pg_helpers import postings_in_step

ROOT = Path(__file__).resolve().parents[2]
DOCS = 24


def many_files(folder: Path, n: int = DOCS) -> list[Path]:
    """`n` documents of three chunks each, every one with a word of its own (tokenNN)."""
    paths = []
    for i in range(n):
        sections = {
            f"Part {j}": f"token{i:02d} section {j}: drift, serving and tuning notes. " * 12
            for j in range(3)
        }
        paths.append(
            write(folder / f"doc{i:02d}.md", markdown_doc(f"Doc {i}", sections, team=f"t{i % 3}"))
        )
    return paths


Opener = Callable[[str], KnowledgeBase]


@pytest.fixture
def replicas(tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str) -> Iterator[Opener]:
    """Opens knowledge bases on the test's database, each with its own home, store and
    connection pool; all closed at the end."""
    opened: list[KnowledgeBase] = []

    def open_replica(name: str) -> KnowledgeBase:
        base = open_backend(tmp_path / name, database_url).open_knowledge_base(
            embedder=fake_embedder
        )
        opened.append(base)
        return base

    yield open_replica
    for base in opened:
        base.close()


def reference(tmp_path: Path, fake_embedder: HashingEmbedder, folder: Path) -> KnowledgeBase:
    """The oracle: the same files ingested once, by one process, into the embedded store."""
    base = open_knowledge_base(tmp_path / "reference", embedder=fake_embedder)
    report = ingest_paths(base, [folder])
    assert report.failed == []
    return base


def without_roots(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Documents without the folder or file they were ingested under (`--prune`'s scope):
    that is whichever path the last of several writers was given."""
    return [{key: value for key, value in doc.items() if key != "root"} for doc in documents]


def check_database(url: str, base: KnowledgeBase, expected: KnowledgeBase) -> None:
    """No document lost or doubled, every chunk findable, term counts exact."""
    assert without_roots(documents_of(base)) == without_roots(documents_of(expected))
    with psycopg.connect(url) as conn:
        one = conn.execute
        assert one("SELECT COUNT(*), COUNT(DISTINCT origin) FROM kb_documents").fetchone() == (
            len(expected.list_documents()),
            len(expected.list_documents()),
        )
        doubled = one(
            "SELECT doc_id, ordinal FROM kb_chunks GROUP BY doc_id, ordinal HAVING COUNT(*) > 1"
        ).fetchall()
        assert doubled == []
        counts: dict[str, int] = dict(one("SELECT name, value FROM kb_counts").fetchall())
        totals = one("SELECT COUNT(*), COALESCE(SUM(n_words), 0) FROM kb_chunks").fetchone()
        assert (counts["chunks"], counts["words"]) == totals
        stored: dict[str, int] = dict(
            one("SELECT term, df FROM kb_term_df WHERE df != 0").fetchall()
        )
    recount: Counter[str] = Counter()
    for doc in base.list_documents():
        for chunk in base.get_chunks(doc.doc_id):
            recount.update(chunk_lexemes(chunk.heading, chunk.body)[1])
    assert stored == dict(recount)
    postings_in_step(url)
    # Every chunk is found by dense search for its own vector (HNSW after concurrent inserts).
    ids = [c.chunk_id for d in base.list_documents() for c in base.get_chunks(d.doc_id)]
    found_ids, vectors = base.store.vectors_of(ids)
    assert sorted(found_ids.tolist()) == sorted(ids)
    for chunk_id, vector in zip(found_ids.tolist(), vectors, strict=True):
        assert chunk_id in [c for c, _ in base.vectors.search(vector, 5, None)], chunk_id


def test_replicas_ingesting_overlapping_files_at_once_lose_and_double_nothing(
    tmp_path: Path, replicas: Opener, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    folder = tmp_path / "corpus"
    paths = many_files(folder)
    # Three writers: two halves that overlap in the middle, and one of everything; each
    # stores a document at a time (one chunk batch per document) so that writes interleave.
    plans = [paths[: 2 * DOCS // 3], paths[DOCS // 3 :], [folder]]
    writers = [replicas(f"writer{i}") for i in range(len(plans))]
    reader = replicas("reader")
    start = threading.Barrier(len(plans) + 1)
    done = threading.Event()
    reports: list[Any] = [None] * len(plans)
    errors: list[BaseException] = []

    def write_plan(i: int) -> None:
        try:
            start.wait()
            reports[i] = ingest_paths(writers[i], plans[i], batch_chunks=3)
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    def read_meanwhile() -> None:
        """A replica searching all along: hits are always whole, never an error."""
        try:
            start.wait()
            while not done.is_set():
                for mode in SEARCH_MODES:
                    try:
                        hits = reader.search("drift serving tuning", k=10, mode=mode)
                    except Exception as exc:
                        if "empty" in str(exc):  # nothing committed yet
                            continue
                        raise
                    assert len({h.doc_id for h in hits}) == len(hits) <= 10
                    assert all(h.source.startswith("doc") and h.snippet for h in hits)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write_plan, args=(i,)) for i in range(len(plans))]
    threads.append(threading.Thread(target=read_meanwhile))
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join(timeout=300)
    done.set()
    threads[-1].join(timeout=60)
    assert errors == []
    assert all(report.failed == [] for report in reports)
    # Each document was added by exactly one writer; the others found it stored.
    assert sum(report.added for report in reports) == DOCS
    handled = sum(r.added + r.updated + r.unchanged for r in reports)
    assert handled == sum(len(plan) for plan in plans[:2]) + DOCS

    expected = reference(tmp_path, fake_embedder, folder)
    try:
        check_database(database_url, reader, expected)
        for i in range(DOCS):
            assert sources(reader.search(f"token{i:02d}", mode="lexical")) == [f"doc{i:02d}.md"]
    finally:
        expected.close()


def test_a_write_by_one_replica_is_seen_by_anothers_next_search(
    tmp_path: Path, replicas: Opener
) -> None:
    writer, reader = replicas("writer"), replicas("reader")
    folder = tmp_path / "c"
    ingest_paths(writer, [write(folder / "base.md", markdown_doc("Base", {"A": "drift notes"}))])
    assert reader.search("drift", mode="lexical")  # warm: whatever it holds is now current
    for round_ in range(3):
        word = f"quokka{round_}"
        path = write(folder / "new.md", markdown_doc("New", {"Body": f"{word} thresholds"}))
        ingest_paths(writer, [path])
        for mode in SEARCH_MODES:
            assert "new.md" in sources(reader.search(word, k=5, mode=mode)), (round_, mode)
        doc_id = reader.find_documents("new.md")[0].doc_id
        assert reader.get_document(doc_id) is not None
        # An edit: the old word is gone from the next search, the new one is there.
        write(path, markdown_doc("New", {"Body": f"{word}x recalibrated"}))
        ingest_paths(writer, [path])
        assert sources(reader.search(f"{word}x", mode="lexical")) == ["new.md"]
        assert reader.search(word, mode="lexical") == []
        # A delete: gone from every mode, listing and read at once.
        writer.delete(doc_id)
        for mode in SEARCH_MODES:
            assert "new.md" not in sources(reader.search(f"{word}x", k=5, mode=mode)), mode
        assert reader.get_document(doc_id) is None
        assert [d.source for d in reader.list_documents()] == ["base.md"]
        assert reader.stats()["documents"] == 1


def version_of_shared(v: int) -> DocumentInput:
    """Version `v` of one file: v + 1 chunks, each saying which version it is."""
    return DocumentInput(
        origin="/docs/shared.md",
        source="shared.md",
        type="markdown",
        content_hash=f"v{v}",
        meta=DocumentMeta(title="Shared", team=f"team{v}"),
        chunks=tuple(
            ChunkInput("Shared", f"version{v} part{j} " * 30, Location(f"Part {j}"))
            for j in range(v + 1)
        ),
    )


def test_writers_of_one_document_are_serialised(replicas: Opener, database_url: str) -> None:
    """Replicas storing versions of one file at once, over and over: one document, holding
    the chunks of one version (never a mix) and its metadata, term counts exact."""
    bases = [replicas(f"r{i}") for i in range(4)]
    start = threading.Barrier(len(bases))
    errors: list[BaseException] = []

    def store(v: int) -> None:
        try:
            batch = bases[v].embed_documents([version_of_shared(v)])
            start.wait()
            for _ in range(5):
                bases[v].store_embedded(batch)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=store, args=(v,)) for v in range(len(bases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    [doc] = bases[0].list_documents()
    chunks = bases[0].get_chunks(doc.doc_id)
    versions = {c.body.split()[0] for c in chunks}
    assert len(versions) == 1  # one version's chunks, never a mix
    v = int(versions.pop().removeprefix("version"))
    assert (doc.team, doc.content_hash, doc.n_chunks) == (f"team{v}", f"v{v}", v + 1)
    assert [c.ordinal for c in chunks] == list(range(v + 1))
    with psycopg.connect(database_url) as conn:
        stored: dict[str, int] = dict(
            conn.execute("SELECT term, df FROM kb_term_df WHERE df != 0").fetchall()
        )
        count = conn.execute("SELECT value FROM kb_counts WHERE name = 'chunks'").fetchone()
    recount: Counter[str] = Counter()
    for chunk in chunks:
        recount.update(chunk_lexemes(chunk.heading, chunk.body)[1])
    assert stored == dict(recount) and count == (v + 1,)
    postings_in_step(database_url)  # the replaced versions' postings are gone too
    for base in bases:  # and every replica finds that version, and only it
        assert sources(base.search(f"version{v}", mode="lexical")) == ["shared.md"]
        others = [f"version{w}" for w in range(len(bases)) if w != v]
        assert base.search(" ".join(others), mode="lexical") == []


# -- separate processes -----------------------------------------------------------------------
# A CLI ingest in a process of its own, with the hashing test model in place of the real one
# (loading that takes 5-20 s per process): everything else is `kb ingest --json` as run.
INGEST_SCRIPT = """
import sys
from pathlib import Path
from api.cli import main
from api.cli.common import CliContext
from tests.fakes import HashingEmbedder
home = Path(sys.argv[1])
main(sys.argv[2:], obj=CliContext(home, embedder=HashingEmbedder()), prog_name="kb")
"""

# An HTTP replica (`kb serve` with the hashing test model) on a port of its own.
SERVE_SCRIPT = """
import sys
from pathlib import Path
import uvicorn
from api.http.app import create_app
from api.settings import Settings
from tests.fakes import HashingEmbedder
home, keys, url, port = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
settings = Settings(home=home, api_keys_file=keys, database_url=url, ingest_worker=False)
app = create_app(settings, embedder=HashingEmbedder())
uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
"""


def _environment() -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    env.pop("KB_DATABASE_URL", None)
    return env


def test_cli_ingests_in_separate_processes_lose_and_double_nothing(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str, replicas: Opener
) -> None:
    folder = tmp_path / "corpus"
    paths = [str(p) for p in many_files(folder)]
    plans = [paths[: 2 * DOCS // 3], paths[DOCS // 3 :], [str(folder)]]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", INGEST_SCRIPT, str(tmp_path / f"home{i}")]
            + ["--database-url", database_url, "ingest", "--batch-chunks", "3", "--json", *plan],
            cwd=ROOT,
            env=_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, plan in enumerate(plans)
    ]
    summaries = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
        summaries.append(json.loads(out))
    assert sum(s["added"] for s in summaries) == DOCS
    assert [s["failed"] for s in summaries] == [[], [], []]

    expected = reference(tmp_path, fake_embedder, folder)
    try:
        check_database(database_url, replicas("checker"), expected)
    finally:
        expected.close()


def test_an_http_replica_answers_at_once_with_what_other_processes_wrote(
    tmp_path: Path, database_url: str, replicas: Opener
) -> None:
    """A served replica (its own process) and a CLI ingest (another process): the replica's
    next search after the ingest exits finds the new document, and after a `kb rm` by a third
    replica, finds it no more, in every mode."""
    writer = replicas("writer")
    ingest_paths(writer, [write(tmp_path / "c" / "base.md", markdown_doc("Base", {"A": "drift"}))])
    log = tmp_path / "served.log"
    with log.open("w") as errors:
        server, base_url = start_replica(tmp_path, database_url, errors, log)
        try:
            with httpx.Client(base_url=base_url, headers=auth("admin"), timeout=30) as client:
                word, name = "wombat", "new.md"
                for mode in SEARCH_MODES:  # the replica has answered before the write
                    body = client.get("/search", params={"q": word, "mode": mode}).json()
                    assert name not in [h["source"] for h in body["hits"]], mode
                path = write(tmp_path / "c" / name, markdown_doc("New", {"B": word}))
                ingested = subprocess.run(
                    [sys.executable, "-c", INGEST_SCRIPT, str(tmp_path / "cli")]
                    + ["--database-url", database_url, "ingest", "--json", str(path)],
                    cwd=ROOT,
                    env=_environment(),
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                assert ingested.returncode == 0, ingested.stderr
                for mode in SEARCH_MODES:
                    body = client.get("/search", params={"q": word, "mode": mode}).json()
                    assert name in [h["source"] for h in body["hits"]], mode
                doc_id = writer.find_documents(name)[0].doc_id
                assert client.get(f"/documents/{doc_id}").status_code == 200
                writer.delete(doc_id)
                for mode in SEARCH_MODES:
                    body = client.get("/search", params={"q": word, "mode": mode}).json()
                    assert name not in [h["source"] for h in body["hits"]], mode
                assert client.get(f"/documents/{doc_id}").status_code == 404
                health = client.get("/health").json()
                assert (health["backend"], health["documents"]) == ("postgresql", 1)
                filtered = client.get("/search", params={"q": "drift", "team": "none"}).json()
                assert filtered["hits"] == []
        finally:
            stop_process(server)


def start_replica(
    tmp_path: Path, database_url: str, errors: Any, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """The HTTP replica's process, once it answers /health; and its base URL."""
    port = free_port()
    keys = write_keys(tmp_path / "keys.yaml")
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(tmp_path / "served"), str(keys)]
        + [database_url, str(port)],
        cwd=ROOT,
        env=_environment(),
        stdout=subprocess.DEVNULL,
        stderr=errors,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        if server.poll() is not None:
            raise AssertionError(f"the replica stopped: {log.read_text()}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return server, base_url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            server.wait()
            raise AssertionError(f"the replica did not start: {log.read_text()}")
        time.sleep(0.2)
