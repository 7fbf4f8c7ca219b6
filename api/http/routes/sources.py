"""`/sources` (organisers): the named sources that stay in sync, as `kb source ...` manages
them (api.sources, docs/sources.md): list, add, sync now (or make due for the scheduler),
remove with or without their documents."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, status

from api.http.deps import Organiser, SourcesDep, rate_limit
from api.http.errors import ApiError
from api.http.models import SourceIn, SourceOut, SourceRemovedOut, SyncOut
from api.http.routes import errors
from api.sources import build_spec, listing, remove, report_view
from kb.sources import SourceError

router = APIRouter(tags=["sources"])


@router.get(
    "/sources",
    response_model=list[SourceOut],
    responses=errors(401, 403),
    summary="The named sources: last sync, documents, failures, next run (organisers)",
)
def list_sources(caller: Organiser, sources: SourcesDep) -> list[SourceOut]:
    return [SourceOut(**view) for view in listing(sources.registry)]


@router.post(
    "/sources",
    response_model=SourceOut,
    status_code=status.HTTP_201_CREATED,
    responses=errors(400, 401, 403, 409, 422),
    summary="Add a source (organisers); it syncs at once when it has an interval",
)
def add_source(body: SourceIn, caller: Organiser, sources: SourcesDep) -> SourceOut:
    try:
        spec = build_spec(
            body.name,
            body.kind,
            body.location,
            branch=body.branch,
            paths=body.paths,
            ignore=body.ignore,
            defaults=body.defaults,
            team=body.team,
            course=body.course,
            visibility=body.visibility,
            link=body.link,
            every=body.every,
        )
    except SourceError as exc:
        raise ApiError(400, str(exc)) from None
    if sources.registry.get(spec.name) is not None:
        raise ApiError(409, f"There is already a source called {spec.name}: choose another name.")
    try:
        added = sources.registry.add(spec)
    except SourceError as exc:
        raise ApiError(409, str(exc)) from None
    if spec.every is not None and sources.scheduler is not None:
        sources.scheduler.wake()
    return SourceOut(**added.view())


@router.post(
    "/sources/{name}/sync",
    response_model=SyncOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=errors(401, 403, 404, 409, 429),
    dependencies=[Depends(rate_limit("ingest"))],
    summary="Sync a source: now (wait=true), or soon by the scheduler (organisers)",
)
def sync_source(
    name: str,
    caller: Organiser,
    sources: SourcesDep,
    wait: bool = Query(False, description="Run the sync in this request and answer with it."),
) -> SyncOut:
    """Without `wait` the source is made due and the scheduler of a process that runs jobs
    syncs it within seconds (GET /sources shows the outcome); with it, the request runs the
    sync (409 if another process is syncing it)."""
    if sources.registry.get(name) is None:
        raise ApiError(404, f"There is no source called {name}.")
    if not wait:
        sources.request_sync(name)
        return SyncOut(name=name, queued=True)
    try:
        report = sources.syncer.sync(name)
    except SourceError as exc:
        raise ApiError(409, str(exc)) from None
    return SyncOut(queued=False, **report_view(report))


@router.delete(
    "/sources/{name}",
    response_model=SourceRemovedOut,
    responses=errors(401, 403, 404),
    summary="Remove a source and, unless keep_documents, its documents (organisers)",
)
def remove_source(
    name: str, caller: Organiser, sources: SourcesDep, keep_documents: bool = False
) -> SourceRemovedOut:
    try:
        done = remove(sources.backend, sources.kb, sources.registry, name, keep=keep_documents)
    except SourceError as exc:
        raise ApiError(404, str(exc)) from None
    return SourceRemovedOut(**done)
