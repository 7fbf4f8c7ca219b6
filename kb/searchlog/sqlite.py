"""The search log in SQLite: `SqliteSearchLog` keeps the events in `<home>/analytics.sqlite`
(its own file: WAL, short transactions, so any number of processes share it)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path

from kb.db import sqlite as sqlite_files
from kb.errors import KBError
from kb.searchlog.base import (
    Event,
    OpenEvent,
    SearchEvent,
    _epoch,
    _utc,
    search_from_row,
    search_params,
)

DATABASE = "analytics.sqlite"


# -- SQLite ----------------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS searches (
    search_id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,  -- microseconds since 1970, UTC
    query TEXT NOT NULL,
    mode TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    k INTEGER NOT NULL,
    page_offset INTEGER NOT NULL,
    n_hits INTEGER NOT NULL,
    best_score REAL,
    hits TEXT NOT NULL DEFAULT '[]',
    origin TEXT NOT NULL,
    employee TEXT
);
CREATE INDEX IF NOT EXISTS searches_at ON searches (at);
CREATE TABLE IF NOT EXISTS opens (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    search_id TEXT,
    employee TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS opens_once ON opens (search_id, doc_id)
    WHERE search_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS opens_at ON opens (at);
"""
_SCHEMA_VERSION = 1
_SEARCH_COLUMNS = (
    "search_id, at, query, mode, filters, k, page_offset, n_hits, best_score, hits, origin, "
    "employee"
)


class SqliteSearchLog:
    """The log in its own SQLite file. Every call opens a short-lived connection (WAL; writers
    wait up to `timeout` seconds for each other), so threads and processes share the file."""

    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path = path
        self._timeout = timeout
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite_files.connect(path, timeout=timeout)) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise KBError(
                    f"{path} was written by a newer version of kb (search log format "
                    f"{version}); upgrade kb on this machine."
                )
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
            for event in events:
                if isinstance(event, SearchEvent):
                    conn.execute(
                        f"INSERT OR IGNORE INTO searches ({_SEARCH_COLUMNS}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (event.search_id, _epoch(event.at), *search_params(event)),
                    )
                else:
                    conn.execute(
                        "INSERT OR IGNORE INTO opens (at, doc_id, search_id, employee) "
                        "VALUES (?, ?, ?, ?)",
                        (_epoch(event.at), event.doc_id, event.search_id, event.employee),
                    )

    def searches(self, since: datetime) -> list[SearchEvent]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT {_SEARCH_COLUMNS} FROM searches WHERE at >= ? ORDER BY at, search_id",
                (_epoch(since),),
            ).fetchall()
        return [search_from_row(row[0], _utc(row[1]), row[2:]) for row in rows]

    def opens(self, since: datetime) -> list[OpenEvent]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                "SELECT at, doc_id, search_id, employee FROM opens WHERE at >= ? ORDER BY at, id",
                (_epoch(since),),
            ).fetchall()
        return [OpenEvent(_utc(at), doc_id, search_id, who) for at, doc_id, search_id, who in rows]

    def forget_before(self, when: datetime) -> int:
        with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
            gone = conn.execute("DELETE FROM searches WHERE at < ?", (_epoch(when),)).rowcount
            gone += conn.execute("DELETE FROM opens WHERE at < ?", (_epoch(when),)).rowcount
        return int(gone)

    def close(self) -> None:
        """Nothing is held open between calls."""
