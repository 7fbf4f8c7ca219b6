"""The audit log (kb.audit) on both backends: each record chained to the one before, so that
`verify` names the first record removed or edited behind the log's back; the database refuses
updates and deletes; appends from many threads at once never fork the chain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.backends import open_backend
from kb.audit import AuditLog, record_hash
from kb.audit.base import GENESIS
from tests.contracts import BACKENDS, fresh_url

T0 = datetime(2026, 3, 10, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str | None:
    return fresh_url(request.param, request)


@pytest.fixture
def audit_log(tmp_path: Path, backend: str | None) -> Iterator[AuditLog]:
    log = open_backend(tmp_path / "home", backend).open_audit_log()
    yield log
    log.close()


def three_records(log: AuditLog) -> None:
    log.append("key-ab12", "sign_in", source_ip="10.0.0.7", at=T0)
    log.append(
        "key-ab12",
        "document.read_restricted",
        "doc-hr-1",
        {"visibility": ["hr"]},
        "10.0.0.7",
        at=T0 + timedelta(seconds=1),
    )
    log.append("cli:ana", "document.delete", "doc-old", at=T0 + timedelta(seconds=2))


def execute(log: AuditLog, backend: str | None, statements: list[str]) -> None:
    """Change the log's database directly, as someone with the file or a superuser could."""
    if backend is None:
        import sqlite3

        with closing(sqlite3.connect(log.location, isolation_level=None)) as db:
            for statement in statements:
                db.execute(statement)
    else:
        import psycopg

        with closing(psycopg.connect(backend, autocommit=True)) as conn:
            for statement in statements:
                conn.execute(statement)


def drop_guards(backend: str | None) -> list[str]:
    if backend is None:
        return [
            "DROP TRIGGER audit_records_no_update",
            "DROP TRIGGER audit_records_no_delete",
        ]
    return ["DROP TRIGGER audit_records_append_only ON audit_records"]


def test_records_are_numbered_and_each_chains_to_the_one_before(audit_log: AuditLog) -> None:
    three_records(audit_log)
    records = audit_log.records()
    assert [r.seq for r in records] == [1, 2, 3]
    assert records[0].prev_hash == GENESIS
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]
    assert all(r.hash == record_hash(r) for r in records)
    assert records[1].actor == "key-ab12" and records[1].target == "doc-hr-1"
    assert records[1].detail == {"visibility": ["hr"]} and records[1].source_ip == "10.0.0.7"
    assert records[1].at == T0 + timedelta(seconds=1)
    assert audit_log.verify() is None and audit_log.count() == 3


def test_records_since_a_time(audit_log: AuditLog) -> None:
    three_records(audit_log)
    assert [r.seq for r in audit_log.records(T0 + timedelta(seconds=1))] == [2, 3]


def test_the_database_refuses_to_update_or_delete_a_record(
    audit_log: AuditLog, backend: str | None
) -> None:
    three_records(audit_log)
    for statement in (
        "UPDATE audit_records SET actor = 'someone-else' WHERE seq = 2",
        "DELETE FROM audit_records WHERE seq = 2",
    ):
        with pytest.raises(Exception, match="append-only"):
            execute(audit_log, backend, [statement])
    assert audit_log.verify() is None and audit_log.count() == 3


def test_an_edited_record_is_named_by_verify(audit_log: AuditLog, backend: str | None) -> None:
    three_records(audit_log)
    execute(
        audit_log,
        backend,
        [*drop_guards(backend), "UPDATE audit_records SET target = 'doc-x' WHERE seq = 2"],
    )
    assert audit_log.verify() == 2


def test_a_removed_record_is_named_by_verify(audit_log: AuditLog, backend: str | None) -> None:
    three_records(audit_log)
    execute(audit_log, backend, [*drop_guards(backend), "DELETE FROM audit_records WHERE seq = 2"])
    assert audit_log.verify() == 3  # the record after the gap


