"""The search log in SQLite: `SqliteSearchLog` keeps the events in `<home>/analytics.sqlite`
(its own file: WAL, short transactions, so any number of processes share it).

Format 2 (PRAGMA user_version) adds readers' votes (`feedback`), the log's own secret
(`meta`) and each search's normalised query (`searches.query_norm`, filled in for the searches
of format 1 when the file is upgraded, which keeps everything it held)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

from kb.db import sqlite as sqlite_files
from kb.errors import KBError
from kb.searchlog.base import (
    Event,
    FeedbackEvent,
    OpenEvent,
    ReaderCounts,
    SearchEvent,
    _epoch,
    _utc,
    merge_counts,
    new_voter_secret,
    normal_query,
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
# Format 2: votes, the secret of the voters' pseudonyms, searches by normalised query.
_FORMAT_2 = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,  -- microseconds since 1970, UTC
    query TEXT NOT NULL,  -- as typed
    query_norm TEXT NOT NULL,  -- kb.searchlog.base.normal_query
    doc_id TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 0, 1)),
    voter TEXT NOT NULL,  -- a pseudonym (kb.searchlog.base.pseudonym)
    search_id TEXT,
    employee TEXT
);
CREATE INDEX IF NOT EXISTS feedback_votes ON feedback (query_norm, doc_id, voter, at);
CREATE INDEX IF NOT EXISTS feedback_at ON feedback (at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS searches_query_norm ON searches (query_norm);
"""
_SCHEMA_VERSION = 2
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
        self._secret: bytes | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite_files.connect(path, timeout=timeout)) as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise KBError(
                    f"{path} was written by a newer version of kb (search log format "
                    f"{version}); upgrade kb on this machine."
                )
            if version < _SCHEMA_VERSION:
                with sqlite_files.write_transaction(conn):
                    _upgrade(conn)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
            for event in events:
                if isinstance(event, SearchEvent):
                    conn.execute(
                        f"INSERT OR IGNORE INTO searches ({_SEARCH_COLUMNS}, query_norm) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            event.search_id,
                            _epoch(event.at),
                            *search_params(event),
                            normal_query(event.query),
                        ),
                    )
                elif isinstance(event, FeedbackEvent):
                    conn.execute(
                        f"INSERT INTO feedback ({_FEEDBACK_COLUMNS}, query_norm) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            _epoch(event.at),
                            event.query,
                            event.doc_id,
                            event.vote,
                            event.voter,
                            event.search_id,
                            event.employee,
                            normal_query(event.query),
                        ),
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

    def feedback(self, since: datetime) -> list[FeedbackEvent]:
        with closing(self._connect()) as conn:
            rows = conn.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM feedback WHERE at >= ? ORDER BY at, id",
                (_epoch(since),),
            ).fetchall()
        return [FeedbackEvent(_utc(row[0]), *row[1:]) for row in rows]

    def feedback_summary(self) -> dict[tuple[str, str], ReaderCounts]:
        return self._summary("", ())

    def reader_signals(self, query: str) -> dict[str, ReaderCounts]:
        found = self._summary("WHERE query_norm = ?", (normal_query(query),))
        return {doc_id: counts for (_, doc_id), counts in found.items()}

    def _summary(self, where: str, params: tuple[str, ...]) -> dict[tuple[str, str], ReaderCounts]:
        with closing(self._connect()) as conn:
            votes = conn.execute(_VOTES_SQL.format(where=where), params).fetchall()
            opens = conn.execute(_OPENS_SQL.format(where=where), params).fetchall()
            typed: dict[str, str] = dict(
                conn.execute(_TYPED_SQL.format(where=where), params * 2).fetchall()
            )
        return merge_counts(votes, opens, typed)

    def voter_secret(self) -> bytes:
        if self._secret is None:
            with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
                conn.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('voter_secret', ?)",
                    (new_voter_secret(),),
                )
                [value] = conn.execute(
                    "SELECT value FROM meta WHERE key = 'voter_secret'"
                ).fetchone()
            self._secret = bytes.fromhex(value)
        return self._secret

    def forget_before(self, when: datetime) -> int:
        with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
            gone = conn.execute("DELETE FROM searches WHERE at < ?", (_epoch(when),)).rowcount
            gone += conn.execute("DELETE FROM opens WHERE at < ?", (_epoch(when),)).rowcount
            gone += conn.execute("DELETE FROM feedback WHERE at < ?", (_epoch(when),)).rowcount
        return int(gone)

    def forget_person(self, employee: str, voters: Sequence[str], terms: Sequence[str]) -> int:
        with closing(self._connect()) as conn, sqlite_files.write_transaction(conn):
            searches = _naming(conn.execute("SELECT search_id, query FROM searches"), terms)
            searches += [
                r[0]
                for r in conn.execute(
                    "SELECT search_id FROM searches WHERE employee = ?", (employee,)
                )
            ]
            votes = _naming(conn.execute("SELECT id, query FROM feedback"), terms)
            gone = conn.execute("DELETE FROM opens WHERE employee = ?", (employee,)).rowcount
            gone += conn.execute("DELETE FROM feedback WHERE employee = ?", (employee,)).rowcount
            for voter in voters:
                gone += conn.execute("DELETE FROM feedback WHERE voter = ?", (voter,)).rowcount
            for search_id in set(searches):
                gone += conn.execute("DELETE FROM opens WHERE search_id = ?", (search_id,)).rowcount
                gone += conn.execute(
                    "DELETE FROM searches WHERE search_id = ?", (search_id,)
                ).rowcount
            for vote_id in votes:
                gone += conn.execute("DELETE FROM feedback WHERE id = ?", (vote_id,)).rowcount
        return int(gone)

    def close(self) -> None:
        """Nothing is held open between calls."""


