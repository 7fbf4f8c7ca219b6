"""What the knowledge base is missing, over HTTP: recording opens and the organisers' report
(the search log's recorder is built in the lifespan and handed to routes by `api.http.deps`).

- `GET /search` records each search (kb.searchlog.recorder.SearchRecorder: in the background,
  never the key, the employee only with KB_ANALYTICS_RECORD_EMPLOYEE) and answers its
  `search_id`;
- `GET /documents/{id}?from_search=ID` and `POST /analytics/opens` record a document opened
  from that search (the search page posts the latter when a hit is followed);
- `GET /analytics/content?weeks=N` (organisers): `recommender.content_gaps.content_report`,
  which never names a document the caller may not see.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.http.deps import (
    KB,
    CatalogsDep,
    Organiser,
    Recorder,
    ViewerDep,
)
from api.http.errors import ApiError
from api.http.models import OpenIn
from api.http.routes import errors
from recommender import DEFAULT_WEEKS, ContentReport, NoCatalogError, content_report

router = APIRouter(tags=["analytics"])

MAX_WEEKS = 104


@router.post(
    "/analytics/opens",
    status_code=204,
    response_class=Response,
    responses=errors(400, 401, 404, 422),
    summary="Record that a hit of a search was opened (what the search page sends)",
)
def record_open(kb: KB, viewer: ViewerDep, recorder: Recorder, body: OpenIn) -> Response:
    """As `GET /documents/{id}?from_search=...`, without reading the document: a document the
    caller may not see answers 404, as everywhere."""
    doc = kb.get_document(body.doc_id)
    if doc is None or not doc.visible_to(viewer.teams):
        raise ApiError(
            404,
            f"No document with id {body.doc_id!r}: search, or GET /documents, shows document ids.",
        )
    recorder.opened(doc.doc_id, body.search_id, viewer.principal.employee)
    return Response(status_code=204)


@router.get(
    "/analytics/content",
    response_model=ContentReport,
    responses=errors(401, 403, 409, 422),
    summary="What the knowledge base is missing (organisers; as `kb gaps-in-content --json`)",
)
def content(
    kb: KB,
    caller: Organiser,
    viewer: ViewerDep,
    catalogs: CatalogsDep,
    recorder: Recorder,
    weeks: Annotated[
        int, Query(ge=1, le=MAX_WEEKS, description="weeks back, this one included")
    ] = DEFAULT_WEEKS,
) -> ContentReport:
    """Missed searches by topic, skills and modules with little material, documents nobody
    opened and the weekly trend. Documents restricted to teams outside the caller's are
    counted (`hidden_unopened`), never named."""
    if recorder.log is None:
        raise ApiError(
            409,
            "Searches are not recorded on this service (KB_ANALYTICS_ENABLED=0, or its log "
            "could not be opened: see the service's log), so there is no report.",
        )
    try:
        catalog = catalogs.current()
    except NoCatalogError:
        catalog = None
    return content_report(
        recorder.log,
        kb.list_documents(),
        catalog=catalog,
        embedder=kb.embedder,
        viewer_teams=viewer.teams,
        weeks=weeks,
    )
