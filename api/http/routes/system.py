"""Liveness and readiness: answer without a key, so that load balancers, orchestrators and
humans can check the service.

- ``/health``: the store's size and model (its contract is unchanged).
- ``/health/live``: the process answers; nothing else is looked at (restart it if not).
- ``/health/ready``: it can serve searches: the model is loaded, the database answers, and
  every migration is applied (`kb db status`'s question); else 503 with the reason (take it
  out of the load balancer, do not restart it).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.http.deps import Audit, Caller, ServicesDep, client_ip
from api.http.errors import error_response
from api.http.models import Health, Me, Meta
from api.http.routes import errors
from kb.types import DOC_TYPES, SEARCH_MODES

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health, summary="Liveness, store size and model")
def health(services: ServicesDep) -> dict[str, Any]:
    stats = services.kb.stats()
    return {
        "status": "ok",
        "documents": stats["documents"],
        "chunks": stats["chunks"],
        "model": stats["model"],
        "dim": stats["dim"],
        "backend": stats["backend"],
        "pending_embeddings": stats["pending_embeddings"],
        "pending_documents": stats["pending_documents"],
        "catalog_loaded": services.catalogs.loaded(),
        "jobs": services.jobs.counts(),
        "auth": "disabled" if services.keyring is None else "api-keys",
    }


@router.get("/health/live", summary="Liveness: the process answers")
def live() -> dict[str, str]:
    """200 as long as the process serves requests; looks at nothing else, so that a database
    outage never gets every replica restarted."""
    return {"status": "live"}


def _not_ready(request: Request) -> str | None:
    """Why the service cannot serve searches yet, or None."""
    services = getattr(request.app.state, "services", None)
    backend = getattr(request.app.state, "backend", None)
    if services is None or backend is None:
        return "the service is still starting (loading the model and opening the stores)"
    try:
        services.kb.embedder.dim  # noqa: B018 - loaded by the lifespan; a failure says why
    except Exception as exc:
        return f"the model is not loaded: {exc}"
    try:
        services.kb.stats()  # the store answers (PostgreSQL: a pooled connection)
        behind = backend.schema_behind()
    except Exception as exc:
        lines = str(exc).strip().splitlines()
        return f"the database is unreachable: {lines[0] if lines else type(exc).__name__}"
    if behind:
        return f"the database schema is behind this kb: {', '.join(behind)}; run `kb db upgrade`"
    return None


@router.get(
    "/health/ready",
    summary="Readiness: model loaded, database reachable, migrations applied",
    responses=errors(503),
)
def ready(request: Request) -> Any:
    """200 when the service can serve searches; 503 with the reason (and Retry-After) when
    it cannot: still starting, the database unreachable, or its schema behind this kb."""
    reason = _not_ready(request)
    if reason is not None:
        return error_response(
            503, f"Not ready: {reason}.", {"Retry-After": "5"}, checks={"ready": False}
        )
    return JSONResponse(
        {"status": "ready", "checks": {"model": True, "database": True, "migrations": True}}
    )


@router.get("/meta", response_model=Meta, summary="Document types and search modes")
def meta() -> Meta:
    """The values the `type` and `mode` filters accept, for pages and clients to offer;
    like /health, it needs no key."""
    return Meta(doc_types=list(DOC_TYPES), modes=list(SEARCH_MODES))


@router.get(
    "/me",
    response_model=Me,
    summary="The role and employee the API key stands for",
    responses=errors(401),
)
def me(caller: Caller) -> dict[str, Any]:
    return {"role": caller.role, "employee": caller.employee, "team": caller.team}


@router.post(
    "/me/signin",
    response_model=Me,
    summary="Sign in from a web page: as `/me`, and the sign-in is audited",
    responses=errors(401),
)
def sign_in(request: Request, caller: Caller, audit: Audit) -> dict[str, Any]:
    """What the sign-in page calls: one `sign_in` record each time a reader signs in
    (docs/audit.md); the answer is `/me`'s."""
    audit.signed_in(caller, client_ip(request))
    return me(caller)
