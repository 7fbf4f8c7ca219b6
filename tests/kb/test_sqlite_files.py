"""Stores opened at the same moment by many threads or processes: every opener succeeds.

SQLite answers "database is locked" at once, without waiting, to connections that try to
turn WAL on while another converts a new file; before `kb.db.sqlite` one such race in
20 failed a store's opening (seen in CI as a failed concurrent-writers test)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from kb.db import sqlite as sqlite_files
from kb.searchlog.sqlite import SqliteSearchLog
from kb.store.sqlite import Store
from recommender.state.sqlite import CatalogStore

OPENERS = 7


def open_all_at_once(open_one: Callable[[], object]) -> list[BaseException]:
    start = threading.Barrier(OPENERS, timeout=30)
    errors: list[BaseException] = []

    def run() -> None:
        start.wait()
        try:
            open_one()
        except BaseException as error:  # noqa: BLE001 - collected and reported by the test
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(OPENERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_connections_racing_to_open_a_new_file_all_succeed_in_wal_mode(tmp_path: Path) -> None:
    for trial in range(100):
        path = tmp_path / f"race-{trial}.sqlite"
        modes: list[str] = []

        def open_and_write(path: Path = path, modes: list[str] = modes) -> None:
            db = sqlite_files.connect(path, timeout=10)
            try:
                modes.append(db.execute("PRAGMA journal_mode").fetchone()[0])
                db.execute("BEGIN IMMEDIATE")
                db.execute("CREATE TABLE IF NOT EXISTS t (x)")
                db.execute("INSERT INTO t VALUES (1)")
                db.execute("COMMIT")
            finally:
                db.close()

        assert open_all_at_once(open_and_write) == [], f"trial {trial}"
        assert modes == ["wal"] * OPENERS
        db = sqlite_files.connect(path)
        assert db.execute("SELECT count(*) FROM t").fetchone()[0] == OPENERS
        db.close()


def test_each_store_opened_by_many_threads_at_once_on_a_new_home(tmp_path: Path) -> None:
    for trial in range(20):
        home = tmp_path / f"home-{trial}"
        openers: dict[str, Callable[[], object]] = {
            "catalogue": lambda home=home: CatalogStore.open(home).close(),
            "documents": lambda home=home: Store(home / "kb.sqlite").close(),
            "search log": lambda home=home: SqliteSearchLog(home / "searches.sqlite"),
        }
        for name, open_one in openers.items():
            assert open_all_at_once(open_one) == [], f"{name}, trial {trial}"


def test_a_store_made_before_the_embedding_queue_opens_and_takes_the_queue(
    tmp_path: Path,
) -> None:
    """A store of an earlier kb (no `dense_body` column, no `pending_embeddings` table) gets
    both when it is opened, keeps its documents and vectors, and queues new ones."""
    import sqlite3

    from kb import ChunkInput, DocumentInput, DocumentMeta, Location, open_knowledge_base
    from tests.fakes import HashingEmbedder

    def doc(name: str) -> DocumentInput:
        chunk = ChunkInput(name, f"notes on {name}", Location("top", ""))
        return DocumentInput(
            f"/c/{name}", name, "markdown", name, DocumentMeta(title=name), (chunk,)
        )

    home = tmp_path / "home"
    base = open_knowledge_base(home, embedder=HashingEmbedder())
    base.add_documents([doc("old.md")])
    base.close()
    with sqlite3.connect(home / "kb.sqlite") as db:
        db.execute("DROP TABLE pending_embeddings")
        db.execute("ALTER TABLE chunks DROP COLUMN dense_body")

    base = open_knowledge_base(home, embedder=HashingEmbedder())
    try:
        assert [h.source for h in base.search("notes on old", mode="dense")] == ["old.md"]
        base.write_documents([doc("new.md")])
        assert base.stats()["pending_embeddings"] == 1
        assert base.embed_pending().filled == 1
        assert {h.source for h in base.search("notes", mode="dense")} == {"old.md", "new.md"}
    finally:
        base.close()
