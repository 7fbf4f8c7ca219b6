"""The recommender's state in PostgreSQL: `PgCatalogStore`, the same contract as `CatalogStore`.

Chosen by a database URL (`KB_DATABASE_URL` / `--database-url`), in the same database as the
knowledge base; its tables are prefixed `rec_` so that they never meet the kb's. Values are
stored as the SQLite store stores them (JSON as text, timestamps as the ISO strings events
carry), so both return the same. Many processes may share the database: events are single
INSERTs, and a catalogue reload takes a lock that serialises reloads without blocking readers
or event writers. psycopg is needed only here, through `kb.db.postgres`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any

from kb.db.postgres import (
    DatabaseError,
    Migration,
    connect,
    is_database_url,
    open_pool,
    redact,
    require_schema,
    schema_version,
    upgrade,
)
from recommender.catalog.types import RawCatalog
from recommender.state.base import (
    EVENT_COLUMNS,
    catalog_rows,
    event_from_row,
    event_params,
    events_query,
    now_iso,
    raw_from_rows,
)
from recommender.state.events import EVENT_KINDS, Event

PART = "recommender"
_KINDS_SQL = ", ".join(f"'{kind}'" for kind in EVENT_KINDS)
# The kinds migration 2 allowed, written out so that adding a kind never edits migration 2.
_KINDS_V2_SQL = "'completion', 'rating', 'cycle', 'assessment', 'survey', 'attendance'"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        """
CREATE TABLE rec_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE rec_catalog_entries (
    kind TEXT NOT NULL,
    position INTEGER NOT NULL,
    entry_id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (kind, position)
);
CREATE TABLE rec_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('completion', 'rating')),
    employee TEXT NOT NULL,
    module TEXT,
    score DOUBLE PRECISION,
    doc_id TEXT,
    rating INTEGER,
    details TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX rec_events_employee ON rec_events (employee);
INSERT INTO rec_meta (key, value) VALUES ('schema_version', '1');
""",
    ),
    # Training cycles: the new kinds of events, and the cycle each belongs to.
    Migration(
        2,
        f"""
ALTER TABLE rec_events DROP CONSTRAINT rec_events_kind_check;
ALTER TABLE rec_events ADD CONSTRAINT rec_events_kind_check CHECK (kind IN ({_KINDS_V2_SQL}));
ALTER TABLE rec_events ADD COLUMN cycle TEXT;
CREATE INDEX rec_events_cycle ON rec_events (cycle);
UPDATE rec_meta SET value = '2' WHERE key = 'schema_version';
""",
    ),
    # Follow-up evaluation: follow-up surveys scheduled for a cycle, and team KPIs.
    Migration(
        3,
        f"""
