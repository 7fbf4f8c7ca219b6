"""The source registry in the home folder: `<home>/sources.sqlite`, shared by every process of
the machine (`kb serve`, the CLI). Writers take SQLite's write lock at once (BEGIN IMMEDIATE),
so a claim is decided by one process at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kb.db.sqlite import connect, write_transaction
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

DATABASE = "sources.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    defaults TEXT NOT NULL DEFAULT '[]',
    link TEXT,
    every INTEGER,
    state TEXT NOT NULL DEFAULT '{}',
    last_sync_at REAL, last_ok_at REAL, error TEXT,
    summary TEXT NOT NULL DEFAULT '{}',
    failures TEXT NOT NULL DEFAULT '[]',
    next_run_at REAL,
    claimed_by TEXT,
    claimed_until REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS source_files (
    source TEXT NOT NULL REFERENCES sources(name) ON DELETE CASCADE,
    path TEXT NOT NULL,
    origin TEXT NOT NULL,
    revision TEXT,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;
"""

_SELECT = (
    f"SELECT {SOURCE_COLUMNS}, (SELECT COUNT(*) FROM source_files f WHERE f.source = s.name) "
    "FROM sources s"
)


def _source(row: Sequence[Any]) -> Source:
    return source_from_row(row[:-1], int(row[-1]))


class SqliteSourceRegistry:
    """`kb.sources.base.SourceRegistry` in a SQLite file; thread-safe (one connection behind a
    lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(path, check_same_thread=False)
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def in_home(cls, home: Path) -> SqliteSourceRegistry:
        return cls(home / DATABASE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _one(self, where: str, params: Sequence[Any]) -> Source | None:
        row = self._db.execute(f"{_SELECT} WHERE {where}", params).fetchone()
        return None if row is None else _source(row)

    def add(self, spec: SourceSpec) -> Source:
        now = time.time()
        with self._lock, write_transaction(self._db):
            if self._one("s.name = ?", (spec.name,)) is not None:
                raise SourceError(
                    f"There is already a source called {spec.name}: choose another name, or "
                    f"remove it first (kb source rm {spec.name})."
                )
            self._db.execute(
                "INSERT INTO sources (name, kind, location, options, defaults, link, every, "
                "next_run_at, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (*spec_values(spec), None if spec.every is None else now, now),
            )
            source = self._one("s.name = ?", (spec.name,))
        assert source is not None
        return source

    def update(self, spec: SourceSpec) -> Source:
        with self._lock, write_transaction(self._db):
            cursor = self._db.execute(
                "UPDATE sources SET kind = ?, location = ?, options = ?, defaults = ?, "
                "link = ?, every = ? WHERE name = ?",
                (*spec_values(spec)[1:], spec.name),
            )
            if cursor.rowcount == 0:
                raise SourceError(f"There is no source called {spec.name}: see kb source list.")
            source = self._one("s.name = ?", (spec.name,))
        assert source is not None
        return source

    def get(self, name: str) -> Source | None:
        with self._lock:
            return self._one("s.name = ?", (name,))

    def list(self) -> list[Source]:
        with self._lock:
            rows = self._db.execute(f"{_SELECT} ORDER BY s.name").fetchall()
        return [_source(row) for row in rows]

    def remove(self, name: str) -> bool:
        with self._lock, write_transaction(self._db):
            return self._db.execute("DELETE FROM sources WHERE name = ?", (name,)).rowcount > 0

    def _take(
        self,
        where: str,
        params: Sequence[Any],
        owner: str,
        lease: float,
        takeover: str | None = None,
    ) -> Source | None:
        now = time.time()
        with self._lock, write_transaction(self._db):
            source = self._one(
                f"{where} AND (s.claimed_by IS NULL OR s.claimed_by IN (?, ?) "
                "OR s.claimed_until < ?) ORDER BY s.next_run_at LIMIT 1",
                (*params, owner, takeover or owner, now),
            )
            if source is None:
                return None
            self._db.execute(
                "UPDATE sources SET claimed_by = ?, claimed_until = ? WHERE name = ?",
                (owner, now + lease, source.name),
            )
        return source

    def claim(
        self,
        name: str,
        owner: str,
        *,
        lease: float = CLAIM_SECONDS,
        takeover: str | None = None,
    ) -> Source | None:
        return self._take("s.name = ?", (name,), owner, lease, takeover)

    def claim_due(self, owner: str, *, lease: float = CLAIM_SECONDS) -> Source | None:
        return self._take(
            "s.next_run_at IS NOT NULL AND s.next_run_at <= ?", (time.time(),), owner, lease
        )

    def request_sync(self, name: str) -> bool:
        with self._lock, write_transaction(self._db):
            cursor = self._db.execute(
                "UPDATE sources SET next_run_at = ? WHERE name = ?", (time.time(), name)
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
        with self._lock, write_transaction(self._db):
            source = self._one("s.name = ?", (name,))
            if source is None:  # removed while it synced
                return
            values = finish_values(source, state, error, summary, failures, time.time())
            self._db.execute(
                "UPDATE sources SET state = ?, last_sync_at = ?, last_ok_at = ?, error = ?, "
                "summary = ?, failures = ?, next_run_at = ?, claimed_by = NULL, "
                "claimed_until = 0 WHERE name = ? AND (claimed_by IS NULL OR claimed_by = ?)",
                (*values, name, owner),
            )

    def files(self, name: str) -> dict[str, FileRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT path, origin, revision FROM source_files WHERE source = ?", (name,)
            ).fetchall()
        return {path: FileRecord(origin, revision) for path, origin, revision in rows}

    def put_file(self, name: str, path: str, record: FileRecord) -> None:
        with self._lock, write_transaction(self._db):
            self._db.execute(
                "INSERT INTO source_files (source, path, origin, revision) VALUES (?,?,?,?) "
                "ON CONFLICT (source, path) DO UPDATE SET origin = excluded.origin, "
                "revision = excluded.revision",
                (name, path, record.origin, record.revision),
            )

    def drop_file(self, name: str, path: str) -> None:
        with self._lock, write_transaction(self._db):
            self._db.execute("DELETE FROM source_files WHERE source = ? AND path = ?", (name, path))


__all__ = ["DATABASE", "SqliteSourceRegistry"]
