"""The store contract for training cycles' events, on both backends: the new kinds and their
cycle, imports recorded all or nothing, identical reports from SQLite and PostgreSQL, and the
schema migrations that bring an existing store to them with its data."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from api.backends import open_backend
from kb.db.postgres import connect, upgrade
from recommender import copy_state, current_catalog, load_catalog
from recommender.cycles.csv_import import ImportInvalidError, import_results
from recommender.cycles.report import build_report, load_cycle_state
from recommender.state.events import Event
from recommender.state.postgres import MIGRATIONS, PART
from recommender.state.sqlite import STORE_FILE, CatalogStore
from tests.contracts import BACKENDS
from tests.contracts.test_recommender_state import Opener, opener_for
from tests.fakes import HashingEmbedder
from tests.recommender.test_cycles import C1_RESULTS, csv, run_example, write_catalog


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return opener_for(request.param, tmp_path / "home", request)


def result(kind: str, employee: str, n: int, **fields: object) -> Event:
    return Event(
        kind=kind,  # type: ignore[arg-type]
        employee=employee,
        cycle=str(fields.pop("cycle", "c1")),
        created_at=f"2024-03-15T10:00:{n:02d}+00:00",
        **fields,  # type: ignore[arg-type]
    )


def test_the_new_kinds_come_back_whole_with_their_cycle(opener: Opener) -> None:
    recorded = [
        Event(
            kind="cycle",
            employee="",
            cycle="c9",
            details={"id": "c9", "modules": ["m1"]},
            created_at="2024-03-01T09:00:00+00:00",
        ),
        result(
            "assessment",
            "ann",
            1,
            module="m1",
            score=0.825,
            details={"phase": "post", "points": 82.5, "max_points": 100.0, "line": 3},
        ),
        result("survey", "ann", 2, details={"answers": {"pace": 2}, "comment": "Zu schnell, 太快"}),
        result("attendance", "bob", 3, score=0.0, details={"session": "s1", "attended": False}),
        result(
            "assessment", "bob", 4, cycle="c2", score=0.5, details={"phase": "pre", "skill": "opt"}
        ),
    ]
    with opener() as store:
        added = store.add_events(recorded)
        assert [replace(e, id=None) for e in added] == recorded
        store.add_event(
            Event(
                kind="completion",
                employee="ann",
                module="m1",
                score=1.0,
                created_at="2024-03-20T00:00:00+00:00",
            )
        )
    with opener() as store:
        assert store.events()[: len(added)] == added
        assert store.events(cycle="c1") == added[1:4]
        assert store.events(employee="bob", cycle="c1") == [added[3]]
        assert store.events(employee="ann")[-1].cycle is None  # a completion has none
        assert store.events(cycle="nope") == []
        assert added[1].to_dict()["cycle"] == "c1" and added[1].to_dict()["module"] == "m1"


def test_add_events_is_all_or_none(opener: Opener) -> None:
    good = result("survey", "ann", 1, details={"answers": {"pace": 4}})
    bad = replace(good, kind="gossip")  # refused by the table's CHECK of kinds
    with opener() as store:
        with pytest.raises((sqlite3.IntegrityError, psycopg.errors.CheckViolation)):
            store.add_events([good, bad, good])
        assert store.events() == []
        store.add_events([good])
        assert len(store.events()) == 1


def test_a_faulty_import_records_nothing_on_either_backend(opener: Opener, tmp_path: Path) -> None:
    with opener() as store:
        load_catalog(store, write_catalog(tmp_path / "catalog"))
        broken = C1_RESULTS.replace("bob,Bob,post,eval,4,20", "bob,Bob,post,eval,40,20")
        with pytest.raises(ImportInvalidError, match="line 10: score 40 is outside 0..20"):
            import_results(store, current_catalog(store), "c1", [csv("r.csv", broken)])
        assert store.events() == []


def test_both_backends_report_alike_and_copy_state_carries_cycles(
    tmp_path: Path, database_url: str, fake_embedder: HashingEmbedder
) -> None:
    catalog = write_catalog(tmp_path / "catalog")
    embedded, pg = (
        CatalogStore.open(tmp_path / "a"),
        open_backend(tmp_path / "a", database_url).open_recommender_store(),
    )
    copy = CatalogStore.open(tmp_path / "copy")
    try:
        for store in (embedded, pg):
            load_catalog(store, catalog)
            run_example(store)
        encode = fake_embedder.encode_documents
        reports = [build_report(load_cycle_state(s), "c1", encode) for s in (embedded, pg)]
        assert reports[0] == reports[1]
        assert current_catalog(embedded) == current_catalog(pg)
        strip = [replace(e, created_at="") for e in embedded.events()]
        assert strip == [replace(e, created_at="") for e in pg.events()]
        copied = copy_state(pg, copy)
        assert copied["events_copied"] == len(strip)
        assert build_report(load_cycle_state(copy), "c1", encode) == reports[0]
        assert copy_state(pg, copy)["events_copied"] == 0  # nothing twice
    finally:
        for store in (embedded, pg, copy):
            store.close()


# -- migrations -------------------------------------------------------------------------------

SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE catalog_entries (kind TEXT NOT NULL, position INTEGER NOT NULL,
    entry_id TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (kind, position));
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('completion', 'rating')),
    employee TEXT NOT NULL, module TEXT, score REAL, doc_id TEXT, rating INTEGER,
    details TEXT NOT NULL DEFAULT '{}', created_at TEXT NOT NULL);
CREATE INDEX events_employee ON events (employee);
INSERT INTO meta (key, value) VALUES ('schema_version', '1');
INSERT INTO events (kind, employee, module, score, created_at)
    VALUES ('completion', 'ann', 'm1', 0.5, '2024-01-01T00:00:00+00:00');
INSERT INTO events (kind, employee, doc_id, rating, details, created_at)
    VALUES ('rating', 'bob', 'd1', 4, '{"title": "Größe"}', '2024-01-02T00:00:00+00:00');
INSERT INTO events (kind, employee, module, created_at)
    VALUES ('completion', 'cid', 'm2', '2024-01-03T00:00:00+00:00');
DELETE FROM events WHERE id = 3;
"""


