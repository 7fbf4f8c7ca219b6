"""The recommender's state: the validated catalogue + events, behind `RecommenderStore`.

`CatalogStore` keeps it in the kb home folder's own SQLite file, `<home>/catalog.sqlite`;
`recommender.pg_store.PgCatalogStore` in PostgreSQL. In both, the catalogue is replaced in one
transaction, so a failed load leaves the previous one in force; events live in their own table
and outlive every reload.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from kb import sqlite_files
from recommender.catalog import CATALOG_FILES, STORED_KINDS, RawCatalog
from recommender.events import EVENT_KINDS, Event

STORE_FILE = "catalog.sqlite"
# 1: completions and ratings; 2: the kinds of training cycles, and each event's cycle.
SCHEMA_VERSION = 2

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


# The columns `event_from_row` reads, in its order (shared by both stores' SELECTs).
EVENT_COLUMNS = "id, kind, employee, module, score, doc_id, rating, details, created_at, cycle"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RecommenderStore(Protocol):
    """Where the recommender keeps its state; `CatalogStore` (SQLite) and `PgCatalogStore`."""

    def save_catalog(self, raw: RawCatalog, source: str) -> None:
        """Replace the stored catalogue by a validated one, all or nothing."""
        ...

    def load_raw(self) -> RawCatalog | None:
        """The stored catalogue's entries, or None when none was ever loaded."""
        ...

    def meta(self, key: str) -> str | None: ...

    def add_event(self, event: Event) -> Event:
        """Record `event`; returns it with the id the store gave it."""
        ...

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        """Record all of `events` in one transaction (all or none); returns them with ids."""
        ...

    def events(self, employee: str | None = None, cycle: str | None = None) -> list[Event]:
        """Events in the order they happened (the order they are re-applied in), optionally
        only one employee's or one training cycle's."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def catalog_rows(raw: RawCatalog) -> Iterator[tuple[str, int, str, str]]:
    """(kind, position, entry id, entry as JSON) for each catalogue entry, in file order."""
    for kind in STORED_KINDS:
        for position, entry in enumerate(raw.get(kind) or []):
            yield kind, position, entry["id"], json.dumps(entry, default=str)


def raw_from_rows(rows: Iterable[Sequence[Any]]) -> RawCatalog:
    """The catalogue from (kind, JSON) rows in position order: the four files always, the
    optional ones (cycles) when they hold entries, in the order `read_catalog_dir` gives."""
    raw: RawCatalog = {kind: [] for kind in CATALOG_FILES}
    loaded: dict[str, list[Any]] = {}
    for kind, data in rows:
        loaded.setdefault(kind, []).append(json.loads(data))
    for kind in STORED_KINDS:
        if kind in loaded:
            raw[kind] = loaded[kind]
    return raw


def events_query(
    placeholder: str, employee: str | None, cycle: str | None
) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (possibly empty) and parameters of `events()`, for either store."""
    clauses, params = [], []
    for column, value in (("employee", employee), ("cycle", cycle)):
        if value is not None:
            clauses.append(f"{column} = {placeholder}")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def event_params(event: Event) -> tuple[Any, ...]:
    """The values of an event's INSERT, in the order of `EVENT_COLUMNS` without the id."""
    return (
        event.kind,
        event.employee,
        event.module,
        event.score,
        event.doc_id,
        event.rating,
        json.dumps(event.details),
        event.created_at,
        event.cycle,
    )


def event_from_row(row: Sequence[Any]) -> Event:
    """An `Event` from a row of `EVENT_COLUMNS`."""
    return Event(
        id=row[0],
        kind=row[1],
        employee=row[2],
        module=row[3],
        score=row[4],
        doc_id=row[5],
        rating=row[6],
        details=json.loads(row[7]),
        created_at=row[8],
        cycle=row[9],
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
            elif int(row[0]) == 1:
                for statement in _MIGRATE_1_TO_2:
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
