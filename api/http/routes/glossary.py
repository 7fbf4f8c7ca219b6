"""`GET /glossary` (organisers): the term pairs search uses when a query crosses languages, as
`kb glossary --json` lists them (api.glossary.glossary_listing). Organisers only: mined pairs
name the files they were found in, restricted documents' too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.glossary import glossary_listing
from api.http.deps import KB, Organiser
from api.http.models import GlossaryOut
from api.http.routes import errors

router = APIRouter(tags=["catalog"])


@router.get(
    "/glossary",
    response_model=GlossaryOut,
    responses=errors(401, 403, 422),
    summary="The term pairs search uses across languages, and where each comes from",
)
def get_glossary(
    kb: KB,
    caller: Organiser,
    min_count: Annotated[
        int, Query(ge=1, le=1000, description="leave out mined pairs found fewer times")
    ] = 1,
) -> dict[str, Any]:
    """The organisers' glossary's pairs first (glossary.yaml), then those mined from the
    stored Chinese material, the commonest first, with where each was found; then the pairs the
    organisers block."""
    return glossary_listing(kb.searcher.glossary, min_count)
