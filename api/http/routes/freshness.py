"""`GET /analytics/stale` (organisers): the material past its review date or older than its
threshold, grouped per skill, with owner, date and review date, as `kb stale --json` lists it
(api.freshness.stale_listing). Documents restricted to teams outside the caller's are left
out, as everywhere."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.freshness import freshness_rule, stale_listing
from api.http.deps import KB, CatalogsDep, Organiser, SettingsDep, ViewerDep
from api.http.models import StaleList
from api.http.routes import errors
from kb import SearchFilters
from recommender import Catalog, NoCatalogError

router = APIRouter(tags=["analytics"])


@router.get(
    "/analytics/stale",
    response_model=StaleList,
    responses=errors(401, 403, 422),
    summary="Material that may be out of date, per skill (organisers; as `kb stale --json`)",
)
def stale(
    kb: KB,
    caller: Organiser,
    viewer: ViewerDep,
    catalogs: CatalogsDep,
    settings: SettingsDep,
    skill: Annotated[
        str | None, Query(max_length=200, description="this skill's documents alone (any case)")
    ] = None,
) -> StaleList:
    """Documents past their `review_by` date, or older than the smallest threshold of their
    skills (a skill's `stale_after_days` in the catalogue, else KB_STALE_AFTER_DAYS), under
    each of their skills; documents without skills last (`skill` null)."""
    catalog: Catalog | None
    try:
        catalog = catalogs.current()
    except NoCatalogError:
        catalog = None
    docs = kb.list_documents(SearchFilters(viewer_teams=viewer.teams))
    return stale_listing(docs, freshness_rule(settings, catalog), catalog, skill)