def _naming(rows: Iterable[Sequence[Any]], terms: Sequence[str]) -> list[Any]:
    """The first column of the (key, query) rows whose query contains one of `terms`,
    ignoring case (Python's casefold, which SQLite's lower() is not beyond ASCII)."""
    folded = [t.casefold() for t in terms if t]
    return [key for key, query in rows if any(t in str(query).casefold() for t in folded)]


_FEEDBACK_COLUMNS = "at, query, doc_id, vote, voter, search_id, employee"
# Each voter's latest vote per (normalised query, document), counted by direction; the id
# breaks a tie between two votes in the same microsecond (the later insert wins).
_VOTES_SQL = """
SELECT query_norm, doc_id, SUM(vote > 0), SUM(vote < 0) FROM (
    SELECT query_norm, doc_id, vote,
           ROW_NUMBER() OVER (PARTITION BY query_norm, doc_id, voter ORDER BY at DESC, id DESC)
               AS newest
    FROM feedback {where}
) WHERE newest = 1 GROUP BY query_norm, doc_id
"""
# Distinct openers of a document from a query's searches: the employee where the policy kept
# one, else the search itself.
_OPENS_SQL = """
SELECT s.query_norm, o.doc_id,
       COUNT(DISTINCT COALESCE('e:' || COALESCE(o.employee, s.employee), 's:' || s.search_id))
FROM opens o JOIN searches s ON s.search_id = o.search_id
{where} GROUP BY s.query_norm, o.doc_id
"""
# The query as most recently typed for each normalised form (a vote or a search).
_TYPED_SQL = """
SELECT query_norm, query FROM (
    SELECT query_norm, query, ROW_NUMBER() OVER (PARTITION BY query_norm ORDER BY at DESC)
        AS newest
    FROM (SELECT query_norm, query, at FROM feedback {where}
          UNION ALL SELECT query_norm, query, at FROM searches {where})
) WHERE newest = 1
"""


def _upgrade(conn: sqlite3.Connection) -> None:
    """Format 1 (or nothing) to 2, in the caller's transaction: the old rows are kept and the
    old searches' normalised queries filled in."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(searches)")}
    if "query_norm" not in columns:
        conn.execute("ALTER TABLE searches ADD COLUMN query_norm TEXT")
    for statement in _FORMAT_2.split(";"):
        if statement.strip():
            conn.execute(statement)
    old = conn.execute("SELECT search_id, query FROM searches WHERE query_norm IS NULL").fetchall()
    conn.executemany(
        "UPDATE searches SET query_norm = ? WHERE search_id = ?",
        [(normal_query(query), search_id) for search_id, query in old],
    )
    conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
