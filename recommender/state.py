"""The catalogue as it stands now: the last valid catalogue loaded, with every event replayed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.catalog import Catalog, build_catalog
from recommender.errors import NoCatalogError
from recommender.feedback import apply_events
from recommender.loading import load_catalog_dir
from recommender.store import CatalogStore


def open_store(home: Path, database_url: str | None = None) -> CatalogStore:
    """The recommender's store: in PostgreSQL when `database_url` is given (the same database
    as the knowledge base), else in the kb home folder (`<home>/catalog.sqlite`)."""
    if database_url:
        raise NotImplementedError("the recommender's PostgreSQL store is being built")
    return CatalogStore.open(home)


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


def load_catalog(store: CatalogStore, directory: Path) -> LoadReport:
    """Validate a catalogue folder and make it current; on any fault raise and change nothing."""
    catalog, raw = load_catalog_dir(directory)
    store.save_catalog(raw, str(directory.resolve()))
    replay = apply_events(catalog, store.events())
    counts = {
        "skills": len(catalog.skills),
        "teams": len(catalog.teams),
        "courses": len(catalog.courses),
        "modules": len(catalog.modules),
        "employees": len(catalog.employees),
    }
    return LoadReport(str(directory), counts, replay.applied, len(replay.skipped))


def current_catalog(store: CatalogStore) -> Catalog:
    """The stored catalogue with all events applied; `NoCatalogError` if none was loaded."""
    raw = store.load_raw()
    if raw is None:
        raise NoCatalogError()
    return apply_events(build_catalog(raw), store.events()).catalog
