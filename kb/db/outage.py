"""What a background thread says when its database goes away: one WARNING per outage naming
the database, one INFO line when it is back, and no traceback in between.

A long-running process (`kb serve`, `kb worker`, `kb watch`) has several threads that use the
database on their own: vectors for queued chunks, scheduled source syncs, folder watchers, the
search log's writer. Each already retries at its next turn; what they lacked was telling an
operator what happened: during an outage each logged a traceback at every turn, which reads as
a bug and buries everything else. `OutageWatch` is what each loop asks on a failure: an
outage (psycopg's OperationalError, a pool that timed out, the stores' DatabaseError caused by
one) is noted for the whole process, so the first thread to see it logs the WARNING and the
others stay quiet, and the first success against that database afterwards logs it back, with
how long it was away. Anything else is not an outage: the caller logs it as before, traceback
and all, since that may be a bug.

psycopg is looked up only if it is already imported: the embedded backend never loads it, and
SQLite's own OperationalError ("database is locked") is not an outage.
"""

from __future__ import annotations

import logging
import sys
import threading
import time

from kb.db.urls import redact
from kb.errors import KBError

# database label -> when this process first saw it away (time.monotonic())
_DOWN: dict[str, float] = {}
_LOCK = threading.Lock()
_UNNAMED = "the database"


def _outage_classes() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        found.append(psycopg.OperationalError)
    pool = sys.modules.get("psycopg_pool")
    if pool is not None:
        found.append(pool.PoolTimeout)
    return tuple(found)


def is_outage(exc: BaseException) -> bool:
    """True when `exc` (or an error it was raised from) is the database being unreachable:
    psycopg's OperationalError or a pool's PoolTimeout; a KBError (the stores' DatabaseError)
    counts when one of those is in its chain."""
    if isinstance(exc, _PoolOutage):
        return True
    classes = _outage_classes()
    if not classes:
        return False
    seen: set[int] = set()
    at: BaseException | None = exc
    while at is not None and id(at) not in seen:
        seen.add(id(at))
        if isinstance(at, classes):
            return True
        if not isinstance(at, KBError):
            return False
        at = at.__cause__ or at.__context__
    return False


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return redact(lines[0].strip()) if lines else type(exc).__name__


class OutageWatch:
    """One background loop's view of its database: `failed(exc)` on an error (True when it was
    an outage and has been logged, so the caller logs nothing more), `succeeded()` after a
    turn that reached the database. `doing` says what the loop does ("making vectors for
    queued chunks"); `database` names the database as messages may show it (a URL without its
    password; None: "the database")."""

    def __init__(self, log: logging.Logger, doing: str, database: str | None = None) -> None:
        self.log = log
        self.doing = doing
        self.database = database or _UNNAMED

    def failed(self, exc: BaseException) -> bool:
        if not is_outage(exc):
            return False
        with _LOCK:
            first = self.database not in _DOWN
            if first:
                _DOWN[self.database] = time.monotonic()
        if first:
            self.log.warning(
                "the database %s is unreachable (%s: %s); %s and the other background work "
                "wait and retry by themselves until it is back",
                self.database,
                type(exc).__name__,
                _first_line(exc),
                self.doing,
            )
        else:
            self.log.debug("%s: the database %s is still unreachable", self.doing, self.database)
        return True

    def succeeded(self) -> None:
        if self.database not in _DOWN:  # the common case: one dict look-up, no lock
            return
        with _LOCK:
            since = _DOWN.pop(self.database, None)
        if since is not None:
            self.log.info(
                "the database %s is reachable again after %.1f s; %s resumed",
                self.database,
                time.monotonic() - since,
                self.doing,
            )


# pool name (psycopg_pool's, "pool-3") -> the database label of the pool
_POOLS: dict[str, str] = {}
_POOL_LOG = logging.getLogger("kb.db")


class _PoolReconnects(logging.Filter):
    """psycopg_pool's own reconnection attempts, which it logs as a WARNING each (some
    thirty during a few seconds' outage), told as the outage they are: the first becomes the
    outage's one warning (unless a thread told it already), the rest are dropped while the
    database is known to be away. Records of pools not opened by `kb.db.postgres.open_pool`
    pass untouched."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith("error connecting in"):
            return True
        args = record.args if isinstance(record.args, tuple) else ()
        label = _POOLS.get(str(args[0])) if args else None
        if label is None:
            return True
        if label in _DOWN:
            return False
        reason = args[1] if len(args) > 1 else record.getMessage()
        OutageWatch(_POOL_LOG, "the connection pools", label).failed(_PoolOutage(reason))
        return False


class _PoolOutage(Exception):
    """A pool's failed reconnection, as `OutageWatch.failed` takes it."""


def watch_pool(name: str, database: str) -> None:
    """Have the reconnection warnings of the pool `name` told as outages of `database`
    (once per outage). Called by `kb.db.postgres.open_pool` for every pool it opens."""
    logger = logging.getLogger("psycopg.pool")
    with _LOCK:
        _POOLS[name] = database
        if not any(isinstance(f, _PoolReconnects) for f in logger.filters):
            logger.addFilter(_PoolReconnects())


def outage_in_progress(database: str | None = None) -> bool:
    """Whether this process last saw `database` (None: the unnamed one) unreachable."""
    return (database or _UNNAMED) in _DOWN


__all__ = ["OutageWatch", "is_outage", "outage_in_progress", "watch_pool"]
