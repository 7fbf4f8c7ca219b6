"""The recommender's own SQLite file, `<home>/catalog.sqlite`: the validated catalogue + events.

The catalogue is replaced in one transaction, so a failed load leaves the previous one in
force; events live in their own table and outlive every reload.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from recommender.catalog import CATALOG_FILES, RawCatalog
from recommender.events import Event

STORE_FILE = "catalog.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS catalog_entries (
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, position)
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('completion', 'rating')),
    employee TEXT NOT NULL,
    module TEXT,
    score REAL,
    doc_id TEXT,
    rating INTEGER,
    details TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_employee ON events (employee);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class CatalogStore:
    """Owns one SQLite connection; safe to open many times over the same home folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, isolation_level=None)  # explicit transactions only
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._db.execute(statement)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    @classmethod
    def open(cls, home: Path) -> CatalogStore:
        return cls(home / STORE_FILE)

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    # -- catalogue ----------------------------------------------------------------------------

    def save_catalog(self, raw: RawCatalog, source: str) -> None:
        """Replace the stored catalogue by a validated one, all or nothing."""
        with self._transaction():
            self._db.execute("DELETE FROM catalog_entries")
            for kind in CATALOG_FILES:
                for position, entry in enumerate(raw.get(kind) or []):
                    self._db.execute(
                        "INSERT INTO catalog_entries (kind, position, entry_id, data)"
                        " VALUES (?, ?, ?, ?)",
                        (kind, position, entry["id"], json.dumps(entry, default=str)),
                    )
            for key, value in (("catalog_source", source), ("catalog_loaded_at", now_iso())):
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def load_raw(self) -> RawCatalog | None:
        """The stored catalogue's entries, or None when none was ever loaded."""
        if self.meta("catalog_loaded_at") is None:
            return None
        raw: RawCatalog = {kind: [] for kind in CATALOG_FILES}
        rows = self._db.execute(
            "SELECT kind, data FROM catalog_entries ORDER BY kind, position"
        ).fetchall()
        for kind, data in rows:
            raw[kind].append(json.loads(data))
        return raw

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- events -------------------------------------------------------------------------------

    def add_event(self, event: Event) -> Event:
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO events (kind, employee, module, score, doc_id, rating, details,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    event.kind,
                    event.employee,
                    event.module,
                    event.score,
                    event.doc_id,
                    event.rating,
                    json.dumps(event.details),
                    event.created_at,
                ),
            )
        return replace(event, id=cursor.lastrowid)

    def events(self, employee: str | None = None) -> list[Event]:
        """Events in the order they happened (the order they are re-applied in)."""
        sql = (
            "SELECT id, kind, employee, module, score, doc_id, rating, details, created_at"
            " FROM events"
        )
        params: tuple[Any, ...] = ()
        if employee is not None:
            sql += " WHERE employee = ?"
            params = (employee,)
        rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [
            Event(
                id=row[0],
                kind=row[1],
                employee=row[2],
                module=row[3],
                score=row[4],
                doc_id=row[5],
                rating=row[6],
                details=json.loads(row[7]),
                created_at=row[8],
            )
            for row in rows
        ]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> CatalogStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
