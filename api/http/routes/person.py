"""`GET /people/{employee}/export` (admins): everything stored about one person as JSON, what
`kb person export` writes (api.person, docs/person-data.md). Audited as `person.export`, with a
reference that names nobody, before the data is sent. Erasure stays on the command line
(`kb person erase`): it cannot be undone, and a person's data is erased by someone on the
machine who answers for it, not by a key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from api.audit import principal_actor
from api.http.auth import Principal
from api.http.deps import KB, Audit, Caller, ServicesDep, client_ip
from api.http.errors import ApiError
from api.http.routes import errors
from api.person import EXPORT_ACTION, export_person, person_reference
from kb.errors import NotFoundError

router = APIRouter(tags=["people"])


def require_admin(caller: Caller) -> Principal:
    if caller.role != "admin":
        raise ApiError(
            403, f"A person's data is for admin keys only; yours is {caller.describe()}."
        )
    return caller


Admin = Annotated[Principal, Depends(require_admin)]


@router.get(
    "/people/{employee}/export",
    responses=errors(401, 403, 404),
    summary="Everything stored about one person, as JSON (admins; GDPR article 15)",
)
def export(
    employee: str,
    request: Request,
    kb: KB,
    services: ServicesDep,
    audit: Audit,
    caller: Admin,
) -> dict[str, Any]:
    backend = request.app.state.backend
    try:
        data = export_person(backend, kb, employee, keys_file=services.settings.api_keys_file)
    except NotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    log = backend.open_search_log()
    try:
        reference = person_reference(log.voter_secret(), employee)
    finally:
        log.close()
    audit.record(
        principal_actor(caller), EXPORT_ACTION, reference, {"to": "http"}, client_ip(request)
    )
    return data
