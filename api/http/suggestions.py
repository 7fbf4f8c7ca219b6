"""The service's suggestions (`GET /suggest`, and `did_you_mean` in `GET /search`): what they
are built from, wired here because it takes all three of the knowledge base (titles, headings,
mined terms), the catalogue (skills, courses, modules) and the search log (past successful
queries). `kb.search.suggest` does the suggesting; this module only gathers its entries.
"""

from __future__ import annotations

import logging

from api.http.deps import Catalogs
from kb import KnowledgeBase
from kb.search.suggest import (
    Entry,
    Suggester,
    SuggestIndex,
    since_days,
    store_entries,
    successful_queries,
)
from kb.searchlog.base import SearchLog
from recommender import Catalog, NoCatalogError

log = logging.getLogger("api.suggest")

QUERY_DAYS = 90  # past queries read back this far


def catalog_entries(catalog: Catalog) -> list[Entry]:
    """Skills by name, courses and modules by title: the catalogue is everyone's to see."""
    entries = [Entry(skill.name, "skill") for skill in catalog.skills.values()]
    entries += [Entry(course.title, "course") for course in catalog.courses.values()]
    entries += [Entry(module.title, "module") for module in catalog.modules.values()]
    return entries


def build_suggester(
    kb: KnowledgeBase, catalogs: Catalogs, search_log: SearchLog | None
) -> Suggester:
    """A suggester over everything the service knows now (read in the caller's thread)."""
    found = store_entries(kb.store, kb.searcher.glossary)
    entries = found.entries
    try:
        entries += catalog_entries(catalogs.current())
    except NoCatalogError:
        pass  # no catalogue loaded yet: documents and queries only
    if search_log is not None:
        visibility = {doc.doc_id: tuple(doc.visibility) for doc in kb.list_documents()}
        since = since_days(QUERY_DAYS)
        entries += successful_queries(
            search_log.searches(since), search_log.opens(since), visibility
        )
    return Suggester(entries, found.vocabulary)


def open_suggestions(
    kb: KnowledgeBase, catalogs: Catalogs, search_log: SearchLog | None
) -> SuggestIndex:
    """The service's suggestions, their first build started in the background."""
    index = SuggestIndex(
        lambda: build_suggester(kb, catalogs, search_log), lambda: kb.store.version
    )
    return index.start()


__all__ = ["QUERY_DAYS", "build_suggester", "catalog_entries", "open_suggestions"]
