"""The source registry in PostgreSQL: `PgSourceRegistry`, the same contract as
`SqliteSourceRegistry`, shared by every replica and `kb worker`.

Its tables (`kb_sources`, `kb_source_files`) are the "kb_sources" part's migrations
(`kb.db.postgres.upgrade`, run when the registry is opened and by `kb db upgrade`). A claim is
one UPDATE ... WHERE nobody else holds it (`FOR UPDATE SKIP LOCKED` picks the due source), so
two workers never sync one source at once.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kb.db.postgres import Migration, open_schema_pool, redact
from kb.sources.base import (
    CLAIM_SECONDS,
    SOURCE_COLUMNS,
    FileRecord,
    Source,
    SourceError,
    SourceSpec,
    finish_values,
    source_from_row,
    spec_values,
)

PART = "kb_sources"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE kb_sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    defaults TEXT NOT NULL DEFAULT '[]',
    link TEXT,
    every BIGINT,
    state TEXT NOT NULL DEFAULT '{}',
    last_sync_at DOUBLE PRECISION, last_ok_at DOUBLE PRECISION, error TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    failures TEXT NOT NULL DEFAULT '[]',
    next_run_at DOUBLE PRECISION,
    claimed_by TEXT,
    claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE kb_source_files (
    source TEXT NOT NULL REFERENCES kb_sources (name) ON DELETE CASCADE,
    path TEXT NOT NULL,
    origin TEXT NOT NULL,
    revision TEXT,
    PRIMARY KEY (source, path)
);
""",
    ),
)

_SELECT = (
    f"SELECT {SOURCE_COLUMNS}, "
    "(SELECT COUNT(*) FROM kb_source_files f WHERE f.source = s.name) FROM kb_sources s"
)


def _source(row: Sequence[Any]) -> Source:
    return source_from_row(row[:-1], int(row[-1]))


class PgSourceRegistry:
    """`kb.sources.base.SourceRegistry` in PostgreSQL; thread-safe (a pool of connections)."""

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.location = redact(url)
        self._pool = open_schema_pool(url, PART, MIGRATIONS, max_size=pool_size)

    def close(self) -> None:
        self._pool.close()

    def _one(self, conn: Any, where: str, params: Sequence[Any]) -> Source | None:
        row = conn.execute(f"{_SELECT} WHERE {where}", params).fetchone()
        return None if row is None else _source(row)

    def add(self, spec: SourceSpec) -> Source:
        now = time.time()
        with self._pool.connection() as conn, conn.transaction():
            inserted = conn.execute(
                "INSERT INTO kb_sources (name, kind, location, options, defaults, link, every, "
                "next_run_at, created_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (name) DO NOTHING RETURNING name",
                (*spec_values(spec), None if spec.every is None else now, now),
            ).fetchone()
            if inserted is None:
                raise SourceError(
                    f"There is already a source called {spec.name}: choose another name, or "
                    f"remove it first (kb source rm {spec.name})."
                )
            source = self._one(conn, "s.name = %s", (spec.name,))
        assert source is not None
        return source

    def update(self, spec: SourceSpec) -> Source:
        with self._pool.connection() as conn, conn.transaction():
            cursor = conn.execute(
                "UPDATE kb_sources SET kind = %s, location = %s, options = %s, defaults = %s, "
                "link = %s, every = %s WHERE name = %s",
                (*spec_values(spec)[1:], spec.name),
            )
            if cursor.rowcount == 0:
                raise SourceError(f"There is no source called {spec.name}: see kb source list.")
            source = self._one(conn, "s.name = %s", (spec.name,))
        assert source is not None
        return source

    def get(self, name: str) -> Source | None:
        with self._pool.connection() as conn:
            return self._one(conn, "s.name = %s", (name,))

    def list(self) -> list[Source]:
        with self._pool.connection() as conn:
            rows = conn.execute(f"{_SELECT} ORDER BY s.name").fetchall()
        return [_source(row) for row in rows]

    def remove(self, name: str) -> bool:
        with self._pool.connection() as conn:
            return conn.execute("DELETE FROM kb_sources WHERE name = %s", (name,)).rowcount > 0

    def _take(
        self,
        where: str,
        params: Sequence[Any],
        owner: str,
        lease: float,
        takeover: str | None = None,
    ) -> Source | None:
        now = time.time()
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                f"SELECT name FROM kb_sources WHERE {where} AND (claimed_by IS NULL OR "
                "claimed_by IN (%s, %s) OR claimed_until < %s) ORDER BY next_run_at LIMIT 1 "
                "FOR UPDATE SKIP LOCKED",
                (*params, owner, takeover or owner, now),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE kb_sources SET claimed_by = %s, claimed_until = %s WHERE name = %s",
                (owner, now + lease, row[0]),
            )
            return self._one(conn, "s.name = %s", (row[0],))

    def claim(
        self,
        name: str,
        owner: str,
        *,
        lease: float = CLAIM_SECONDS,
        takeover: str | None = None,
    ) -> Source | None:
        return self._take("name = %s", (name,), owner, lease, takeover)

    def claim_due(self, owner: str, *, lease: float = CLAIM_SECONDS) -> Source | None:
        return self._take(
            "next_run_at IS NOT NULL AND next_run_at <= %s", (time.time(),), owner, lease
        )

    def request_sync(self, name: str) -> bool:
        with self._pool.connection() as conn:
            cursor = conn.execute(
                "UPDATE kb_sources SET next_run_at = %s WHERE name = %s", (time.time(), name)
            )
            return cursor.rowcount > 0

    def finish(
        self,
        name: str,
        owner: str,
        *,
        state: Mapping[str, Any] | None,
        error: str | None,
        summary: Mapping[str, Any],
        failures: Sequence[Mapping[str, str]],
    ) -> None:
        with self._pool.connection() as conn, conn.transaction():
            source = self._one(conn, "s.name = %s", (name,))
            if source is None:  # removed while it synced
                return
            values = finish_values(source, state, error, summary, failures, time.time())
            conn.execute(
                "UPDATE kb_sources SET state = %s, last_sync_at = %s, last_ok_at = %s, "
                "error = %s, summary = %s, failures = %s, next_run_at = %s, claimed_by = NULL, "
                "claimed_until = 0 WHERE name = %s AND (claimed_by IS NULL OR claimed_by = %s)",
                (*values, name, owner),
            )

    def files(self, name: str) -> dict[str, FileRecord]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT path, origin, revision FROM kb_source_files WHERE source = %s", (name,)
            ).fetchall()
        return {path: FileRecord(origin, revision) for path, origin, revision in rows}

    def put_file(self, name: str, path: str, record: FileRecord) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "INSERT INTO kb_source_files (source, path, origin, revision) "
                "VALUES (%s,%s,%s,%s) ON CONFLICT (source, path) DO UPDATE SET "
                "origin = excluded.origin, revision = excluded.revision",
                (name, path, record.origin, record.revision),
            )

    def drop_file(self, name: str, path: str) -> None:
        with self._pool.connection() as conn:
            conn.execute(
                "DELETE FROM kb_source_files WHERE source = %s AND path = %s", (name, path)
            )


__all__ = ["MIGRATIONS", "PART", "PgSourceRegistry"]
