"""The audit log in PostgreSQL: `PgAuditLog`, the same contract as `SqliteAuditLog`.

Its table `audit_records` and the one-row `audit_head` (the chain's last seq and hash) are
created by the "audit" part's migrations (`kb.db.postgres.upgrade`). Each append is one
transaction that takes the head row `FOR UPDATE`: replicas appending at once queue on that row,
so each sees the record before it and the chain never forks. Rules refuse UPDATE and DELETE on
the records (a superuser can drop them; `verify` is what finds what was done then)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from kb.audit.base import GENESIS, AuditRecord, chained, first_broken, now
from kb.db.postgres import DatabaseError, Migration, open_schema_pool, redact

PART = "audit"

# Append-only: a change to the schema is a new Migration, never an edit of an applied one.
MIGRATIONS = (
    Migration(
        1,
        f"""
CREATE TABLE audit_records (
    seq BIGINT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{{}}',
    source_ip TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_records_at ON audit_records (at);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}');
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: records are never updated or deleted';
END $$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
""",
    ),
)

_COLUMNS = "seq, at, actor, action, target, detail, source_ip, prev_hash, hash"


def _from_row(row: tuple[Any, ...]) -> AuditRecord:
    seq, at, actor, action, target, detail, source_ip, prev_hash, hash_ = row
    return AuditRecord(
        seq=int(seq),
        at=at.astimezone(UTC),
        actor=actor,
        action=action,
        target=target,
        detail=json.loads(detail),
        source_ip=source_ip,
        prev_hash=prev_hash,
        hash=hash_,
    )


class PgAuditLog:
    """The chain in PostgreSQL, through a small pool (threads of a server append at once)."""

    def __init__(self, url: str, *, pool_size: int = 2) -> None:
        self.location = redact(url)
        self._pool = open_schema_pool(url, PART, MIGRATIONS, max_size=pool_size)

    def append(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
        at: datetime | None = None,
    ) -> AuditRecord:
        with self._pool.connection() as conn, conn.transaction():
            head = conn.execute(
                "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
            ).fetchone()
            if head is None:
                raise DatabaseError(
                    "The audit log's head row is missing: restore it from a backup "
                    "(docs/audit.md); nothing more can be chained without it."
                )
            record = chained(
                (int(head[0]), head[1]), at or now(), actor, action, target, detail or {}, source_ip
            )
            conn.execute(
                f"INSERT INTO audit_records ({_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    record.seq,
                    record.at,
                    record.actor,
                    record.action,
                    record.target,
                    json.dumps(record.detail, sort_keys=True),
                    record.source_ip,
                    record.prev_hash,
                    record.hash,
                ),
            )
            conn.execute(
                "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (record.seq, record.hash)
            )
        return record

    def records(self, since: datetime | None = None) -> list[AuditRecord]:
        with self._pool.connection() as conn:
            if since is None:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM audit_records ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM audit_records WHERE at >= %s ORDER BY seq", (since,)
                ).fetchall()
        return [_from_row(row) for row in rows]

    def count(self) -> int:
        with self._pool.connection() as conn:
            row = conn.execute("SELECT COUNT(*) FROM audit_records").fetchone()
        return int(row[0]) if row else 0

    def verify(self) -> int | None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")  # one snapshot
            rows = conn.execute(f"SELECT {_COLUMNS} FROM audit_records ORDER BY seq").fetchall()
            head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        last = (int(head[0]), head[1]) if head else (-1, "")  # no head row: broken at once
        return first_broken((_from_row(row) for row in rows), last)

    def close(self) -> None:
        self._pool.close()
