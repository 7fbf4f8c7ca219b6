"""The recommender's state in SQLite: `CatalogStore` keeps the validated catalogue and the
events in the kb home folder's own file, `<home>/catalog.sqlite`."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from kb.db import sqlite as sqlite_files
from recommender.catalog.types import RawCatalog
from recommender.state.base import (
    EVENT_COLUMNS,
    SCHEMA_VERSION,
    catalog_rows,
    event_from_row,
    event_params,
    events_query,
    now_iso,
    raw_from_rows,
)
from recommender.state.events import EVENT_KINDS, Event

STORE_FILE = "catalog.sqlite"

_KINDS_SQL = ", ".join(f"'{kind}'" for kind in EVENT_KINDS)
_EVENTS_TABLE = f"""
CREATE TABLE IF NOT EXISTS {{name}} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ({_KINDS_SQL})),
    employee TEXT NOT NULL,
    module TEXT,
    score REAL,
    doc_id TEXT,
    rating INTEGER,
    details TEXT NOT NULL DEFAULT '{{{{}}}}',
    created_at TEXT NOT NULL,
    cycle TEXT
)"""
_EVENT_INDEXES = (
    "CREATE INDEX IF NOT EXISTS events_employee ON events (employee)",
    "CREATE INDEX IF NOT EXISTS events_cycle ON events (cycle)",
)
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS catalog_entries (
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, position)
)""",
    _EVENTS_TABLE.format(name="events"),
    *_EVENT_INDEXES,
)
# Version 1 -> 2: SQLite cannot alter a CHECK constraint, so the events table is rebuilt with
# the new kinds and the `cycle` column, every row copied with its id, and the AUTOINCREMENT
# counter carried over (renaming the table renames its counter), all in one transaction.
_MIGRATE_1_TO_2 = (
    _EVENTS_TABLE.format(name="events_v2"),
    "INSERT INTO events_v2 (id, kind, employee, module, score, doc_id, rating, details,"
    " created_at) SELECT id, kind, employee, module, score, doc_id, rating, details,"
    " created_at FROM events ORDER BY id",
    "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence"
    " WHERE name = 'events'), 0)) WHERE name = 'events_v2'",
    "DROP TABLE events",
    "ALTER TABLE events_v2 RENAME TO events",
    *_EVENT_INDEXES,
    "UPDATE meta SET value = '2' WHERE key = 'schema_version'",
)
# Version 2 -> 3: the kinds `followup` and `kpi`; the same rebuild, the `cycle` column copied.
# (A version 1 store is rebuilt once with every kind, then marked 3.)
_MIGRATE_2_TO_3 = (
    _EVENTS_TABLE.format(name="events_v3"),
    "INSERT INTO events_v3 (id, kind, employee, module, score, doc_id, rating, details,"
    " created_at, cycle) SELECT id, kind, employee, module, score, doc_id, rating, details,"
    " created_at, cycle FROM events ORDER BY id",
    "UPDATE sqlite_sequence SET seq = max(seq, coalesce((SELECT seq FROM sqlite_sequence"
    " WHERE name = 'events'), 0)) WHERE name = 'events_v3'",
    "DROP TABLE events",
    "ALTER TABLE events_v3 RENAME TO events",
    *_EVENT_INDEXES,
    "UPDATE meta SET value = '3' WHERE key = 'schema_version'",
)


class CatalogStore:
    """Owns one SQLite connection; safe to open many times over the same home folder."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite_files.connect(path)
        with self._transaction():  # one opener at a time: a second one finds it done
            self._db.execute(_SCHEMA[0])
            row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:  # a new store
                for statement in _SCHEMA[1:]:
                    self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) == 1:  # rebuilt with every kind at once
                for statement in _MIGRATE_1_TO_2:
                    self._db.execute(statement)
                self._db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
            elif int(row[0]) == 2:
                for statement in _MIGRATE_2_TO_3:
                    self._db.execute(statement)

    @classmethod
    def open(cls, home: Path) -> CatalogStore:
        return cls(home / STORE_FILE)

    def _transaction(self) -> AbstractContextManager[None]:
        return sqlite_files.write_transaction(self._db)

    # -- catalogue ----------------------------------------------------------------------------

    def save_catalog(self, raw: RawCatalog, source: str) -> None:
        """Replace the stored catalogue by a validated one, all or nothing."""
        with self._transaction():
            self._db.execute("DELETE FROM catalog_entries")
            self._db.executemany(
                "INSERT INTO catalog_entries (kind, position, entry_id, data) VALUES (?, ?, ?, ?)",
                catalog_rows(raw),
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
        rows = self._db.execute(
            "SELECT kind, data FROM catalog_entries ORDER BY kind, position"
        ).fetchall()
        return raw_from_rows(rows)

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- events -------------------------------------------------------------------------------

    def add_event(self, event: Event) -> Event:
        return self.add_events([event])[0]

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        """Record all of `events` in one transaction (all or none); returns them with ids."""
        added = []
        with self._transaction():
            for event in events:
                cursor = self._db.execute(
                    "INSERT INTO events (kind, employee, module, score, doc_id, rating, details,"
                    " created_at, cycle) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    event_params(event),
                )
                added.append(replace(event, id=cursor.lastrowid))
        return added

    def events(self, employee: str | None = None, cycle: str | None = None) -> list[Event]:
        """Events in the order they happened (the order they are re-applied in), optionally
        only one employee's or one training cycle's."""
        where, params = events_query("?", employee, cycle)
        # EVENT_COLUMNS and the clauses are constants: values go as parameters
        rows = self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM events{where} ORDER BY id", params
        ).fetchall()
        return [event_from_row(row) for row in rows]

    def rewrite_events(
        self, remove: Sequence[int], details: Mapping[int, Mapping[str, Any]]
    ) -> int:
        changed = 0
        with self._transaction():
            for event_id in remove:
                changed += self._db.execute("DELETE FROM events WHERE id = ?", (event_id,)).rowcount
            for event_id, new in details.items():
                changed += self._db.execute(
                    "UPDATE events SET details = ? WHERE id = ?", (json.dumps(dict(new)), event_id)
                ).rowcount
        return changed

    def forget_events_before(self, before: str) -> int:
        with self._transaction():
            cursor = self._db.execute("DELETE FROM events WHERE created_at < ?", (before,))
        return int(cursor.rowcount)

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
