"""kb.db.outage: what a background loop logs when its database goes away: one WARNING per
outage for the whole process, naming the database, one INFO line when it is back; errors that
are not an outage are left to the caller."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator

import psycopg
import pytest

from kb.db import outage
from kb.db.outage import OutageWatch, is_outage, outage_in_progress, watch_pool
from kb.db.postgres import DatabaseError

DB = "postgresql://kb:***@db.example:5432/kb"
log = logging.getLogger("tests.outage")


@pytest.fixture(autouse=True)
def no_outage_left() -> Iterator[None]:
    outage._DOWN.clear()
    yield
    outage._DOWN.clear()


def down() -> psycopg.OperationalError:
    return psycopg.OperationalError("connection failed: Connection refused\n\tIs it running?")


def test_only_the_database_being_unreachable_is_an_outage() -> None:
    assert is_outage(down())
    try:
        try:
            raise down()
        except psycopg.OperationalError:
            raise DatabaseError("Cannot connect to the database") from None
    except DatabaseError as wrapped:
        assert is_outage(wrapped)  # the stores' error, raised while one was handled
    try:
        try:
            raise down()
        except psycopg.OperationalError as exc:
            raise ValueError("a bug in the handler") from exc
    except ValueError as bug:
        assert not is_outage(bug)
    assert not is_outage(sqlite3.OperationalError("database is locked"))
    assert not is_outage(DatabaseError("The audit log's head row is missing"))


def test_one_warning_per_outage_for_every_thread_and_one_line_when_it_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    embedder, syncs = OutageWatch(log, "making vectors", DB), OutageWatch(log, "syncs", DB)
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        for _ in range(5):
            assert embedder.failed(down()) and syncs.failed(down())
        assert not embedder.failed(ValueError("a bug"))  # the caller logs it, traceback and all
        assert outage_in_progress(DB)
        embedder.succeeded()
        syncs.succeeded()
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert len(lines) == 2, lines
    assert lines[0][0] == "WARNING"
    assert lines[0][1].startswith(f"the database {DB} is unreachable (OperationalError: ")
    assert "Connection refused" in lines[0][1] and "Is it running" not in lines[0][1]
    assert lines[1][0] == "INFO" and lines[1][1].startswith(f"the database {DB} is reachable again")
    assert not outage_in_progress(DB)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        syncs.failed(down())  # the next outage is told again
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_a_pools_reconnection_warnings_become_the_outage_told_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch_pool("pool-test", DB)
    pool_log = logging.getLogger("psycopg.pool")
    with caplog.at_level(logging.INFO):
        for _ in range(10):
            pool_log.warning("error connecting in %r: %s", "pool-test", "connection is bad")
        pool_log.warning("error connecting in %r: %s", "someone-elses-pool", "connection is bad")
        OutageWatch(log, "syncs", DB).succeeded()
    lines = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert [line[:2] for line in lines] == [
        ("kb.db", "WARNING"),
        ("psycopg.pool", "WARNING"),  # a pool kb did not open: left alone
        ("tests.outage", "INFO"),
    ], lines
    assert f"the database {DB} is unreachable" in lines[0][2]
