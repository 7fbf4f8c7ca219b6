"""The audit log's contract: append-only records of who did what, when and from where, each
chained to the one before by a hash, so a record removed or edited afterwards is detected.

`AuditLog` is the seam: `append` one record (the log numbers it, takes the previous record's
hash and computes its own, atomically, so that concurrent writers never fork the chain),
read `records` since a time, and `verify` the whole chain. `kb.audit.sqlite.SqliteAuditLog`
and `kb.audit.postgres.PgAuditLog` implement it; `api.backends` opens the one in use. The
hashing rule is here (`record_hash`), so both backends chain the same way and a record
exported from one verifies against the other's rule.

What is never recorded: an API key (only its stable key id), a password, a query's text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

# The hash of the record before the first: 64 zeros.
GENESIS = "0" * 64

# The actions the service records (others may be added; these are the documented ones).
ACTIONS = (
    "sign_in",
    "sign_out",
    "employee.create",
    "document.read_restricted",
    "catalog.load",
    "framework.import",
    "framework.map",
    "visibility.change",
    "ingest.upload",
    "document.delete",
    "key.add",
    "key.remove",
    "export",
    "person.export",
    "person.erase",
    "xapi.import",
    "xapi.export",
)


@dataclass(frozen=True)
class AuditRecord:
    """One audited action. `seq`: its place in the chain, 1, 2, 3... without gaps; `actor`: a key
    id, an employee id or "cli:<os user>"; `target`: what was acted on (a document id, a key id,
    a file); `detail`: small JSON-able facts; `source_ip`: the client's address (HTTP only);
    `hash`: sha256 over the canonical JSON of the other fields and `prev_hash`."""

    seq: int
    at: datetime
    actor: str
    action: str
    target: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    source_ip: str | None = None
    prev_hash: str = GENESIS
    hash: str = ""

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON object (one line of `kb audit export`)."""
        return {
            "seq": self.seq,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "detail": dict(self.detail),
            "source_ip": self.source_ip,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical(
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any],
    source_ip: str | None,
    prev_hash: str,
) -> bytes:
    """The bytes a record's hash is taken over: sorted keys, no spaces, UTF-8, time in UTC to
    the microsecond (what both backends store exactly)."""
    body = {
        "seq": seq,
        "at": _iso(at),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
        "source_ip": source_ip,
        "prev_hash": prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def record_hash(record: AuditRecord) -> str:
    """What `record.hash` must be for the record to be intact."""
    return hashlib.sha256(
        canonical(
            record.seq,
            record.at,
            record.actor,
            record.action,
            record.target,
            record.detail,
            record.source_ip,
            record.prev_hash,
        )
    ).hexdigest()


def chained(
    previous: tuple[int, str],
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: Mapping[str, Any],
    source_ip: str | None,
) -> AuditRecord:
    """The record that follows the chain's head `previous` (its seq and hash: (0, GENESIS)
    before the first), its hash computed. Both backends call this inside the transaction that
    holds the head."""
    at = at.astimezone(UTC)
    detail = json.loads(json.dumps(dict(detail), sort_keys=True))  # JSON-able, fixed now
    unhashed = AuditRecord(
        seq=previous[0] + 1,
        at=at,
        actor=actor,
        action=action,
        target=target,
        detail=detail,
        source_ip=source_ip,
        prev_hash=previous[1],
    )
    return AuditRecord(**{**unhashed.__dict__, "hash": record_hash(unhashed)})


def first_broken(records: Iterable[AuditRecord], head: tuple[int, str]) -> int | None:
    """The seq of the first record that breaks the chain, oldest first, or None if intact.

    A removed record shows as a gap in seq (the record after the gap is named) or as a
    prev_hash that is not the hash before; an edited record as a hash that is not its own.
    `head` is the (seq, hash) the log remembers of its last append, kept apart from the
    records, so that removing the last records (which leaves no gap) is seen too: the first
    missing seq is named."""
    expected_seq, expected_prev = 1, GENESIS
    for record in records:
        if record.seq != expected_seq or record.prev_hash != expected_prev:
            return record.seq
        if record.hash != record_hash(record):
            return record.seq
        expected_seq, expected_prev = record.seq + 1, record.hash
    if (expected_seq - 1, expected_prev) != (head[0], head[1]):
        return expected_seq
    return None


def now() -> datetime:
    return datetime.now(UTC)


class AuditLog(Protocol):
    """Where audit records are kept: appended, never updated or deleted (the database refuses)."""

    location: str

    def append(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
        at: datetime | None = None,
    ) -> AuditRecord:
        """Add one record after the last, atomically (one transaction that holds the chain's
        head), and return it. Raises when it cannot be written: an audited action whose record
        cannot be written must fail too."""
        ...

    def records(self, since: datetime | None = None) -> list[AuditRecord]:
        """The records at or after `since` (all when None), in chain order."""
        ...

    def count(self) -> int: ...

    def verify(self) -> int | None:
        """The seq of the first broken record (removed, edited, reordered), or None."""
        ...

    def close(self) -> None: ...
