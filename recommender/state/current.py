"""The catalogue as it stands now: the last valid catalogue loaded, with every event replayed."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from recommender.catalog.loading import load_catalog_dir
from recommender.catalog.types import Catalog, build_catalog
from recommender.catalog.validate import validate_catalog
from recommender.cycles.replay import replay_events
from recommender.errors import CatalogInvalidError, NoCatalogError
from recommender.state.base import RecommenderStore
from recommender.state.events import Event


@dataclass(frozen=True)
class LoadReport:
    source: str
    counts: dict[str, int]
    events_applied: int
    events_skipped: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "counts": self.counts,
            "events_applied": self.events_applied,
            "events_skipped": self.events_skipped,
        }


def load_catalog(store: RecommenderStore, directory: Path) -> LoadReport:
    """Validate a catalogue folder and make it current; on any fault raise and change nothing."""
    catalog, raw = load_catalog_dir(directory)
    store.save_catalog(raw, str(directory.resolve()))
    replay = replay_events(catalog, store.events())
    counts = {
        "skills": len(catalog.skills),
        "teams": len(catalog.teams),
        "courses": len(catalog.courses),
        "modules": len(catalog.modules),
        "employees": len(catalog.employees),
        "cycles": len(replay.catalog.cycles),
    }
    return LoadReport(str(directory), counts, replay.applied, len(replay.skipped))


def current_catalog(store: RecommenderStore) -> Catalog:
    """The stored catalogue with all events applied; `NoCatalogError` if none was loaded."""
    raw = store.load_raw()
    if raw is None:
        raise NoCatalogError()
    return replay_events(build_catalog(raw), store.events()).catalog


def add_employee(store: RecommenderStore, employee_id: str, name: str, team: str) -> bool:
    """Add a person to the stored catalogue's employees (a first company sign-in: the id and
    name from the identity provider's token, the team from `sign_in.yaml`), with no levels
    and no history. False, and nothing changed, when they are already in it.

    The catalogue stays the organisers' file: a later `kb catalog load` replaces it whole, and
    the person is added again at their next sign-in if the new file still lacks them. Raises
    `NoCatalogError` before any catalogue is loaded (there is no team to put them in) and
    `CatalogInvalidError` when the entry would make the catalogue invalid (an unknown team)."""
    raw = store.load_raw()
    if raw is None:
        raise NoCatalogError()
    employees = list(raw.get("employees") or [])
    if any(entry.get("id") == employee_id for entry in employees):
        return False
    employees.append({"id": employee_id, "name": name or employee_id, "team": team})
    updated = {**raw, "employees": employees}
    faults = validate_catalog(updated)
    if faults:
        raise CatalogInvalidError(faults)
    store.save_catalog(updated, store.meta("catalog_source") or "")
    return True


def copy_state(source: RecommenderStore, target: RecommenderStore) -> dict[str, int]:
    """Copy the catalogue and every event from `source` to `target` (an embedded home into
    PostgreSQL, or back); running it again, or after an interrupted run, copies nothing twice.

    The target's catalogue is replaced by the source's (when the source has one). An event is
    copied unless the target already holds an equal one (every field but the id; counted, so
    that two equal events in the source make two in the target). Copied events keep their
    order and `created_at` and get the target's next ids (into an empty target, the source's
    own, unless those have gaps). Returns how many catalogue entries and events were copied
    and how many events were already there.
    """
    raw = source.load_raw()
    entries = 0
    if raw is not None:
        target.save_catalog(raw, source.meta("catalog_source") or "")
        entries = sum(len(raw.get(kind) or []) for kind in raw)
    present = Counter(_event_key(event) for event in target.events())
    copied = skipped = 0
    for event in source.events():
        key = _event_key(event)
        if present[key]:
            present[key] -= 1
            skipped += 1
            continue
        target.add_event(replace(event, id=None))
        copied += 1
    return {"catalog_entries": entries, "events_copied": copied, "events_skipped": skipped}


def _event_key(event: Event) -> tuple[Any, ...]:
    return (
        event.kind,
        event.employee,
        event.module,
        event.score,
        event.doc_id,
        event.rating,
        json.dumps(event.details, sort_keys=True),
        event.created_at,
        event.cycle,
    )
