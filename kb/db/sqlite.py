"""Opening a SQLite file that many threads and processes share: one place for the rules.

Every store file is in WAL mode (readers never wait for the writer) and a writer waits up
to `timeout` seconds for another. Turning WAL on is the one step SQLite's busy handler does
not always cover: several connections opening a new file at once can be told "database is
locked" at once, without waiting, while one of them converts it. That step is retried here
until the timeout, so opening a store at the same moment as others never fails."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WRITE_WAIT_SECONDS = 60.0  # how long a writer waits for another before giving up
_RETRY_PAUSE_SECONDS = 0.01


def connect(
    path: Path, *, timeout: float = WRITE_WAIT_SECONDS, check_same_thread: bool = True
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL on, writers waiting
    up to `timeout` seconds for each other."""
    db = sqlite3.connect(
        str(path), timeout=timeout, isolation_level=None, check_same_thread=check_same_thread
    )
    try:
        _enable_wal(db, timeout)
    except BaseException:
        db.close()
        raise
    return db


def _enable_wal(db: sqlite3.Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(_RETRY_PAUSE_SECONDS)


@contextmanager
def write_transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE (the write lock at once, so two writers never deadlock upgrading a
    read) ... COMMIT; on any exception, or a failed COMMIT, ROLLBACK."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
