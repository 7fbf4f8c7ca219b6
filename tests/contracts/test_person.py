"""One person's data on both backends (api.person, docs/person-data.md): `kb person export`
holds what was put in about them; after `kb person erase` a scan of every table of every
database (SQLite: every file of the home folder, caches included; PostgreSQL: every table of
every schema) finds their id, name and e-mail nowhere; a second erase does nothing; an
unknown id is a clear error; retention forgets what is older than its settings."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from api.backends import Backend, open_backend
from api.cli import main
from api.cli.common import CliContext
from api.http.auth import hash_key
from api.person import voter_pseudonyms
from kb.searchlog.base import FeedbackEvent, OpenEvent, SearchEvent, pseudonym
from recommender.state.events import Event
from tests.contracts import BACKENDS, fresh_url
from tests.fakes import HashingEmbedder

SAMPLE_CATALOG = Path(__file__).resolve().parents[2] / "data" / "sample" / "catalog"
PERSON = "liam-chen"
NAME = "Liam Chen"
EMAIL = "liam.chen@example.com"
TERMS = (PERSON, NAME, EMAIL, "liam")  # "liam": the name's word as a full-text index keeps it
CYCLE = "llm-support-2024-04"  # liam-chen is one of its participants in the sample


@dataclass
class World:
    home: Path
    url: str | None
    backend: Backend
    catalog: Path
    keys: Path
    embedder: HashingEmbedder

    def kb(self, *args: str, status: int = 0) -> Any:
        options = ["--home", str(self.home)] + (["--database-url", self.url] if self.url else [])
        obj = CliContext(home=self.home, database_url=self.url, embedder=self.embedder)
        result = CliRunner().invoke(main, [*options, *args], obj=obj)
        assert result.exit_code == status, result.output
        return result


def markdown(front: dict[str, Any], body: str) -> str:
    return "---\n" + yaml.safe_dump(front) + "---\n\n" + body + "\n"


@pytest.fixture(params=BACKENDS)
def world(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fake_embedder: HashingEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[World]:
    """A deployment holding one person (liam-chen) everywhere kb keeps a person: catalogue
    (with an e-mail) and a cycle's participants, events of every learner's kind, searches,
    an open, votes under their pseudonym, a search naming them, documents they wrote or
    own, an API key; and someone else (priya-raman) beside them, who must stay."""
    for name in ("KB_DATABASE_URL", "KB_API_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    url = fresh_url(str(request.param), request)
    home = tmp_path / "home"
    catalog = tmp_path / "catalogue"
    catalog.mkdir()
    for path in [*SAMPLE_CATALOG.glob("*.yaml"), *SAMPLE_CATALOG.glob("*.yml")]:
        shutil.copy(path, catalog / path.name)
    employees = catalog / "employees.yaml"
    text = employees.read_text(encoding="utf-8")
    employees.write_text(
        text.replace(f"  name: {NAME}\n", f"  name: {NAME}\n  email: {EMAIL}\n", 1),
        encoding="utf-8",
    )
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(
        markdown(
            {"title": "Warmup schedules", "author": f"{NAME} <{EMAIL}>"},
            "Warmup steps stop early divergence when fine-tuning with a large learning rate.",
        ),
        encoding="utf-8",
    )
    (docs / "b.md").write_text(
        markdown(
            {"title": "Drift alerts runbook", "owner": PERSON, "review_by": "2030-01-01"},
            "Population stability index on weekly feature snapshots raises the drift alert.",
        ),
        encoding="utf-8",
    )
    (docs / "c.md").write_text(
        markdown(
            {"title": "Label noise", "author": "Priya Raman"},
            "Confident learning finds mislabelled reviews in the training set.",
        ),
        encoding="utf-8",
    )
    keys = home / "api-keys.yaml"
    home.mkdir()
    keys.write_text(
        yaml.safe_dump(
            [
                {"key_sha256": hash_key("liam-key"), "role": "employee", "employee": PERSON},
                {"key_sha256": hash_key("admin-key"), "role": "admin"},
            ]
        ),
        encoding="utf-8",
    )
    w = World(home, url, open_backend(home, url), catalog, keys, fake_embedder)
    w.kb("catalog", "load", str(catalog))
    w.kb("ingest", str(docs))
    now = datetime.now(UTC)
    stamp = now.isoformat(timespec="seconds")
    with w.backend.open_recommender_store() as store:
        store.add_events(
            [
                Event("completion", PERSON, stamp, module="llm-finetune", score=0.7),
                Event("rating", PERSON, stamp, doc_id="doc-1", rating=4),
                Event(
                    "assessment",
                    PERSON,
                    stamp,
                    module="llm-finetune",
                    score=0.8,
                    cycle=CYCLE,
                    details={"stage": "post"},
                ),
                Event(
                    "survey",
                    PERSON,
                    stamp,
                    rating=5,
                    cycle=CYCLE,
                    details={"comment": "More exercises please"},
                ),
                Event("attendance", PERSON, stamp, cycle=CYCLE, details={"attended": True}),
                Event("completion", "priya-raman", stamp, module="nlp-evaluation", score=0.9),
            ]
        )
    log = w.backend.open_search_log()
    try:
        secret = log.voter_secret()
        log.write(
            [
                SearchEvent("a1" * 8, now, "lora rank", "hybrid", employee=PERSON),
                SearchEvent("b2" * 8, now, "who is liam chen's mentor", "hybrid"),
                SearchEvent("c3" * 8, now, "drift alerts", "hybrid", employee="priya-raman"),
                OpenEvent(now, "doc-1", "a1" * 8, employee=PERSON),
                FeedbackEvent(now, "warmup", "doc-1", 1, voter_pseudonyms(secret, PERSON)[0]),
                FeedbackEvent(
                    now, "warmup", "doc-1", -1, pseudonym(secret, "employee:priya-raman")
                ),
            ]
        )
    finally:
        log.close()
    yield w


def test_the_export_holds_what_was_put_in(world: World, tmp_path: Path) -> None:
    out = tmp_path / "liam.json"
    world.kb("person", "export", PERSON, "--output", str(out), "--keys-file", str(world.keys))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["record"]["name"] == NAME and data["record"]["email"] == EMAIL
    assert data["levels"]["text-preprocessing"] == 3
    assert CYCLE in {c["id"] for c in data["catalogue_mentions"]["cycles"]}
    assert sorted(e["kind"] for e in data["events"]) == [
        "assessment",
        "attendance",
        "completion",
        "rating",
        "survey",
    ]
    assert {e["employee"] for e in data["events"]} == {PERSON}
    assert {s["query"] for s in data["searches"]} == {"lora rank", "who is liam chen's mentor"}
    assert [o["search_id"] for o in data["opens"]] == ["a1" * 8]
    assert [(v["query"], v["vote"]) for v in data["votes"]] == [("warmup", 1)]
    assert sorted(d["title"] for d in data["documents"]) == [
        "Drift alerts runbook",
        "Warmup schedules",
    ]
    assert [k["role"] for k in data["api_keys"]] == ["employee"]
    records = world.backend.open_audit_log()
    try:
        assert records.records()[-1].action == "person.export"
        assert not any(PERSON in json.dumps(r.to_json()) for r in records.records())
    finally:
        records.close()


def test_an_unknown_id_is_a_clear_error(world: World) -> None:
    said = world.kb("person", "erase", "nobody-here", "--yes", status=2).output
    assert "No person 'nobody-here'" in said
    assert "No person 'nobody-here'" in world.kb("person", "export", "nobody-here", status=2).output


def found_in_databases(world: World) -> list[str]:
    """Every place (table, file) where one of TERMS appears, case-insensitively."""
    pattern = re.compile("|".join(re.escape(t) for t in TERMS), re.IGNORECASE)
    hits: list[str] = []
    if world.url is None:
        import sqlite3

        for path in sorted(world.home.rglob("*")):
            if not path.is_file():
                continue
            if pattern.search(path.read_bytes().decode("utf-8", "replace")):
                hits.append(f"file {path.relative_to(world.home)}")
            if path.suffix != ".sqlite":
                continue
            with closing(sqlite3.connect(path)) as db:
                tables = [
                    r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                ]
                for table in tables:
                    for row in db.execute(f'SELECT * FROM "{table}"'):
                        if pattern.search(" ".join(map(str, row))):
                            hits.append(f"{path.name}:{table}: {row!r:.120}")
    else:
        import psycopg

        with closing(psycopg.connect(world.url, autocommit=True)) as conn:
            tables = conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE "
                "table_type = 'BASE TABLE' AND table_schema NOT IN "
                "('pg_catalog', 'information_schema')"
            ).fetchall()
            assert len(tables) > 10  # every part's tables were found
            for schema, table in tables:
                rows = conn.execute(f'SELECT t::text FROM "{schema}"."{table}" AS t').fetchall()
                hits += [f"{schema}.{table}: {r[0]:.120}" for r in rows if pattern.search(r[0])]
        for path in sorted(world.home.rglob("*")):
            if path.is_file() and pattern.search(path.read_bytes().decode("utf-8", "replace")):
                hits.append(f"file {path.relative_to(world.home)}")
    return hits


@pytest.mark.parametrize("documents", ["keep", "remove"])
def test_after_erasure_the_person_is_found_nowhere(world: World, documents: str) -> None:
    assert found_in_databases(world)  # the scan sees them before
    result = world.kb(
        "person",
        "erase",
        PERSON,
        "--yes",
        "--json",
        "--documents",
        documents,
        "--keys-file",
        str(world.keys),
    )
    report = json.loads(result.stdout)
    assert report["counts"]["events"] == 5
    assert report["counts"]["api_keys"] == 1
    # the organiser's own files are never rewritten: the erasure names those still naming them
    assert str(world.catalog / "employees.yaml") in report["catalog_files_still_naming"]
    assert found_in_databases(world) == []
    titles = sorted(d["title"] for d in json.loads(world.kb("docs", "--json").stdout)["documents"])
    if documents == "keep":
        assert titles == ["Drift alerts runbook", "Label noise", "Warmup schedules"]
    else:
        assert titles == ["Label noise"]
    # the audit log says an erasure happened, by whom, with a reference that names nobody
    log = world.backend.open_audit_log()
    try:
        erasures = [r for r in log.records() if r.action == "person.erase"]
        assert len(erasures) == 1 and erasures[0].actor.startswith("cli:")
        assert erasures[0].target == report["reference"] and PERSON not in erasures[0].target
        assert log.verify() is None
    finally:
        log.close()
    # someone else's data stays, and the catalogue still loads and answers
    assert json.loads(world.kb("gaps", "priya-raman", "--json").stdout)["employee"]
    with world.backend.open_recommender_store() as store:
        assert [e.employee for e in store.events()] == ["priya-raman"]
    # again: nothing to do, said so, status 0
    again = json.loads(world.kb("person", "erase", PERSON, "--yes", "--json").stdout)
    assert again["already_erased"] is True
    assert "erased on" in world.kb("person", "export", PERSON, status=2).output


def test_retention_forgets_old_searches_and_events(world: World) -> None:
    old = datetime.now(UTC) - timedelta(days=40)
    with world.backend.open_recommender_store() as store:
        store.add_event(
            Event("rating", "priya-raman", old.isoformat(timespec="seconds"), doc_id="x", rating=2)
        )
        before = len(store.events())
    log = world.backend.open_search_log()
    try:
        log.write([SearchEvent("d4" * 8, old, "old query", "hybrid")])
    finally:
        log.close()
    said = json.loads(
        world.kb(
            "retention", "apply", "--searches-days", "30", "--events-days", "30", "--json"
        ).stdout
    )
    assert said == {"search_log_rows": 1, "events": 1, "xapi_statements": 0}
    with world.backend.open_recommender_store() as store:
        assert len(store.events()) == before - 1
    nothing = json.loads(world.kb("retention", "apply", "--events-days", "0", "--json").stdout)
    assert nothing["events"] == 0


def test_the_http_export_is_for_admins_only(world: World) -> None:
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.settings import Settings

    settings = Settings(home=world.home, database_url=world.url, api_keys_file=world.keys)
    app = create_app(settings, embedder=world.embedder)
    with TestClient(app) as client:
        path = f"/people/{PERSON}/export"
        employee = client.get(path, headers={"Authorization": "Bearer liam-key"})
        assert employee.status_code == 403 and "admin" in employee.json()["error"]["message"]
        admin = {"Authorization": "Bearer admin-key"}
        answer = client.get(path, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["email"] == EMAIL
        assert [k["role"] for k in answer.json()["api_keys"]] == ["employee"]
        missing = client.get("/people/nobody-here/export", headers=admin)
        assert missing.status_code == 404 and "No person" in missing.json()["error"]["message"]
    log = world.backend.open_audit_log()
    try:
        assert [r.action for r in log.records()].count("person.export") == 1
    finally:
        log.close()


def test_kb_worker_applies_the_retention_settings(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat(timespec="seconds")
    with world.backend.open_recommender_store() as store:
        store.add_event(Event("rating", "priya-raman", old, doc_id="x", rating=2))
        before = len(store.events())
    monkeypatch.setenv("KB_RETENTION_EVENTS_DAYS", "30")
    if world.url is None:  # SQLite has no shared queue: `kb retention apply` from cron instead
        assert "needs PostgreSQL" in world.kb("worker", "--once", status=2).output
        world.kb("retention", "apply")
    else:
        world.kb("worker", "--once")
    with world.backend.open_recommender_store() as store:
        assert len(store.events()) == before - 1
