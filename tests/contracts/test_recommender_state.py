"""The recommender's store contract, run against both backends (SQLite in the home folder,
PostgreSQL on the session's private server), `copy_state` between them, and the `kb` CLI
giving the same answers with `--database-url` as without."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from api.backends import open_backend
from api.cli import main
from api.cli.common import CliContext
from kb import KnowledgeBase, open_knowledge_base
from kb.db.postgres import DatabaseError
from recommender import (
    CatalogInvalidError,
    RecommenderStore,
    copy_state,
    current_catalog,
    load_catalog,
    read_catalog_dir,
    record_completion,
)
from recommender.catalog.types import RawCatalog
from recommender.state.events import Event
from recommender.state.postgres import PgCatalogStore
from recommender.state.sqlite import CatalogStore
from tests.contracts import BACKENDS, fresh_backend
from tests.fakes import HashingEmbedder

CATALOGS = Path(__file__).parents[1] / "catalogs"
SAMPLE = Path(__file__).parents[2] / "data" / "sample"

Opener = Callable[[], RecommenderStore]


def stored_form(directory: Path) -> RawCatalog:
    """What a store should give back for a catalogue folder: every kind, JSON round-tripped."""
    raw = read_catalog_dir(directory)
    return {kind: json.loads(json.dumps(raw.get(kind) or [], default=str)) for kind in raw}


def dumped(raw: RawCatalog | None) -> str:
    """Order-sensitive text of a catalogue: key order inside entries counts too."""
    return json.dumps(raw)


def opener_for(backend: str, folder: Path, request: pytest.FixtureRequest) -> Opener:
    return fresh_backend(backend, folder, request).open_recommender_store


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """Opens a new store over the same state each time it is called (as another process would)."""
    return opener_for(request.param, tmp_path / "home", request)


def event(employee: str, n: int, **fields: Any) -> Event:
    return Event(
        kind="completion",
        employee=employee,
        module=f"m-{n}",
        score=fields.pop("score", 0.7),
        created_at=f"2024-05-01T10:00:{n:02d}+00:00",
        **fields,
    )


# -- the contract -----------------------------------------------------------------------------


def test_open_store_picks_the_backend_from_the_url(tmp_path: Path, database_url: str) -> None:
    with (
        CatalogStore.open(tmp_path) as embedded,
        open_backend(tmp_path / "x", database_url).open_recommender_store() as pg,
    ):
        assert isinstance(embedded, CatalogStore) and isinstance(pg, PgCatalogStore)
    assert not (tmp_path / "x").exists()  # the PostgreSQL store writes nothing in the home


def test_a_new_store_has_no_catalogue_and_no_events(opener: Opener) -> None:
    with opener() as store:
        assert store.load_raw() is None
        assert store.meta("catalog_loaded_at") is None
        assert store.meta("schema_version") == "3"
        assert store.events() == []


def test_the_catalogue_comes_back_as_loaded_and_outlives_the_connection(opener: Opener) -> None:
    expected = stored_form(SAMPLE / "catalog")
    with opener() as store:
        report = load_catalog(store, SAMPLE / "catalog")
        assert report.counts["employees"] == len(expected["employees"])
        assert dumped(store.load_raw()) == dumped(expected)
    with opener() as store:
        assert dumped(store.load_raw()) == dumped(expected)
        assert store.meta("catalog_source") == str((SAMPLE / "catalog").resolve())
        assert store.meta("catalog_loaded_at") is not None


def test_a_faulty_reload_leaves_the_previous_catalogue(opener: Opener) -> None:
    with opener() as store:
        load_catalog(store, CATALOGS / "small")
        before, loaded_at = dumped(store.load_raw()), store.meta("catalog_loaded_at")
        with pytest.raises(CatalogInvalidError):
            load_catalog(store, CATALOGS / "faulty")
        # A failure half-way through the store's own transaction (after the old rows were
        # deleted and some new ones written) must roll all of it back.
        broken = stored_form(SAMPLE / "catalog")
        del broken["employees"][-1]["id"]
        with pytest.raises(KeyError):
            store.save_catalog(broken, "broken")
        assert dumped(store.load_raw()) == before
        assert store.meta("catalog_source") == str((CATALOGS / "small").resolve())
        assert store.meta("catalog_loaded_at") == loaded_at
    with opener() as store:
        assert dumped(store.load_raw()) == before


def test_events_are_read_back_whole_and_in_the_order_they_were_recorded(opener: Opener) -> None:
    recorded = [
        event("alice", 1, score=0.7),
        Event(
            kind="rating",
            employee="bob",
            doc_id="doc-ü",
            rating=4,
            details={"title": "Größe & 量", "team": "core", "nested": {"z": 1, "a": [1, 2]}},
            created_at="2024-05-01T10:00:02+00:00",
        ),
        event("alice", 3, score=1 / 3),
        event("bob", 4, score=None),
        event("alice", 5, score=0.1),
    ]
    with opener() as store:
        returned = [store.add_event(e) for e in recorded]
    assert all(e.id is not None for e in returned)
    ids = [e.id or 0 for e in returned]
    assert ids == sorted(set(ids))  # increasing
    assert [replace(e, id=None) for e in returned] == recorded
    with opener() as store:
        assert store.events() == returned
        assert store.events("alice") == [returned[0], returned[2], returned[4]]
        assert store.events("nobody") == []
        details = store.events("bob")[0].details
    assert list(details) == ["title", "team", "nested"]  # key order kept, as SQLite keeps it
    assert details["nested"] == {"z": 1, "a": [1, 2]}


def test_events_outlive_every_reload_and_are_applied_again(opener: Opener) -> None:
    with opener() as store:
        load_catalog(store, CATALOGS / "small")
        record_completion(store, current_catalog(store), "alice", "m-opt", score=1.0)
        load_catalog(store, SAMPLE / "catalog")  # alice is not in this one: kept, skipped
        assert len(store.events()) == 1
    with opener() as store:
        report = load_catalog(store, CATALOGS / "small")
        assert (report.events_applied, report.events_skipped) == (1, 0)
        assert current_catalog(store).employee("alice").level("opt") == 3


def test_concurrent_event_writers_and_reloads_lose_nothing_and_mix_nothing(
    opener: Opener,
) -> None:
    """Stores opened at once (on PostgreSQL: racing to create the schema), writers adding
    events while two reloaders swap catalogues and a reader checks each catalogue it sees."""
    small, sample = stored_form(CATALOGS / "small"), stored_form(SAMPLE / "catalog")
    whole = {dumped(small), dumped(sample)}
    writers, per_writer, reloads = 4, 15, 4
    start = threading.Barrier(writers + 3, timeout=60)
    done = threading.Event()

    def write(n: int) -> list[Event]:
        start.wait()
        with opener() as store:
            return [store.add_event(event(f"w{n}", i)) for i in range(per_writer)]

    def reload(first: RawCatalog, second: RawCatalog) -> None:
        start.wait()
        with opener() as store:
            for i in range(reloads):
                store.save_catalog(first if i % 2 == 0 else second, f"reload {i}")

    def read() -> int:
        start.wait()
        seen = 0
        with opener() as store:
            while not (done.is_set() and seen):  # at least one read after the reloads
                raw = store.load_raw()
                assert raw is None or dumped(raw) in whole
                seen += raw is not None
        return seen

    with ThreadPoolExecutor(max_workers=writers + 3) as pool:
        reader = pool.submit(read)
        jobs = [pool.submit(write, n) for n in range(writers)]
        reloaders = [pool.submit(reload, small, sample), pool.submit(reload, sample, small)]
        try:
            results = [job.result(timeout=120) for job in jobs]
            for reloader in reloaders:
                reloader.result(timeout=120)
        finally:
            done.set()  # the reader stops even when a job failed
        assert reader.result(timeout=30) > 0
    with opener() as store:
        stored = store.events()
        assert dumped(store.load_raw()) in whole
    assert len(stored) == writers * per_writer
    assert len({e.id for e in stored}) == len(stored)
    for n, written in enumerate(results):
        assert store_order(stored, f"w{n}") == [e.module for e in written]


def store_order(events: list[Event], employee: str) -> list[str | None]:
    return [e.module for e in events if e.employee == employee]


# -- copy_state -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source_backend", "target_backend"),
    [("sqlite", "postgresql"), ("postgresql", "sqlite")],
)
def test_copy_state_copies_everything_once(
    request: pytest.FixtureRequest, tmp_path: Path, source_backend: str, target_backend: str
) -> None:
    source_opener = opener_for(source_backend, tmp_path / "source", request)
    target_opener = opener_for(target_backend, tmp_path / "target", request)
    with source_opener() as source:
        load_catalog(source, CATALOGS / "small")
        record_completion(source, current_catalog(source), "alice", "m-opt", score=0.5)
        twice = event("bob", 7, details={"note": "the same event twice is two events"})
        source.add_event(twice)
        source.add_event(twice)
    with source_opener() as source, target_opener() as target:
        first = copy_state(source, target)
        second = copy_state(source, target)
        entries = sum(len(v) for v in stored_form(CATALOGS / "small").values())
        assert first == {"catalog_entries": entries, "events_copied": 3, "events_skipped": 0}
        assert second == {"catalog_entries": entries, "events_copied": 0, "events_skipped": 3}
        assert target.events() == source.events()  # an empty target: even the same ids
        assert dumped(target.load_raw()) == dumped(source.load_raw())
        assert target.meta("catalog_source") == source.meta("catalog_source")
        assert current_catalog(target) == current_catalog(source)
        source.add_event(event("alice", 8))  # later events follow on the next run
        assert copy_state(source, target)["events_copied"] == 1
        assert [replace(e, id=None) for e in target.events()] == [
            replace(e, id=None) for e in source.events()
        ]


def test_copy_state_without_a_catalogue_keeps_the_targets(
    tmp_path: Path, database_url: str
) -> None:
    with (
        CatalogStore.open(tmp_path) as source,
        open_backend(tmp_path, database_url).open_recommender_store() as target,
    ):
        load_catalog(target, CATALOGS / "small")
        source.add_event(event("alice", 1))
        assert copy_state(source, target) == {
            "catalog_entries": 0,
            "events_copied": 1,
            "events_skipped": 0,
        }
        assert target.load_raw() is not None


# -- both backends answer alike ---------------------------------------------------------------


def test_both_backends_return_identical_values(tmp_path: Path, database_url: str) -> None:
    embedded, pg = (
        CatalogStore.open(tmp_path),
        open_backend(tmp_path, database_url).open_recommender_store(),
    )
    try:
        for store in (embedded, pg):
            load_catalog(store, SAMPLE / "catalog")
            record_completion(store, current_catalog(store), "liam-chen", "nlp-optimisation", 0.75)
            store.add_event(
                Event(
                    kind="rating",
                    employee="liam-chen",
                    doc_id="d1",
                    rating=5,
                    details={"title": "Ünïcode", "b": 1, "a": 2},
                    created_at="2024-01-02T03:04:05+00:00",
                )
            )
        assert dumped(embedded.load_raw()) == dumped(pg.load_raw())
        for key in ("catalog_source", "schema_version", "nope"):
            assert embedded.meta(key) == pg.meta(key)
        a, b = embedded.events(), pg.events()
        assert [replace(e, created_at="") for e in a] == [replace(e, created_at="") for e in b]
        assert [type(e.created_at) for e in a] == [type(e.created_at) for e in b] == [str, str]
        assert current_catalog(embedded) == current_catalog(pg)
    finally:
        embedded.close()
        pg.close()


# -- PostgreSQL specifics ---------------------------------------------------------------------


def test_tables_are_prefixed_and_migrations_run_once(tmp_path: Path, database_url: str) -> None:
    for _ in range(3):
        open_backend(tmp_path, database_url).open_recommender_store().close()
    with psycopg.connect(database_url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
        }
        applied = conn.execute(
            "SELECT version FROM schema_migrations WHERE part = 'recommender'"
        ).fetchall()
        meta = conn.execute("SELECT key, value FROM rec_meta").fetchall()
    assert tables == {"schema_migrations", "rec_meta", "rec_catalog_entries", "rec_events"}
    assert applied == [(1,), (2,), (3,)] and meta == [("schema_version", "3")]


def test_a_newer_schema_is_refused_with_a_sentence(tmp_path: Path, database_url: str) -> None:
    open_backend(tmp_path, database_url).open_recommender_store().close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_migrations (part, version) VALUES ('recommender', 9)")
    with pytest.raises(DatabaseError, match="newer than this version"):
        open_backend(tmp_path, database_url).open_recommender_store()


def test_an_unreachable_database_is_named_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://kb:s3cret-pw@127.0.0.1:1/kb?connect_timeout=3"
    with pytest.raises(DatabaseError) as info:
        open_backend(tmp_path, url).open_recommender_store()
    assert "s3cret-pw" not in str(info.value) and "127.0.0.1" in str(info.value)


def test_a_url_that_is_not_postgresql_is_refused_without_its_password(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="not a PostgreSQL URL") as info:
        open_backend(tmp_path, "mysql://kb:s3cret-pw@db/kb").open_recommender_store()
    assert "s3cret-pw" not in str(info.value)


def test_the_store_repr_hides_the_password(tmp_path: Path, database_url: str) -> None:
    with_password = database_url.replace("postgres:@", "postgres:hunter2@", 1)
    assert with_password != database_url  # pgserver trusts local connections: any password
    with open_backend(tmp_path, with_password).open_recommender_store() as store:
        assert "hunter2" not in repr(store) and "***" in repr(store)


# -- the kb CLI -------------------------------------------------------------------------------


@pytest.fixture
def material_kb(tmp_path: Path, fake_embedder: HashingEmbedder) -> Callable[[], KnowledgeBase]:
    """A knowledge base with the sample documents, opened afresh for each CLI call (the `kb`
    group closes its knowledge base when the command ends). Shared by both runs, so their
    answers can differ only where the recommender's stores do."""
    from ingest import ingest_paths

    home = tmp_path / "kb"
    base = open_knowledge_base(home, embedder=fake_embedder)
    try:
        assert not ingest_paths(base, [SAMPLE / "docs"]).failed
    finally:
        base.close()
    return lambda: open_knowledge_base(home, embedder=fake_embedder)


