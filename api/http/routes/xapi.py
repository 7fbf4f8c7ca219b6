"""xAPI over HTTP (docs/xapi.md): `POST /xapi/statements` takes a statement or an array of
them, as an LRS's statements resource does, and `GET /xapi/statements?since=` gives ours, in
pages with `more`. Organisers (and admins) only: statements name people and their results.
Every answer carries `X-Experience-API-Version`."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from api.audit import principal_actor
from api.http.deps import Audit, CatalogsDep, Organiser, SettingsDep, client_ip
from api.http.errors import ApiError
from api.http.routes import errors
from recommender import (
    XAPI_DEFAULT_LIMIT,
    XAPI_MAX_LIMIT,
    XAPI_VERSION,
    XapiInvalidError,
    XapiMapping,
    current_catalog,
    export_statements,
    import_statements,
)

router = APIRouter(tags=["xapi"])
MAX_BODY = 50 * 1024 * 1024
_HEADERS = {"X-Experience-API-Version": XAPI_VERSION}


@router.post(
    "/xapi/statements",
    responses=errors(400, 401, 403, 409, 413),
    summary="Import xAPI statements: one, or an array (organisers)",
)
async def post_statements(
    request: Request,
    caller: Organiser,
    audit: Audit,
    catalogs: CatalogsDep,
    settings: SettingsDep,
    report: Annotated[
        bool, Query(description="answer with what was imported instead of the ids")
    ] = False,
    strict: Annotated[
        bool, Query(description="refuse the batch if any statement maps to nothing")
    ] = False,
) -> JSONResponse:
    """Each statement is checked against the xAPI specification; if any is not valid the
    batch is refused (400, `faults`: each bad statement's position, id and reason) and
    nothing is imported. Otherwise the answer is the statements' ids, in order, as an LRS's
    (`report=true`: the counts and the statements skipped as mapping to nothing)."""
    data = await request.body()
    if len(data) > MAX_BODY:
        raise ApiError(413, f"At most {MAX_BODY // (1024 * 1024)} MB of statements per request.")
    mapping = XapiMapping.from_file(settings.xapi_mapping) if settings.xapi_mapping else None
    # audited before anything is recorded (api.audit: no record, no change)
    audit.record(
        principal_actor(caller), "xapi.import", "upload", {"bytes": len(data)}, client_ip(request)
    )
    with catalogs.session() as store:
        try:
            done = import_statements(store, current_catalog(store), data, mapping, strict=strict)
        except XapiInvalidError as exc:
            raise ApiError(
                400,
                f"{exc.total} statement(s) cannot be imported; nothing was imported. Fix them "
                "and send the batch again.",
                headers=_HEADERS,
                faults=[f.to_dict() for f in exc.faults[:200]],
                total_faults=exc.total,
            ) from None
    body: Any = {"imported": True, **done.to_dict()} if report else list(done.ids)
    return JSONResponse(body, headers=_HEADERS)


@router.get(
    "/xapi/statements",
    responses=errors(400, 401, 403),
    summary="Our events as xAPI statements, oldest first, in pages (organisers)",
)
def get_statements(
    request: Request,
    caller: Organiser,
    audit: Audit,
    catalogs: CatalogsDep,
    settings: SettingsDep,
    since: Annotated[
        str | None, Query(max_length=64, description="only statements stored after this time")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=XAPI_MAX_LIMIT)] = XAPI_DEFAULT_LIMIT,
    after: Annotated[
        int | None, Query(ge=0, description="the cursor a previous page's `more` carries")
    ] = None,
) -> JSONResponse:
    """A StatementResult: `statements` and `more`, the URL of the next page ("" at the end).
    Each page is audited (`xapi.export`): statements name people and their results."""
    detail = {k: v for k, v in (("since", since), ("after", after)) if v is not None}
    audit.record(principal_actor(caller), "xapi.export", "page", detail, client_ip(request))
    with catalogs.session() as store:
        events = store.events()
    try:
        page = export_statements(
            events, base=settings.xapi_base, since=since, after=after, limit=limit
        )
    except ValueError as exc:
        raise ApiError(400, f"since: {exc}", headers=_HEADERS) from None
    more = ""
    if page.after is not None:
        query = {"limit": limit, "after": page.after, **({"since": since} if since else {})}
        more = "/xapi/statements?" + urlencode(query)
    return JSONResponse(page.to_dict(more), headers=_HEADERS)
