"""The search log in PostgreSQL: `PgSearchLog`, the same contract as `SqliteSearchLog`.

Chosen by a database URL (`KB_DATABASE_URL`), in the same database as the knowledge base; its
tables are `analytics_searches` and `analytics_opens`, created by the "analytics" part's
migrations (`kb.db.postgres.upgrade`, run when the log is opened). Each batch is one short
transaction of INSERTs, so any number of replicas record at once without waiting for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from kb.db.postgres import Migration, open_pool, redact, require_schema, upgrade
from kb.searchlog.base import Event, OpenEvent, SearchEvent, search_from_row, search_params

PART = "analytics"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE analytics_searches (
    search_id TEXT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    query TEXT NOT NULL,
    mode TEXT NOT NULL,
    filters TEXT NOT NULL DEFAULT '{}',
    k INTEGER NOT NULL,
    page_offset INTEGER NOT NULL,
    n_hits INTEGER NOT NULL,
    best_score DOUBLE PRECISION,
    hits TEXT NOT NULL DEFAULT '[]',
    origin TEXT NOT NULL,
    employee TEXT
);
CREATE INDEX analytics_searches_at ON analytics_searches (at);
CREATE TABLE analytics_opens (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    doc_id TEXT NOT NULL,
    search_id TEXT,
    employee TEXT
);
CREATE UNIQUE INDEX analytics_opens_once ON analytics_opens (search_id, doc_id)
    WHERE search_id IS NOT NULL;
CREATE INDEX analytics_opens_at ON analytics_opens (at);
""",
    ),
)

_SEARCH_COLUMNS = (
    "search_id, at, query, mode, filters, k, page_offset, n_hits, best_score, hits, origin, "
    "employee"
)


class PgSearchLog:
    """Searches and opens in PostgreSQL, through a small pool (the writer thread and the
    report's reads)."""

    def __init__(self, url: str, *, pool_size: int = 2) -> None:
        self.location = redact(url)
        self._pool = open_pool(url, max_size=pool_size)
        try:
            with self._pool.connection() as conn:
                upgrade(conn, PART, MIGRATIONS)
                require_schema(conn, PART, MIGRATIONS)
        except BaseException:
            self._pool.close()
            raise

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        searches = [e for e in events if isinstance(e, SearchEvent)]
        opens = [e for e in events if isinstance(e, OpenEvent)]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if searches:
                cursor.executemany(
                    f"INSERT INTO analytics_searches ({_SEARCH_COLUMNS}) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (search_id) DO NOTHING",
                    [(e.search_id, e.at, *search_params(e)) for e in searches],
                )
            if opens:
                cursor.executemany(
                    "INSERT INTO analytics_opens (at, doc_id, search_id, employee) "
                    "VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (search_id, doc_id) WHERE search_id IS NOT NULL DO NOTHING",
                    [(e.at, e.doc_id, e.search_id, e.employee) for e in opens],
                )

    def searches(self, since: datetime) -> list[SearchEvent]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_SEARCH_COLUMNS} FROM analytics_searches WHERE at >= %s "
                "ORDER BY at, search_id",
                (since,),
            ).fetchall()
        return [search_from_row(row[0], row[1].astimezone(UTC), row[2:]) for row in rows]

    def opens(self, since: datetime) -> list[OpenEvent]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT at, doc_id, search_id, employee FROM analytics_opens WHERE at >= %s "
                "ORDER BY at, id",
                (since,),
            ).fetchall()
        return [
            OpenEvent(at.astimezone(UTC), doc_id, search_id, who)
            for at, doc_id, search_id, who in rows
        ]

    def forget_before(self, when: datetime) -> int:
        with self._pool.connection() as conn, conn.transaction():
            gone = conn.execute("DELETE FROM analytics_searches WHERE at < %s", (when,)).rowcount
            gone += conn.execute("DELETE FROM analytics_opens WHERE at < %s", (when,)).rowcount
        return int(gone)

    def close(self) -> None:
        self._pool.close()


__all__ = ["MIGRATIONS", "PART", "PgSearchLog"]