ALTER TABLE rec_events DROP CONSTRAINT rec_events_kind_check;
ALTER TABLE rec_events ADD CONSTRAINT rec_events_kind_check CHECK (kind IN ({_KINDS_SQL}));
UPDATE rec_meta SET value = '3' WHERE key = 'schema_version';
""",
    ),
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

LATEST = max(m.version for m in MIGRATIONS)


class PgCatalogStore:
    """Owns one PostgreSQL connection (autocommit; explicit transactions where it matters).

    Opening applies the recommender's migrations not yet applied (under `kb.db.postgres`'s advisory
    lock, so replicas starting together are safe) and refuses a schema newer than this code.
    """

    def __init__(self, database_url: str) -> None:
        self._where = redact(database_url)
        if not is_database_url(database_url):
            raise DatabaseError(
                f"{self._where} is not a PostgreSQL URL: give "
                "postgresql://user:password@host:port/database (KB_DATABASE_URL)."
            )
        self._db = connect(database_url)
        self._owns_connection = True
        try:
            if schema_version(self._db, PART) != LATEST:  # usually: already done
                upgrade(self._db, PART, MIGRATIONS)
                require_schema(self._db, PART, MIGRATIONS)  # a newer schema: refused
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(cls, database_url: str) -> PgCatalogStore:
        return cls(database_url)

    @classmethod
    def on_lent_connection(cls, conn: psycopg.Connection, where: str) -> PgCatalogStore:
        """A store over a connection lent by `PgCatalogPool` (schema already checked), which
        `close` gives back rather than closes."""
        store = cls.__new__(cls)
        store._where, store._db, store._owns_connection = where, conn, False
        return store

    def __repr__(self) -> str:
        return f"PgCatalogStore({self._where!r})"

    # -- catalogue ----------------------------------------------------------------------------

    def save_catalog(self, raw: RawCatalog, source: str) -> None:
        """Replace the stored catalogue by a validated one, all or nothing.

        EXCLUSIVE mode lets readers go on (they see the old catalogue until the commit) but
        makes a second reload wait, so that two reloads never interleave their rows.
        """
        with self._db.transaction():
            self._db.execute("LOCK TABLE rec_catalog_entries IN EXCLUSIVE MODE")
            self._db.execute("DELETE FROM rec_catalog_entries")
            with self._db.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO rec_catalog_entries (kind, position, entry_id, data)"
                    " VALUES (%s, %s, %s, %s)",
                    list(catalog_rows(raw)),
                )
            for key, value in (("catalog_source", source), ("catalog_loaded_at", now_iso())):
                self._db.execute(
                    "INSERT INTO rec_meta (key, value) VALUES (%s, %s)"
                    " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    (key, value),
                )

    def load_raw(self) -> RawCatalog | None:
        """The stored catalogue's entries, or None when none was ever loaded."""
        if self.meta("catalog_loaded_at") is None:
            return None
        rows = self._db.execute(
            "SELECT kind, data FROM rec_catalog_entries ORDER BY kind, position"
        ).fetchall()
        return raw_from_rows(rows)

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM rec_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- events -------------------------------------------------------------------------------

    def add_event(self, event: Event) -> Event:
        return self._insert(event)

    def _insert(self, event: Event) -> Event:
        row = self._db.execute(
            "INSERT INTO rec_events (kind, employee, module, score, doc_id, rating, details,"
            " created_at, cycle) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            event_params(event),
        ).fetchone()
        assert row is not None  # INSERT ... RETURNING gives one row
        return replace(event, id=int(row[0]))

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        """Record all of `events` in one transaction (all or none); returns them with ids."""
        with self._db.transaction():
            return [self._insert(event) for event in events]

    def events(self, employee: str | None = None, cycle: str | None = None) -> list[Event]:
        """Events in the order they happened (the order they are re-applied in), optionally
        only one employee's or one training cycle's."""
        where, params = events_query("%s", employee, cycle)
        # EVENT_COLUMNS and the clauses are constants: values go as parameters
        rows = self._db.execute(
            f"SELECT {EVENT_COLUMNS} FROM rec_events{where} ORDER BY id", params
        ).fetchall()
        return [event_from_row(row) for row in rows]

    def rewrite_events(
        self, remove: Sequence[int], details: Mapping[int, Mapping[str, Any]]
    ) -> int:
        changed = 0
        with self._db.transaction():
            for event_id in remove:
                changed += self._db.execute(
                    "DELETE FROM rec_events WHERE id = %s", (event_id,)
                ).rowcount
            for event_id, new in details.items():
                changed += self._db.execute(
                    "UPDATE rec_events SET details = %s WHERE id = %s",
                    (json.dumps(dict(new)), event_id),
                ).rowcount
        return changed

    def forget_events_before(self, before: str) -> int:
        with self._db.transaction():
            cursor = self._db.execute("DELETE FROM rec_events WHERE created_at < %s", (before,))
        return int(cursor.rowcount)

    def close(self) -> None:
        if self._owns_connection:
            self._db.close()

    def __enter__(self) -> PgCatalogStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PgCatalogPool:
    """Stores for a server that opens one per request: the schema is checked once, by the
    first store, then each `session` borrows a pooled connection instead of opening one
    (about 7 ms each)."""

    def __init__(self, database_url: str, *, max_size: int = 4) -> None:
        PgCatalogStore(database_url).close()  # migrations applied, a newer schema refused
        self._where = redact(database_url)
        self._pool: ConnectionPool = open_pool(database_url, max_size=max_size)

    @contextmanager
    def session(self) -> Iterator[PgCatalogStore]:
        with self._pool.connection() as conn:
            yield PgCatalogStore.on_lent_connection(conn, self._where)

    def close(self) -> None:
        self._pool.close()
