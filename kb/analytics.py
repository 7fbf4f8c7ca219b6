"""The search log: what was searched (query, filters, mode, time, hits, the best score) and
which documents were opened from which search, for the organisers' content-gaps report.

`SearchLog` is the seam: `write` a batch of events, read them back since a time, forget the
old ones. `SqliteSearchLog` keeps them in `<home>/analytics.sqlite` (its own file: WAL, short
transactions, so any number of processes share it); `kb.pg_analytics.PgSearchLog` in
PostgreSQL; `open_search_log` chooses by the database URL, like the store.

`SearchRecorder` is what a service holds: it builds the events, applies the policy (the
employee is kept only when allowed; API keys are never given to it) and writes in a
background thread, so a search never waits for the log and never fails because of it.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from kb import sqlite_files
from kb.errors import KBError
from kb.pg import is_database_url, redact
from kb.types import Hit, SearchFilters

log = logging.getLogger("kb.analytics")

DATABASE = "analytics.sqlite"
FILTER_NAMES = ("team", "course", "type", "skill", "module", "tag")
SEARCH_ID_PATTERN = r"^[0-9a-f]{16,32}$"
QUEUE_SIZE = 10_000  # events waiting for the writer; beyond this they are dropped (and counted)
BATCH = 200  # events written in one transaction


@dataclass(frozen=True)
class SearchEvent:
    """One search as the log keeps it. `hits`: the doc ids of the page, in rank order;
    `origin`: "api" (the HTTP API) or "cli"; `employee`: only where the policy allows."""

    search_id: str
    at: datetime
    query: str
    mode: str
    filters: Mapping[str, str] = field(default_factory=dict)
    k: int = 10
    offset: int = 0
    n_hits: int = 0
    best_score: float | None = None
    hits: tuple[str, ...] = ()
    origin: str = "api"
    employee: str | None = None


@dataclass(frozen=True)
class OpenEvent:
    """A document read (`GET /documents/{id}`, or a hit followed from the search page);
    `search_id`: the search it came from, when the client said so. Recorded once per search
    and document however often it is read."""

    at: datetime
    doc_id: str
    search_id: str | None = None
    employee: str | None = None


Event = SearchEvent | OpenEvent


class SearchLog(Protocol):
    """Where searches and opens are kept."""

    def write(self, events: Sequence[Event]) -> None:
        """Store a batch in one transaction (an open repeated for one search is kept once)."""
        ...

    def searches(self, since: datetime) -> list[SearchEvent]:
        """The searches at or after `since`, oldest first."""
        ...

    def opens(self, since: datetime) -> list[OpenEvent]:
        """The opens at or after `since`, oldest first."""
        ...

    def forget_before(self, when: datetime) -> int:
        """Delete what is older than `when`; returns how many searches and opens went."""
        ...

    def close(self) -> None: ...


def new_search_id() -> str:
    return secrets.token_hex(8)


def now() -> datetime:
    return datetime.now(UTC)


def filters_of(filters: SearchFilters | None) -> dict[str, str]:
    """The filters a user chose (never the caller's teams, which the service adds)."""
    if filters is None:
        return {}
    values = {name: getattr(filters, name) for name in FILTER_NAMES}
    return {name: str(value) for name, value in values.items() if value}


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


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _epoch(when: datetime) -> int:
    """Microseconds since 1970 (UTC): exact, and ordered as the times are."""
    return (when - _EPOCH) // _MICROSECOND


def _utc(epoch: int) -> datetime:
    return _EPOCH + epoch * _MICROSECOND


def search_params(event: SearchEvent) -> tuple[object, ...]:
    """A search's column values after `at` (shared with the PostgreSQL log)."""
    return (
        event.query,
        event.mode,
        json.dumps(dict(event.filters), ensure_ascii=False, sort_keys=True),
        event.k,
        event.offset,
        event.n_hits,
        event.best_score,
        json.dumps(list(event.hits)),
        event.origin,
        event.employee,
    )


def search_from_row(search_id: str, at: datetime, row: Sequence[object]) -> SearchEvent:
    query, mode, filters, k, offset, n_hits, best, hits, origin, employee = row
    return SearchEvent(
        search_id=search_id,
        at=at,
        query=str(query),
        mode=str(mode),
        filters=json.loads(str(filters)),
        k=int(k),  # type: ignore[call-overload]
        offset=int(offset),  # type: ignore[call-overload]
        n_hits=int(n_hits),  # type: ignore[call-overload]
        best_score=None if best is None else float(best),  # type: ignore[arg-type]
        hits=tuple(json.loads(str(hits))),
        origin=str(origin),
        employee=None if employee is None else str(employee),
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


def open_search_log(home: Path, database_url: str | None = None) -> SearchLog:
    """The log beside the rest: PostgreSQL when a database URL is given, else
    `<home>/analytics.sqlite`."""
    if database_url:
        if not is_database_url(database_url):
            raise KBError(
                f"{redact(database_url)} is not a PostgreSQL URL: give "
                "postgresql://user:password@host:port/database (KB_DATABASE_URL)."
            )
        from kb.pg_analytics import PgSearchLog

        return PgSearchLog(database_url)
    return SqliteSearchLog(home / DATABASE)


# -- recording in the background ---------------------------------------------------------------
_STOP = object()


class SearchRecorder:
    """Records searches and opens without making anyone wait: `search` and `opened` put an
    event on a bounded queue (microseconds) and a writer thread stores batches. A failing log
    is reported in the service's log (at most once a minute) and never reaches the caller;
    when the queue is full, events are dropped and counted (`dropped`).

    Policy: `record_employee` False (the default) keeps no employee id at all. The recorder is
    never given an API key. `log` None: recording is off (`search` returns None).
    """

    def __init__(
        self,
        log: SearchLog | None,
        *,
        record_employee: bool = False,
        retention_days: int = 0,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.log = log
        self.record_employee = record_employee
        self.retention_days = retention_days
        self.dropped = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._last_warning = 0.0
        self._thread: threading.Thread | None = None
        self._closed = False
        if log is not None:
            self._thread = threading.Thread(target=self._run, name="kb-search-log", daemon=True)
            self._thread.start()

    @property
    def enabled(self) -> bool:
        return self.log is not None and not self._closed

    # -- what callers use ---------------------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        mode: str,
        filters: SearchFilters | None,
        k: int,
        offset: int,
        hits: Sequence[Hit],
        employee: str | None = None,
        origin: str = "api",
    ) -> str | None:
        """Record a search; returns its id (for `opened`), or None when recording is off."""
        if not self.enabled:
            return None
        try:  # a search must never fail because of its log
            event = SearchEvent(
                search_id=new_search_id(),
                at=now(),
                query=query,
                mode=mode,
                filters=filters_of(filters),
                k=k,
                offset=offset,
                n_hits=len(hits),
                best_score=hits[0].score if hits else None,
                hits=tuple(hit.doc_id for hit in hits),
                origin=origin,
                employee=employee if self.record_employee else None,
            )
        except Exception as exc:
            self._warn("could not record a search: %s", exc)
            return None
        self._put(event)
        return event.search_id

    def opened(
        self, doc_id: str, search_id: str | None = None, employee: str | None = None
    ) -> None:
        """Record that a document was read, from the search `search_id` if the client said so."""
        if not self.enabled:
            return
        self._put(
            OpenEvent(
                at=now(),
                doc_id=doc_id,
                search_id=search_id,
                employee=employee if self.record_employee else None,
            )
        )

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every event queued so far is written (or dropped); False on timeout."""
        if self._thread is None:
            return True
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline or not self._thread.is_alive():
                return False
            time.sleep(0.005)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued (up to `timeout`), stop the writer and close the log."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
        if self.log is not None and (self._thread is None or not self._thread.is_alive()):
            self.log.close()

    # -- the writer -----------------------------------------------------------------------
    def _put(self, event: Event) -> None:
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1
            self._warn("the search log's queue is full: %d event(s) dropped so far", self.dropped)

    def _warn(self, message: str, *args: object) -> None:
        moment = time.monotonic()
        if moment - self._last_warning >= 60.0:
            self._last_warning = moment
            log.warning(message, *args)

    def _run(self) -> None:
        assert self.log is not None
        self._forget_old()
        last_pruned = time.monotonic()
        while True:
            first = self._queue.get()
            batch: list[Event] = []
            stop = first is _STOP
            if not stop:
                batch.append(first)  # type: ignore[arg-type]
            while not stop and len(batch) < BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                else:
                    batch.append(item)  # type: ignore[arg-type]
            try:
                self.log.write(batch)
            except Exception as exc:  # a search must never fail because of its log
                self._warn("could not record %d search event(s): %s", len(batch), exc)
            finally:
                for _ in range(len(batch) + (1 if stop else 0)):
                    self._queue.task_done()
            if stop:
                return
            if time.monotonic() - last_pruned > 24 * 3600:
                self._forget_old()
                last_pruned = time.monotonic()

    def _forget_old(self) -> None:
        if not self.retention_days or self.log is None:
            return
        try:
            self.log.forget_before(now() - timedelta(days=self.retention_days))
        except Exception as exc:
            self._warn("could not forget old searches: %s", exc)


DISABLED = SearchRecorder(None)

__all__ = [
    "DATABASE",
    "DISABLED",
    "FILTER_NAMES",
    "SEARCH_ID_PATTERN",
    "Event",
    "OpenEvent",
    "SearchEvent",
    "SearchLog",
    "SearchRecorder",
    "SqliteSearchLog",
    "filters_of",
    "new_search_id",
    "now",
    "open_search_log",
]
