"""The audit log in SQLite: `SqliteAuditLog` keeps the chain in `<home>/audit.sqlite` (its own
file, WAL, so any number of processes on the machine append to it).

Each append is one write transaction (BEGIN IMMEDIATE): it reads the last record and inserts the
next under SQLite's single write lock, so two processes never take the same seq or prev_hash.
Triggers refuse UPDATE and DELETE: the log is append-only for everyone who goes through SQLite
(someone with the file can still drop them, which is what `verify` is for)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kb.audit.base import GENESIS, AuditRecord, chained, first_broken, now
from kb.db import sqlite as sqlite_files

DATABASE = "audit.sqlite"

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS audit_records (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,  -- ISO 8601, UTC, microseconds (what the hash covers)
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{{}}',
    source_ip TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_records_at ON audit_records (at);
-- The chain's head: the last append's seq and hash, kept apart so that removing the last
-- records is seen by `verify` (and the next append chains on from what was really last).
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}');
CREATE TRIGGER IF NOT EXISTS audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records are never updated'); END;
CREATE TRIGGER IF NOT EXISTS audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: records are never deleted'); END;
"""
_COLUMNS = "seq, at, actor, action, target, detail, source_ip, prev_hash, hash"


def _from_row(row: tuple[Any, ...]) -> AuditRecord:
    seq, at, actor, action, target, detail, source_ip, prev_hash, hash_ = row
    return AuditRecord(
        seq=int(seq),
        at=datetime.fromisoformat(at),
        actor=actor,
        action=action,
        target=target,
        detail=json.loads(detail),
        source_ip=source_ip,
        prev_hash=prev_hash,
        hash=hash_,
    )


_INSERT = f"INSERT INTO audit_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


@dataclass
class _Pending:
    """One append waiting for the writer: its fields, then its record or the error."""

    fields: tuple[str, str, str, Mapping[str, Any], str | None, datetime | None]
    record: AuditRecord | None = None
    error: BaseException | None = None
    done: bool = False


class SqliteAuditLog:
    """The chain in one SQLite file; one connection per log, shared by threads under a lock
    held by SQLite's write transaction (check_same_thread off, one statement stream at a time
    guarded by `_lock`).

    Appends from many threads are committed together (group commit): each append joins a
    queue, and the thread that takes the lock writes every append queued so far in one
    transaction, so a commit's fsync (milliseconds on a real disk, and the whole cost of an
    append) is paid once for all of them. Each caller still returns only after its own record
    is committed, and a failed transaction fails every append in it."""

    def __init__(self, path: Path) -> None:
        import threading

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.location = str(path)
        self._lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._db = sqlite_files.connect(path, check_same_thread=False)
        try:
            self._db.executescript(_SCHEMA)
        except BaseException:
            self._db.close()
            raise

    def append(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
        at: datetime | None = None,
    ) -> AuditRecord:
        json.dumps(detail or {})  # a detail that is not JSON fails its own append, no other
        pending = _Pending((actor, action, target, detail or {}, source_ip, at))
        with self._queue_lock:
            self._queue.append(pending)
        with self._lock:
            if not pending.done:  # nobody wrote it meanwhile: write it, and all queued since
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._write(batch)
        if pending.error is not None:
            raise pending.error
        assert pending.record is not None
        return pending.record

    def _write(self, batch: list[_Pending]) -> None:
        """Every append of `batch` in one transaction, chained in queue order (under _lock)."""
        try:
            with sqlite_files.write_transaction(self._db):
                head = "SELECT seq, hash FROM audit_head WHERE id = 1"
                seq, hash_ = self._db.execute(head).fetchone()
                previous = (int(seq), hash_)
                records = []
                for item in batch:
                    actor, action, target, detail, source_ip, at = item.fields
                    record = chained(
                        previous, at or now(), actor, action, target, detail, source_ip
                    )
                    self._db.execute(
                        _INSERT,
                        (
                            record.seq,
                            record.at.astimezone(UTC).isoformat(timespec="microseconds"),
                            record.actor,
                            record.action,
                            record.target,
                            json.dumps(record.detail, sort_keys=True),
                            record.source_ip,
                            record.prev_hash,
                            record.hash,
                        ),
                    )
                    records.append(record)
                    previous = (record.seq, record.hash)
                self._db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", previous)
        except BaseException as error:
            for item in batch:
                item.error, item.done = error, True
            return
        for item, record in zip(batch, records, strict=True):
            item.record, item.done = record, True

    def records(self, since: datetime | None = None) -> list[AuditRecord]:
        with self._lock:
            if since is None:
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM audit_records ORDER BY seq"
                ).fetchall()
            else:
                stamp = since.astimezone(UTC).isoformat(timespec="microseconds")
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM audit_records WHERE at >= ? ORDER BY seq", (stamp,)
                ).fetchall()
        return [_from_row(row) for row in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM audit_records").fetchone()[0])

    def verify(self) -> int | None:
        with self._lock:
            self._db.execute("BEGIN")  # the records and the head as of one moment
            try:
                rows = self._db.execute(
                    f"SELECT {_COLUMNS} FROM audit_records ORDER BY seq"
                ).fetchall()
                seq, hash_ = self._db.execute(
                    "SELECT seq, hash FROM audit_head WHERE id = 1"
                ).fetchone()
            finally:
                self._db.execute("COMMIT")
        return first_broken((_from_row(row) for row in rows), (int(seq), hash_))

    def close(self) -> None:
        self._db.close()


__all__ = ["DATABASE", "SqliteAuditLog"]
