"""The search log in PostgreSQL: `PgSearchLog`, the same contract as `SqliteSearchLog`.

Chosen by a database URL (`KB_DATABASE_URL`), in the same database as the knowledge base; its
tables are `analytics_searches`, `analytics_opens`, `analytics_feedback` (readers' votes) and
`analytics_meta` (the secret of the voters' pseudonyms), created by the "analytics" part's
migrations (`kb.db.postgres.upgrade`, run when the log is opened). Each batch is one short
transaction of INSERTs, so any number of replicas record at once without waiting for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from kb.db.postgres import Migration, open_schema_pool, redact
from kb.searchlog.base import (
    Event,
    FeedbackEvent,
    OpenEvent,
    ReaderCounts,
    SearchEvent,
    merge_counts,
    new_voter_secret,
    normal_query,
    search_from_row,
    search_params,
)

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
    # Readers' votes; searches by normalised query (the old searches' are filled in by
    # `PgSearchLog` when it opens the log: the normalisation is Python's).
    Migration(
        2,
        """
CREATE TABLE IF NOT EXISTS analytics_feedback (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    query TEXT NOT NULL,
    query_norm TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    vote SMALLINT NOT NULL CHECK (vote IN (-1, 0, 1)),
    voter TEXT NOT NULL,
    search_id TEXT,
    employee TEXT
);
CREATE INDEX IF NOT EXISTS analytics_feedback_votes
    ON analytics_feedback (query_norm, doc_id, voter, at);
CREATE INDEX IF NOT EXISTS analytics_feedback_at ON analytics_feedback (at);
CREATE TABLE IF NOT EXISTS analytics_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
ALTER TABLE analytics_searches ADD COLUMN IF NOT EXISTS query_norm TEXT;
CREATE INDEX IF NOT EXISTS analytics_searches_query_norm ON analytics_searches (query_norm);
""",
    ),
)

_FEEDBACK_COLUMNS = "at, query, doc_id, vote, voter, search_id, employee"
_VOTES_SQL = """
SELECT query_norm, doc_id, COUNT(*) FILTER (WHERE vote > 0), COUNT(*) FILTER (WHERE vote < 0)
FROM (
    SELECT DISTINCT ON (query_norm, doc_id, voter) query_norm, doc_id, vote
    FROM analytics_feedback {where}
    ORDER BY query_norm, doc_id, voter, at DESC, id DESC
) AS latest GROUP BY query_norm, doc_id
"""
_OPENS_SQL = """
SELECT s.query_norm, o.doc_id,
       COUNT(DISTINCT COALESCE('e:' || COALESCE(o.employee, s.employee), 's:' || s.search_id))