def test_the_cli_with_a_database_url_answers_as_the_embedded_store(
    tmp_path: Path,
    database_url: str,
    material_kb: Callable[[], KnowledgeBase],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    runner = CliRunner()

    def answers(home: Path, url: str | None) -> list[Any]:
        def kb(*args: str, status: int = 0) -> Any:
            options = ["--home", str(home)] + (["--database-url", url] if url else [])
            obj = CliContext(home=home, knowledge_base=material_kb())
            result = runner.invoke(main, [*options, *args], obj=obj)
            assert result.exit_code == status, result.output
            return json.loads(result.stdout) if status == 0 else result.output

        assert "kb catalog load" in kb("next", "liam-chen", status=2)  # nothing loaded yet
        said = [
            kb("catalog", "load", str(SAMPLE / "catalog"), "--json"),
            kb("gaps", "liam-chen", "--json"),
            kb("next", "liam-chen", "--json"),
            kb("recommend", "liam-chen", "-k", "3", "--json"),
            kb("plan", "liam-chen", "--hours", "12", "--json"),
            kb("team", "nlp", "--json"),
        ]
        module = said[2]["module"]["id"]
        completed = kb("complete", "liam-chen", module, "--score", "0.5", "--json")
        completed["event"]["created_at"] = "-"  # the clock's, not the store's
        said.append(completed)
        said.append(kb("next", "liam-chen", "--json"))
        said.append(kb("recommend", "liam-chen", "-k", "3", "--json"))
        return said

    in_postgres = answers(tmp_path / "pg", database_url)
    embedded = answers(tmp_path / "embedded", None)
    assert in_postgres == embedded
    assert in_postgres[3]["materials"]  # the knowledge base answered too
    assert in_postgres[2] != in_postgres[7]  # the completion was recorded and applied
    assert not (tmp_path / "pg" / "catalog.sqlite").exists()  # the state went to PostgreSQL
    with open_backend(tmp_path / "pg", database_url).open_recommender_store() as store:
        assert [e.module for e in store.events()] == [in_postgres[2]["module"]["id"]]