def make_schema_1(home: Path) -> None:
    home.mkdir(parents=True)
    db = sqlite3.connect(home / STORE_FILE)
    db.executescript(SCHEMA_1)
    db.close()


def test_an_sqlite_store_of_schema_1_is_rebuilt_keeping_its_events(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_schema_1(home)
    with CatalogStore.open(home) as store:
        assert store.meta("schema_version") == "3"
        old = store.events()
        assert [(e.id, e.kind, e.employee) for e in old] == [
            (1, "completion", "ann"),
            (2, "rating", "bob"),
        ]
        assert old[1].details == {"title": "Größe"} and old[0].cycle is None
        added = store.add_event(result("attendance", "ann", 1, details={"session": "s1"}))
        assert added.id == 4  # the counter carried over: id 3 (deleted) is never reused
    with CatalogStore.open(home) as store:  # opening again changes nothing
        assert [e.id for e in store.events()] == [1, 2, 4]
    db = sqlite3.connect(home / STORE_FILE)
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
    indexes = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    db.close()
    assert "'assessment'" in sql and "cycle TEXT" in sql
    assert {"events_employee", "events_cycle"} <= indexes


def test_processes_opening_an_old_store_at_once_migrate_it_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_schema_1(home)
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_it() -> None:
        try:
            start.wait()
            with CatalogStore.open(home) as store:
                assert len(store.events()) == 2
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_a_postgresql_store_at_migration_1_gets_migration_2(
    tmp_path: Path, database_url: str
) -> None:
    conn = connect(database_url)
    try:
        upgrade(conn, PART, MIGRATIONS[:1])
        conn.execute(
            "INSERT INTO rec_events (kind, employee, module, score, created_at)"
            " VALUES ('completion', 'ann', 'm1', 0.5, '2024-01-01T00:00:00+00:00')"
        )
    finally:
        conn.close()
    with open_backend(tmp_path, database_url).open_recommender_store() as store:
        assert store.meta("schema_version") == "3"
        (old,) = store.events()
        assert (old.id, old.kind, old.module, old.cycle) == (1, "completion", "m1", None)
        added = store.add_event(result("assessment", "ann", 1, details={"phase": "pre"}))
        assert added.id == 2 and store.events(cycle="c1") == [added]
    with psycopg.connect(database_url) as check:
        applied = check.execute(
            "SELECT version FROM schema_migrations WHERE part = 'recommender' ORDER BY version"
        ).fetchall()
    assert applied == [(1,), (2,), (3,)]