def test_a_record_added_after_a_removal_still_shows_the_gap(
    audit_log: AuditLog, backend: str | None
) -> None:
    three_records(audit_log)
    execute(audit_log, backend, [*drop_guards(backend), "DELETE FROM audit_records WHERE seq = 3"])
    audit_log.append("cli:ana", "export")
    assert audit_log.verify() is not None


def test_appends_from_many_threads_at_once_never_fork_the_chain(
    tmp_path: Path, backend: str | None
) -> None:
    home = tmp_path / "home"
    logs = [open_backend(home, backend).open_audit_log() for _ in range(4)]
    errors: list[BaseException] = []

    def append_many(log: Any, who: int) -> None:
        try:
            for n in range(15):
                log.append(f"key-{who}", "ingest.upload", f"doc-{who}-{n}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=append_many, args=(log, i)) for i, log in enumerate(logs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        records = logs[0].records()
        assert [r.seq for r in records] == list(range(1, 61))
        assert logs[0].verify() is None
    finally:
        for log in logs:
            log.close()


def test_an_exported_record_is_json(audit_log: AuditLog) -> None:
    three_records(audit_log)
    line = audit_log.records()[1].to_json()
    assert line["action"] == "document.read_restricted"
    assert line["at"] == "2026-03-10T09:30:16.123456+00:00"


def _append_in_a_process(home: str, url: str | None, who: int, n: int) -> None:
    log = open_backend(Path(home), url).open_audit_log()
    try:
        for i in range(n):
            log.append(f"key-{who}", "document.read_restricted", f"doc-{i}")
    finally:
        log.close()


def test_appends_from_two_processes_at_once_never_fork_the_chain(
    tmp_path: Path, backend: str | None
) -> None:
    import multiprocessing

    home = str(tmp_path / "home")
    open_backend(Path(home), backend).open_audit_log().close()  # the schema, made once
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(target=_append_in_a_process, args=(home, backend, who, 25)) for who in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    log = open_backend(Path(home), backend).open_audit_log()
    try:
        assert [r.seq for r in log.records()] == list(range(1, 51)) and log.verify() is None
    finally:
        log.close()


def test_the_service_records_a_restricted_read_with_the_key_id_and_address(
    tmp_path: Path, backend: str | None, fake_embedder: Any
) -> None:
    from api.http.auth import hash_key
    from tests.api_helpers import KEYS, auth, ingest, running_client
    from tests.helpers import markdown_doc

    secret = markdown_doc("Salary bands", {"Bands": "The nlp team's pay bands, for leads."})
    with running_client(tmp_path, fake_embedder, database_url=backend) as client:
        ingest(client, {"salaries.md": secret}, visibility="nlp")
        (doc,) = client.get("/documents", headers=auth("admin")).json()["documents"]
        assert client.get(f"/documents/{doc['doc_id']}", headers=auth("admin")).status_code == 200
    log = open_backend(tmp_path / "home", backend).open_audit_log()
    try:
        (read,) = [r for r in log.records() if r.action == "document.read_restricted"]
        assert (read.actor, read.target) == (hash_key(KEYS["admin"])[:16], doc["doc_id"])
        assert read.source_ip == "testclient" and log.verify() is None
        assert [r.action for r in log.records() if r.action == "ingest.upload"] == ["ingest.upload"]
    finally:
        log.close()


def test_each_concurrent_append_returns_its_own_committed_record(audit_log: AuditLog) -> None:
    """Appends committed together (SQLite's group commit) each return their own record, as
    it is stored, and a failing one fails alone."""
    returned: dict[str, Any] = {}

    def append(n: int) -> None:
        returned[f"doc-{n}"] = audit_log.append("key-ab12", "document.read_restricted", f"doc-{n}")

    threads = [threading.Thread(target=append, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pytest.raises(TypeError):
        audit_log.append("key-ab12", "export", "x", {"not json": object()})
    stored = {r.target: r for r in audit_log.records()}
    assert {t: r.seq for t, r in returned.items()} == {t: stored[t].seq for t in returned}
    assert all(returned[t].hash == stored[t].hash for t in returned)
    assert audit_log.verify() is None and audit_log.count() == 40
