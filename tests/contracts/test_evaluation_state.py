"""Follow-up evaluation on both backends: `followup` and `kpi` events stored and returned
whole, imports all or nothing, the same gains and reports from SQLite and PostgreSQL, and
schema 3 reached from a store of schema 2 with its events kept."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from api.backends import open_backend
from kb.db.postgres import connect, upgrade
from recommender import current_catalog, load_catalog
from recommender.cycles.csv_import import (
    FollowupForm,
    ImportFile,
    ImportInvalidError,
    import_results,
)
from recommender.cycles.followup import schedule_followup
from recommender.cycles.kpi import import_kpis
from recommender.cycles.report import build_report, load_cycle_state
from recommender.rules.proven import gain_evidence
from recommender.state.base import RecommenderStore
from recommender.state.events import Event
from recommender.state.postgres import MIGRATIONS, PART
from recommender.state.sqlite import STORE_FILE, CatalogStore
from tests.contracts import BACKENDS
from tests.contracts.test_recommender_state import Opener, opener_for
from tests.recommender.evaluation_cohort import kpi_catalog, kpi_csv, kpi_rows
from tests.recommender.test_evaluation import SELF, write_raw


@pytest.fixture(params=BACKENDS)
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    return opener_for(request.param, tmp_path / "home", request)


def _fill(store: RecommenderStore, tmp_path: Path) -> None:
    load_catalog(store, write_raw(tmp_path / "catalog", kpi_catalog()))
    catalog = current_catalog(store)
    import_kpis(store, catalog, [ImportFile("k.csv", kpi_csv(kpi_rows(1, 5.0)))])
    schedule_followup(store, catalog, "kpi-cycle", [30, 90])
    import_results(
        store,
        catalog,
        "kpi-cycle",
        [ImportFile("s.csv", SELF.encode())],
        followup=FollowupForm("d30", "self"),
    )
    store.add_events(
        [
            Event(
                kind="assessment",
                employee=f"e-team-0{n}",
                cycle="kpi-cycle",
                score=score,
                details={"phase": phase, "skill": "feature-engineering"},
                created_at="2024-06-20T00:00:00+00:00",
            )
            for n in range(6)
            for phase, score in (("pre", 0.2 + n / 50), ("post", 0.6 + n / 40))
        ]
    )


def test_followups_and_kpis_come_back_whole(opener: Opener, tmp_path: Path) -> None:
    with opener() as store:
        _fill(store, tmp_path)
        kinds = [e.kind for e in store.events()]
        assert kinds.count("kpi") == 12 * 26 and kinds.count("followup") == 2
        followup = next(e for e in store.events() if e.kind == "followup")
        assert followup.cycle == "kpi-cycle" and followup.details["forms"] == ["self", "manager"]
        kpi = next(e for e in store.events() if e.kind == "kpi")
        assert (
            kpi.employee == "" and kpi.cycle is None and kpi.details["metric"] == "tickets-solved"
        )
        report = build_report(load_cycle_state(store), "kpi-cycle")
        assert (
            report.team_results is not None and report.team_results.metrics[0].did.low is not None
        )
        assert report.applied is not None and report.applied.followups[0].forms[0].responses == 2
        assert gain_evidence(store).overall[("fe-1", "feature-engineering")].n == 6


def test_a_faulty_kpi_file_records_nothing(opener: Opener, tmp_path: Path) -> None:
    with opener() as store:
        load_catalog(store, write_raw(tmp_path / "catalog", kpi_catalog()))
        good = ImportFile("a.csv", b"team,metric,date,value\nteam-00,t,2024-05-01,1\n")
        bad = ImportFile("b.csv", b"team,metric,date,value\nteam-00,t,2024-05-01,x\n")
        with pytest.raises(ImportInvalidError, match="b.csv: line 2: value 'x' is not a number"):
            import_kpis(store, current_catalog(store), [good, bad])
        assert store.events() == []


def test_both_backends_give_the_same_gains_and_report(tmp_path: Path, database_url: str) -> None:
    embedded = CatalogStore.open(tmp_path / "a")
    pg = open_backend(tmp_path / "b", database_url).open_recommender_store()
    try:
        for store in (embedded, pg):
            _fill(store, tmp_path)
        reports = [build_report(load_cycle_state(s), "kpi-cycle") for s in (embedded, pg)]
        assert reports[0] == reports[1]
        assert gain_evidence(embedded) == gain_evidence(pg)
        strip = [replace(e, created_at="", id=None) for e in embedded.events()]
        assert strip == [replace(e, created_at="", id=None) for e in pg.events()]
    finally:
        embedded.close()
        pg.close()


def test_an_sqlite_store_of_schema_2_is_rebuilt_for_the_new_kinds(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with CatalogStore.open(home) as store:
        kept = store.add_event(
            Event(
                kind="survey",
                employee="ann",
                cycle="c1",
                details={"answers": {"pace": 3}},
                created_at="2024-01-01T00:00:00+00:00",
            )
        )
    db = sqlite3.connect(home / STORE_FILE)  # back to schema 2: the CHECK without the new kinds
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'events'").fetchone()[0]
    db.executescript(
        "ALTER TABLE events RENAME TO events_new;"
        + sql.replace(", 'followup', 'kpi'", "")
        + "; INSERT INTO events SELECT * FROM events_new; DROP TABLE events_new;"
        " UPDATE meta SET value = '2' WHERE key = 'schema_version';"
    )
    db.close()
    with CatalogStore.open(home) as store:
        assert store.meta("schema_version") == "3"
        assert store.events() == [kept]
        added = store.add_event(
            Event(
                kind="kpi", employee="", score=1.0, details={"team": "t"}, created_at="2024-01-02"
            )
        )
        assert added.id == 2 and store.events(cycle="c1") == [kept]


def test_a_postgresql_store_at_migration_2_gets_migration_3(
    tmp_path: Path, database_url: str
) -> None:
    conn = connect(database_url)
    try:
        upgrade(conn, PART, MIGRATIONS[:2])
        conn.execute(
            "INSERT INTO rec_events (kind, employee, created_at, cycle)"
            " VALUES ('survey', 'ann', '2024-01-01T00:00:00+00:00', 'c1')"
        )
    finally:
        conn.close()
    with open_backend(tmp_path, database_url).open_recommender_store() as store:
        assert store.meta("schema_version") == "3"
        (old,) = store.events()
        added = store.add_event(
            Event(kind="followup", employee="", cycle="c1", details={"id": "d30"}, created_at="x")
        )
        assert old.kind == "survey" and added.id == 2
