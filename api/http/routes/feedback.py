"""Readers' thumbs on search hits, over HTTP (kb.searchlog: `SearchRecorder.voted`).

- `POST /feedback` (anyone signed in): a thumb up, down, or withdrawn on one hit of a query,
  stored with the query and a pseudonym of the caller (never the key; the employee only with
  KB_ANALYTICS_RECORD_EMPLOYEE), so that the learned re-ranker counts distinct people;
- `GET /analytics/feedback` (organisers): per (query, document), how many readers' latest
  votes are up and down, most downvoted first, as `kb feedback list --json`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.feedback import feedback_list
from api.http.deps import KB, Organiser, Recorder, ViewerDep
from api.http.errors import ApiError
from api.http.models import FeedbackIn, FeedbackList, FeedbackRecorded
from api.http.routes import errors

router = APIRouter(tags=["analytics"])

DEFAULT_DAYS = 90
MAX_DAYS = 3650


@router.post(
    "/feedback",
    response_model=FeedbackRecorded,
    responses=errors(400, 401, 404, 422),
    summary="A thumb up or down on a search hit (what the search page sends)",
)
def record_feedback(
    kb: KB, viewer: ViewerDep, recorder: Recorder, body: FeedbackIn
) -> FeedbackRecorded:
    """The caller's vote on `doc_id` for `query`; a later vote replaces it, `"none"` withdraws
    it. A document the caller may not see answers 404, as everywhere."""
    query = body.query.strip()
    if not query:
        raise ApiError(422, "The query is empty: send the words that were searched for.")
    doc = kb.get_document(body.doc_id)
    if doc is None or not doc.visible_to(viewer.teams):
        raise ApiError(
            404,
            f"No document with id {body.doc_id!r}: vote on a hit's doc_id, as search gives it.",
        )
    recorder.voted(
        query,
        doc.doc_id,
        body.value,
        body.search_id,
        voter_key=viewer.principal.voter_key,
        employee=viewer.principal.employee,
    )
    return FeedbackRecorded(recorded=recorder.enabled)


@router.get(
    "/analytics/feedback",
    response_model=FeedbackList,
    responses=errors(401, 403, 409, 422),
    summary="Readers' votes per query and document (organisers; as `kb feedback list --json`)",
)
def list_feedback(
    kb: KB,
    caller: Organiser,
    viewer: ViewerDep,
    recorder: Recorder,
    since: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="days back of votes to count")
    ] = DEFAULT_DAYS,
    limit: Annotated[int, Query(ge=1, le=1000, description="rows at most")] = 100,
    order: Annotated[
        Literal["most_downvoted", "latest"],
        Query(description="most downvoted first (the default), or the latest vote first"),
    ] = "most_downvoted",
) -> FeedbackList:
    """Documents restricted to teams outside the caller's are counted (`hidden`), never named."""
    if recorder.log is None:
        raise ApiError(
            409,
            "Searches are not recorded on this service (KB_ANALYTICS_ENABLED=0, or its log "
            "could not be opened: see the service's log), so there are no votes to show.",
        )
    return feedback_list(recorder.log, kb, viewer.teams, since, limit, order)
