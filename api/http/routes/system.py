"""Liveness: answers without a key, so that load balancers and humans can check the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.http.deps import Caller, ServicesDep
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
