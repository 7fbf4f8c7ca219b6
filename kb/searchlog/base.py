"""The search log's contract: what was searched (query, filters, mode, time, hits, the best
score) and which documents were opened from which search, for the organisers' content-gaps
report.

`SearchLog` is the seam: `write` a batch of events, read them back since a time, forget the
old ones. `kb.searchlog.sqlite.SqliteSearchLog` and `kb.searchlog.postgres.PgSearchLog`
implement it; `api.backends` opens the one in use. The rows both backends write are made
here (`search_params`, `search_from_row`)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from kb.types import SearchFilters

FILTER_NAMES = ("team", "course", "type", "skill", "module", "tag")
SEARCH_ID_PATTERN = r"^[0-9a-f]{16,32}$"


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
