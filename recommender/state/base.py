"""The recommender's state, behind `RecommenderStore`: the validated catalogue + events.

`recommender.state.sqlite.CatalogStore` keeps it in the home folder,
`recommender.state.postgres.PgCatalogStore` in PostgreSQL; `api.backends` opens the one in
use. In both, the catalogue is replaced in one transaction, so a failed load leaves the
previous one in force; events live in their own table and outlive every reload. The rows
both write are made here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from recommender.catalog.types import CATALOG_FILES, STORED_KINDS, RawCatalog
from recommender.state.events import Event

# 1: completions and ratings; 2: the kinds of training cycles, and each event's cycle;
# 3: follow-ups and team KPIs (the event kinds `followup` and `kpi`).
SCHEMA_VERSION = 3


# The columns `event_from_row` reads, in its order (shared by both stores' SELECTs).
EVENT_COLUMNS = "id, kind, employee, module, score, doc_id, rating, details, created_at, cycle"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class RecommenderStore(Protocol):
    """Where the recommender keeps its state; `CatalogStore` (SQLite) and `PgCatalogStore`."""

    def save_catalog(self, raw: RawCatalog, source: str) -> None:
        """Replace the stored catalogue by a validated one, all or nothing."""
        ...

    def load_raw(self) -> RawCatalog | None:
        """The stored catalogue's entries, or None when none was ever loaded."""
        ...

    def meta(self, key: str) -> str | None: ...

    def add_event(self, event: Event) -> Event:
        """Record `event`; returns it with the id the store gave it."""
        ...

    def add_events(self, events: Sequence[Event]) -> list[Event]:
        """Record all of `events` in one transaction (all or none); returns them with ids."""
        ...

    def events(self, employee: str | None = None, cycle: str | None = None) -> list[Event]:
        """Events in the order they happened (the order they are re-applied in), optionally
        only one employee's or one training cycle's."""
        ...

    def rewrite_events(
        self, remove: Sequence[int], details: Mapping[int, Mapping[str, Any]]
    ) -> int:
        """Delete the events with ids in `remove` and replace the details of those in
        `details`, in one transaction (a person's erasure, `api.person`); returns how many
        events were deleted or changed."""
        ...

    def forget_events_before(self, before: str) -> int:
        """Delete the events created before `before` (ISO 8601, UTC; the retention of
        `kb retention apply`); returns how many went."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


def catalog_rows(raw: RawCatalog) -> Iterator[tuple[str, int, str, str]]:
    """(kind, position, entry id, entry as JSON) for each catalogue entry, in file order."""
    for kind in STORED_KINDS:
        for position, entry in enumerate(raw.get(kind) or []):
            # a sign-in rule is named by its group (sign_in.yaml has no ids)
            ident = entry["group"] if kind == "sign_in" else entry["id"]
            yield kind, position, ident, json.dumps(entry, default=str)


def raw_from_rows(rows: Iterable[Sequence[Any]]) -> RawCatalog:
    """The catalogue from (kind, JSON) rows in position order: the four files always, the
    optional ones (cycles) when they hold entries, in the order `read_catalog_dir` gives."""
    raw: RawCatalog = {kind: [] for kind in CATALOG_FILES}
    loaded: dict[str, list[Any]] = {}
    for kind, data in rows:
        loaded.setdefault(kind, []).append(json.loads(data))
    for kind in STORED_KINDS:
        if kind in loaded:
            raw[kind] = loaded[kind]
    return raw


def events_query(
    placeholder: str, employee: str | None, cycle: str | None
) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause (possibly empty) and parameters of `events()`, for either store."""
    clauses, params = [], []
    for column, value in (("employee", employee), ("cycle", cycle)):
        if value is not None:
            clauses.append(f"{column} = {placeholder}")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def event_params(event: Event) -> tuple[Any, ...]:
    """The values of an event's INSERT, in the order of `EVENT_COLUMNS` without the id."""
    return (
        event.kind,
        event.employee,
        event.module,
        event.score,
        event.doc_id,
        event.rating,
        json.dumps(event.details),
        event.created_at,
        event.cycle,
    )


def event_from_row(row: Sequence[Any]) -> Event:
    """An `Event` from a row of `EVENT_COLUMNS`."""
    return Event(
        id=row[0],
        kind=row[1],
        employee=row[2],
        module=row[3],
        score=row[4],
        doc_id=row[5],
        rating=row[6],
        details=json.loads(row[7]),
        created_at=row[8],
        cycle=row[9],
    )