FROM analytics_opens o JOIN analytics_searches s ON s.search_id = o.search_id
{where} GROUP BY s.query_norm, o.doc_id
"""
_TYPED_SQL = """
SELECT DISTINCT ON (query_norm) query_norm, query FROM (
    SELECT query_norm, query, at FROM analytics_feedback {where}
    UNION ALL SELECT query_norm, query, at FROM analytics_searches {where}
) AS typed ORDER BY query_norm, at DESC
"""

_SEARCH_COLUMNS = (
    "search_id, at, query, mode, filters, k, page_offset, n_hits, best_score, hits, origin, "
    "employee"
)


class PgSearchLog:
    """Searches and opens in PostgreSQL, through a small pool (the writer thread and the
    report's reads)."""

    def __init__(self, url: str, *, pool_size: int = 2) -> None:
        self.location = redact(url)
        self._pool = open_schema_pool(
            url, PART, MIGRATIONS, max_size=pool_size, prepare=_fill_query_norm
        )
        self._secret: bytes | None = None

    def write(self, events: Sequence[Event]) -> None:
        if not events:
            return
        searches = [e for e in events if isinstance(e, SearchEvent)]
        opens = [e for e in events if isinstance(e, OpenEvent)]
        votes = [e for e in events if isinstance(e, FeedbackEvent)]
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            if searches:
                cursor.executemany(
                    f"INSERT INTO analytics_searches ({_SEARCH_COLUMNS}, query_norm) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (search_id) DO NOTHING",
                    [
                        (e.search_id, e.at, *search_params(e), normal_query(e.query))
                        for e in searches
                    ],
                )
            if opens:
                cursor.executemany(
                    "INSERT INTO analytics_opens (at, doc_id, search_id, employee) "
                    "VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (search_id, doc_id) WHERE search_id IS NOT NULL DO NOTHING",
                    [(e.at, e.doc_id, e.search_id, e.employee) for e in opens],
                )
            if votes:
                cursor.executemany(
                    f"INSERT INTO analytics_feedback ({_FEEDBACK_COLUMNS}, query_norm) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        (
                            e.at,
                            e.query,
                            e.doc_id,
                            e.vote,
                            e.voter,
                            e.search_id,
                            e.employee,
                            normal_query(e.query),
                        )
                        for e in votes
                    ],
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

    def feedback(self, since: datetime) -> list[FeedbackEvent]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {_FEEDBACK_COLUMNS} FROM analytics_feedback WHERE at >= %s "
                "ORDER BY at, id",
                (since,),
            ).fetchall()
        return [FeedbackEvent(row[0].astimezone(UTC), *row[1:]) for row in rows]

    def feedback_summary(self) -> dict[tuple[str, str], ReaderCounts]:
        return self._summary("", ())

    def reader_signals(self, query: str) -> dict[str, ReaderCounts]:
        found = self._summary("WHERE query_norm = %s", (normal_query(query),))
        return {doc_id: counts for (_, doc_id), counts in found.items()}

    def _summary(self, where: str, params: tuple[str, ...]) -> dict[tuple[str, str], ReaderCounts]:
        with self._pool.connection() as conn:
            votes = conn.execute(_VOTES_SQL.format(where=where), params).fetchall()
            opens = conn.execute(_OPENS_SQL.format(where=where), params).fetchall()
            typed: dict[str, str] = dict(
                conn.execute(_TYPED_SQL.format(where=where), params * 2).fetchall()
            )
        return merge_counts(votes, opens, typed)

    def voter_secret(self) -> bytes:
        if self._secret is None:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO analytics_meta (key, value) VALUES ('voter_secret', %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (new_voter_secret(),),
                )
                row = conn.execute(
                    "SELECT value FROM analytics_meta WHERE key = 'voter_secret'"
                ).fetchone()
            assert row is not None
            self._secret = bytes.fromhex(row[0])
        return self._secret

    def forget_before(self, when: datetime) -> int:
        with self._pool.connection() as conn, conn.transaction():
            gone = conn.execute("DELETE FROM analytics_searches WHERE at < %s", (when,)).rowcount
            gone += conn.execute("DELETE FROM analytics_opens WHERE at < %s", (when,)).rowcount
            gone += conn.execute("DELETE FROM analytics_feedback WHERE at < %s", (when,)).rowcount
        return int(gone)

    def forget_person(self, employee: str, voters: Sequence[str], terms: Sequence[str]) -> int:
        folded = [t.casefold() for t in terms if t]

        def naming(rows: Sequence[Any]) -> list[Any]:  # casefold, as the SQLite log does
            return [key for key, query in rows if any(t in str(query).casefold() for t in folded)]

        with self._pool.connection() as conn, conn.transaction():
            searches = naming(
                conn.execute("SELECT search_id, query FROM analytics_searches").fetchall()
            )
            searches += [
                row[0]
                for row in conn.execute(
                    "SELECT search_id FROM analytics_searches WHERE employee = %s", (employee,)
                ).fetchall()
            ]
            votes = naming(conn.execute("SELECT id, query FROM analytics_feedback").fetchall())
            gone = conn.execute(
                "DELETE FROM analytics_opens WHERE employee = %s OR search_id = ANY(%s)",
                (employee, list(set(searches))),
            ).rowcount
            gone += conn.execute(
                "DELETE FROM analytics_searches WHERE search_id = ANY(%s)", (list(set(searches)),)
            ).rowcount
            gone += conn.execute(
                "DELETE FROM analytics_feedback WHERE employee = %s OR voter = ANY(%s) "
                "OR id = ANY(%s)",
                (employee, list(voters), votes),
            ).rowcount
        return int(gone)

    def close(self) -> None:
        self._pool.close()


def _fill_query_norm(conn: Any) -> None:
    """The normalised query of searches written before migration 2 (or by an older replica)."""
    rows = conn.execute(
        "SELECT search_id, query FROM analytics_searches WHERE query_norm IS NULL"
    ).fetchall()
    if rows:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE analytics_searches SET query_norm = %s WHERE search_id = %s",
                [(normal_query(query), search_id) for search_id, query in rows],
            )


__all__ = ["MIGRATIONS", "PART", "PgSearchLog"]
