"""Search and documents: what `kb search`, `kb docs`, `kb show` and `kb rm` do, over HTTP.

Visibility is enforced here for every read: searches pass the caller's teams to the
knowledge base (so restricted documents never reach ranking, snippets included), and a
document the caller may not see answers 404 exactly like a missing one, so that its
existence is not revealed.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from api.audit import principal_actor
from api.http.deps import (
    KB,
    Audit,
    FromSearch,
    Organiser,
    Recorder,
    SuggesterDep,
    ViewerDep,
    client_ip,
    rate_limit,
)
from api.http.errors import ApiError
from api.http.models import (
    K_MAX,
    OFFSET_MAX,
    SUGGEST_LIMIT_MAX,
    SUGGEST_Q_MAX,
    AnswerOut,
    Deleted,
    DocumentList,
    LoggedSearchResponse,
    SuggestionOut,
    SuggestResponse,
)
from api.http.routes import errors
from kb import DocumentInfo, EmptyStoreError, KnowledgeBase, SearchFilters
from kb.search.quality import found_something_good
from kb.types import DocType, DocumentDetail, Hit, SearchMode

log = logging.getLogger("api.search")

router = APIRouter(tags=["knowledge base"])

Filter = Annotated[str | None, Query(max_length=200)]
DocId = Annotated[str, Path(max_length=200, description="a document id, as in search hits")]


def _not_found(doc_id: str) -> ApiError:
    return ApiError(
        404,
        f"No document with id {doc_id!r}: search, or GET /documents, shows document ids.",
    )


def _visible_document(
    kb: KnowledgeBase, doc_id: str, teams: tuple[str, ...] | None
) -> DocumentInfo:
    doc = kb.get_document(doc_id)
    if doc is None or not doc.visible_to(teams):
        raise _not_found(doc_id)
    return doc


@router.get(
    "/search",
    response_model=LoggedSearchResponse,
    responses=errors(401, 422, 429),
    dependencies=[Depends(rate_limit("search"))],
    summary="Hybrid search, one hit per document (as `kb search --json`)",
)
def search(
    kb: KB,
    viewer: ViewerDep,
    recorder: Recorder,
    suggester: SuggesterDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="the words to search")],
    k: Annotated[int, Query(ge=1, le=K_MAX, description="hits per page")] = 10,
    offset: Annotated[int, Query(ge=0, le=OFFSET_MAX, description="hits to skip")] = 0,
    team: Filter = None,
    course: Filter = None,
    type: Annotated[DocType | None, Query(description="document type")] = None,
    skill: Filter = None,
    module: Filter = None,
    tag: Filter = None,
    mode: SearchMode = "hybrid",
    group: Annotated[
        bool,
        Query(
            description="one result per training session, listing its other parts "
            "(docs/sessions.md); false: each document on its own"
        ),
    ] = True,
) -> LoggedSearchResponse:
    """Hits as `kb search --json` gives them; documents restricted to teams the caller is not
    in are left out before ranking. For the next page, ask again with `offset` + `k`. A first
    page that found nothing good says what was probably meant (`did_you_mean`), or null."""
    text = q.strip()
    if not text:
        raise ApiError(422, "The query is empty: give some words to search for (q=...).")
    filters = SearchFilters(
        team=team,
        course=course,
        type=type,
        skill=skill,
        module=module,
        tag=tag,
        viewer_teams=viewer.teams,
    )
    try:
        hits = kb.search(
            text, k=k, filters=filters, mode=mode, offset=offset, collapse_sessions=group
        )
    except EmptyStoreError:
        hits = []  # nothing ingested yet: an empty page, as for a query that matches nothing
    search_id = recorder.search(  # queued for the search log's thread: no wait, no failure
        text,
        mode=mode,
        filters=filters,
        k=k,
        offset=offset,
        hits=hits,
        employee=viewer.principal.employee,
    )
    pending = kb.pending()
    meant = None
    if offset == 0 and not found_something_good(mode, text, hits[0].score if hits else None):
        meant = suggester.did_you_mean(text)  # words everyone may see: no team's secret
    return LoggedSearchResponse(
        query=text,
        k=k,
        offset=offset,
        hits=hits,
        search_id=search_id,
        pending_embeddings=pending.chunks,
        pending_documents=pending.documents,
        did_you_mean=meant,
        answer=_answer(kb, text, hits) if offset == 0 else None,
    )


def _answer(kb: KnowledgeBase, text: str, hits: list[Hit]) -> AnswerOut | None:
    """The quoted answer, or None; a fault in finding one is logged and never fails the
    search it decorates."""
    try:
        quoted = kb.answer(text, hits)
    except Exception:
        log.exception("could not find a quoted answer for a search")
        return None
    return None if quoted is None else AnswerOut(**dataclasses.asdict(quoted))


@router.get(
    "/suggest",
    response_model=SuggestResponse,
    responses=errors(401, 422),
    summary="Completions as you type: terms, skills, courses, modules, titles, past queries",
)
def suggest(
    viewer: ViewerDep,
    suggester: SuggesterDep,
    q: Annotated[
        str,
        Query(
            max_length=SUGGEST_Q_MAX,
            description="what has been typed so far (empty: no suggestions)",
        ),
    ] = "",
    limit: Annotated[int, Query(ge=1, le=SUGGEST_LIMIT_MAX, description="at most this many")] = 8,
) -> SuggestResponse:
    """Entries that the typed text starts, by their text, a word of it, or (Chinese) their
    pinyin or its initials; best first, one per text. Titles of documents restricted to teams
    the caller is not in, and terms found only in them, are left out. Never waits: right
    after the service starts, or while the knowledge base is rebuilt, the answer may be empty
    or a little behind."""
    found = suggester.suggest(q, limit=limit, teams=viewer.teams)
    return SuggestResponse(
        query=q,
        suggestions=[SuggestionOut(text=s.text, kind=s.kind, matched=s.matched) for s in found],
    )


@router.get(
    "/documents",
    response_model=DocumentList,
    responses=errors(401, 422),
    summary="List stored documents (as `kb docs --json`)",
)
def list_documents(
    kb: KB,
    viewer: ViewerDep,
    team: Filter = None,
    course: Filter = None,
    type: Annotated[DocType | None, Query(description="document type")] = None,
    limit: Annotated[int, Query(ge=1, le=K_MAX)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DocumentList:
    filters = SearchFilters(team=team, course=course, type=type, viewer_teams=viewer.teams)
    docs = kb.list_documents(filters)
    page = docs[offset : offset + limit]
    return DocumentList(total=len(docs), offset=offset, documents=[d.public() for d in page])


@router.get(
    "/documents/{doc_id}",
    response_model=DocumentDetail,
    responses=errors(401, 404, 422),
    summary="A document's metadata and chunks (as `kb show`)",
)
def get_document(
    request: Request,
    kb: KB,
    viewer: ViewerDep,
    recorder: Recorder,
    audit: Audit,
    doc_id: DocId,
    from_search: FromSearch = None,
) -> DocumentDetail:
    """A read of a team-restricted document is audited (api.audit); a public one is not."""
    doc = _visible_document(kb, doc_id, viewer.teams)
    if doc.visibility:
        audit.record(
            principal_actor(viewer.principal),
            "document.read_restricted",
            doc.doc_id,
            {"visibility": list(doc.visibility)},
            client_ip(request),
        )
    recorder.opened(doc.doc_id, from_search, viewer.principal.employee)  # for the search log
    return kb.detail(doc)


@router.delete(
    "/documents/{doc_id}",
    response_model=Deleted,
    responses=errors(401, 403, 404, 422),
    summary="Delete a document (organisers; as `kb rm`)",
)
def delete_document(
    request: Request, kb: KB, caller: Organiser, viewer: ViewerDep, audit: Audit, doc_id: DocId
) -> Deleted:
    """Audited before the document is deleted (api.audit: no record, no deletion)."""
    doc = _visible_document(kb, doc_id, viewer.teams)
    audit.record(
        principal_actor(caller),
        "document.delete",
        doc.doc_id,
        {"title": doc.title, "origin": doc.origin},
        client_ip(request),
    )
    kb.delete(doc.doc_id)
    kb.flush()
    return Deleted(deleted=doc.public())
