"""The xAPI outbox: statements waiting for the LRS, kept until it has taken them.

`push` fills the outbox with a statement for every event the LRS has not been given (events
imported from an LRS are left out: they came from one), then sends what waits, oldest first,
in batches. A batch the LRS refuses, or that cannot reach it, stays in the outbox with its
attempt counted and the error kept, and nothing after it is sent, so statements arrive in
the order they happened and none is lost; the next push (the worker's, or `kb xapi push`)
tries it again. Statement ids are stable (`exporting.statement_ids`), and an LRS keeps one
statement per id, so a batch sent twice (a crash between the LRS's answer and the outbox
marking it sent) is stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self

from recommender.state.base import RecommenderStore, now_iso
from recommender.xapi.exporting import statement_ids, to_statement
from recommender.xapi.vocabulary import DEFAULT_BASE

PUSH_BATCH = 100


@dataclass(frozen=True)
class Waiting:
    """One statement in the outbox: its place in the sending order, its id and its JSON."""

    seq: int
    statement_id: str
    body: str


@dataclass(frozen=True)
class OutboxStatus:
    waiting: int
    sent: int
    attempts: int  # of the oldest waiting statement
    last_error: str | None
    last_sent_at: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "sent": self.sent,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_sent_at": self.last_sent_at,
        }


class XapiOutbox(Protocol):
    """Where statements wait for the LRS; `SqliteOutbox` and `PgOutbox`."""

    def known(self) -> set[str]:
        """The ids of every statement ever put in the outbox (sent or waiting)."""
        ...

    def enqueue(self, statements: Sequence[tuple[str, str]], at: str) -> int:
        """Append (id, JSON) statements not already in it, in their order, in one
        transaction; returns how many were added."""
        ...

    def waiting(self, limit: int) -> list[Waiting]:
        """The oldest `limit` statements not yet sent, in sending order."""
        ...

    def mark_sent(self, seqs: Sequence[int], at: str) -> None: ...

    def mark_failed(self, seqs: Sequence[int], error: str, at: str) -> None:
        """Count an attempt at each and keep the error; they stay waiting."""
        ...

    def status(self) -> OutboxStatus: ...

    def forget(self, employee: str) -> int:
        """Remove every statement (sent or waiting) whose actor is `employee` (a person's
        erasure, docs/person-data.md); returns how many."""
        ...

    def drop_sent_before(self, at: str) -> int:
        """Remove the statements sent before `at` (retention: their events are gone too)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def actor_of(body: str) -> str | None:
    """The employee id a statement of ours names as its actor (its account's name)."""
    import json

    try:
        account = json.loads(body).get("actor", {}).get("account") or {}
    except (ValueError, AttributeError):
        return None
    name = account.get("name") if isinstance(account, dict) else None
    return name if isinstance(name, str) else None


class SendError(Exception):
    """The LRS did not take a batch (unreachable, an error status): say which and why."""


@dataclass(frozen=True)
class PushReport:
    enqueued: int
    sent: int
    waiting: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "enqueued": self.enqueued,
            "sent": self.sent,
            "waiting": self.waiting,
            "error": self.error,
        }


def enqueue_new(store: RecommenderStore, outbox: XapiOutbox, base: str = DEFAULT_BASE) -> int:
    """Put a statement for every event of our own not yet in the outbox into it."""
    import json

    known = outbox.known()
    fresh = [
        (sid, json.dumps(to_statement(event, sid, base), separators=(",", ":")))
        for event, sid in statement_ids(store.events())
        if sid not in known and not event.details.get("xapi_id")
    ]
    return outbox.enqueue(fresh, now_iso()) if fresh else 0


def push(
    store: RecommenderStore,
    outbox: XapiOutbox,
    send: Callable[[list[str]], None],
    *,
    base: str = DEFAULT_BASE,
    batch: int = PUSH_BATCH,
    clock: Callable[[], str] = now_iso,
) -> PushReport:
    """Enqueue new statements, then send the waiting ones in order until none is left or the
    LRS refuses one (`send` raises `SendError`); see the module's docstring."""
    enqueued = enqueue_new(store, outbox, base)
    sent = 0
    error = None
    while True:
        waiting = outbox.waiting(batch)
        if not waiting:
            break
        seqs = [w.seq for w in waiting]
        try:
            send([w.body for w in waiting])
        except SendError as exc:
            error = str(exc)
            outbox.mark_failed(seqs, error, clock())
            break
        outbox.mark_sent(seqs, clock())
        sent += len(waiting)
    return PushReport(enqueued, sent, outbox.status().waiting, error)


push_statements = push  # as the recommender's face names it
