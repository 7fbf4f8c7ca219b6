"""`GET /analytics/duplicates` (organisers): the near-duplicate groups of the knowledge base
(kb.dedupe), as `kb duplicates --json` lists them (api.duplicates). Documents restricted to
teams outside the caller's are left out."""

from __future__ import annotations

from fastapi import APIRouter

from api.duplicates import duplicates_listing
from api.http.deps import KB, Organiser, ViewerDep
from api.http.models import DuplicatesOut
from api.http.routes import errors

router = APIRouter(tags=["analytics"])


@router.get(
    "/analytics/duplicates",
    response_model=DuplicatesOut,
    responses=errors(401, 403),
    summary="Near-duplicate groups: each canonical document and its copies (organisers)",
)
def list_duplicates(kb: KB, caller: Organiser, viewer: ViewerDep) -> DuplicatesOut:
    """Each group's canonical (its earliest stored document) and the near copies linked to
    it, with their estimated similarity; search shows a group once, with "also in"."""
    kb.refresh()
    return duplicates_listing(kb, viewer.teams)
