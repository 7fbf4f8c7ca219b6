"""What the service and the CLI write to the audit log (kb.audit, docs/audit.md): one place
that turns "who did what from where" into a record, so routes and commands stay one line.

A write that fails fails the audited action. An audit log exists so that a security review can
say that every sign-in, restricted read, catalogue load, upload, deletion, key change and
export is in it; an action that went ahead while its record could not be written would be the
unaudited action the review is looking for. So `Auditor.record` raises (the HTTP API answers
503, the CLI exits with the message) and, where the action changes something, the record is
written before the change is made, so that a failed write leaves nothing done.

Never recorded: an API key (only its stable key id), a password, a query's text.
"""

from __future__ import annotations

import getpass
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kb.errors import KBError

if TYPE_CHECKING:
    from api.http.auth import Principal
    from kb.audit.base import AuditLog, AuditRecord


class AuditWriteError(KBError):
    """The audit record of an action could not be written, so the action was not done."""


def cli_actor() -> str:
    """Who runs a CLI command: "cli:<the operating system's user>"."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"cli:{user}"


def principal_actor(principal: Principal) -> str:
    """A caller of the HTTP API: its key's stable id (never the key), or "service" when keys
    are off (KB_API_KEYS_FILE unset)."""
    return principal.key_id or "service"


class Auditor:
    """The audit log of one process, with the sign-in rule: an API key's first request of each
    UTC day in this process is its `sign_in` (every request would drown the log), and a web
    page's sign-in is one record each time a reader signs in."""

    def __init__(self, log: AuditLog) -> None:
        self.log = log
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def record(
        self,
        actor: str,
        action: str,
        target: str = "",
        detail: Mapping[str, Any] | None = None,
        source_ip: str | None = None,
    ) -> AuditRecord:
        """Append one record; raises `AuditWriteError` (the action must not go ahead) when
        the log cannot be written."""
        try:
            return self.log.append(actor, action, target, detail or {}, source_ip)
        except Exception as error:
            if _database_unreachable(error):
                raise  # the database is down: the service's 503 names it (the action is not done)
            raise AuditWriteError(
                f"The audit log at {self.log.location} could not record {action!r}, so it was "
                f"not done: {error}. Check the log's disk or database, then retry."
            ) from error

    def key_used(self, principal: Principal, source_ip: str | None) -> None:
        """An API request by `principal`: a `sign_in` on its key's first request of the day."""
        if principal.key_id is None:
            return
        seen = (principal.key_id, datetime.now(UTC).date().isoformat())
        with self._lock:
            if seen in self._seen:
                return
            self._seen.add(seen)
        try:
            self.record(
                principal_actor(principal), "sign_in", "", _who(principal, "api"), source_ip
            )
        except BaseException:
            with self._lock:
                self._seen.discard(seen)
            raise

    def signed_in(self, principal: Principal, source_ip: str | None) -> None:
        """A web page session started (the sign-in page checked its key)."""
        self.record(principal_actor(principal), "sign_in", "", _who(principal, "web"), source_ip)

    def close(self) -> None:
        self.log.close()


def _who(principal: Principal, via: str) -> dict[str, Any]:
    detail: dict[str, Any] = {"via": via, "role": principal.role}
    if principal.employee:
        detail["employee"] = principal.employee
    return detail


def _database_unreachable(error: BaseException) -> bool:
    """Whether `error` is the database being out of reach (kb's DatabaseError, psycopg's
    OperationalError), which the HTTP service answers as a 503 naming the database."""
    from kb.db.postgres import DatabaseError

    if isinstance(error, DatabaseError):
        return True
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the PostgreSQL extra is not installed
        return False
    return isinstance(error, psycopg.OperationalError)
