"""The skills framework over HTTP, for organisers: import one, propose and decide the mapping
from the catalogue's skills (what `kb catalog import-framework` / `map-framework` do;
docs/frameworks.md). The organisers' page has a section over these routes."""

from __future__ import annotations

import re
import uuid
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Path, Request, UploadFile

from api.audit import principal_actor
from api.http.deps import (
    KB,
    Audit,
    CatalogsDep,
    FrameworksDep,
    Organiser,
    SettingsDep,
    client_ip,
    rate_limit,
)
from api.http.errors import ApiError
from api.http.models import FrameworkDecisionIn, FrameworkImportedOut, FrameworkMappingOut
from api.http.routes import errors
from ingest.uploads import MB, discard, display_name
from recommender import (
    FRAMEWORK_FORMATS,
    FrameworkInvalidError,
    NoFrameworkError,
    approve_framework_skill,
    import_framework,
    mapping_view,
    propose_mapping,
    reject_framework_skill,
)

router = APIRouter(tags=["frameworks"])
_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.(csv|ttl|rdf|owl|xml|nt|n3|jsonld|json)$"
_RDF = (".ttl", ".rdf", ".owl", ".xml", ".nt", ".n3", ".jsonld", ".json")


def _no_framework(exc: NoFrameworkError) -> ApiError:
    return ApiError(
        409, "No skills framework imported yet: import one with POST /frameworks (organisers)."
    )


@router.post(
    "/frameworks",
    response_model=FrameworkImportedOut,
    responses=errors(400, 401, 403, 413, 422, 429),
    dependencies=[Depends(rate_limit("upload"))],
    summary="Import a skills framework (organisers): ESCO's CSV files or the simple CSV",
)
def post_framework(
    request: Request,
    caller: Organiser,
    audit: Audit,
    frameworks: FrameworksDep,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile],
        File(
            description="format esco: skills_en.csv and any skills_<lang>.csv, skillGroups_en.csv "
            "and broaderRelationsSkillPillar.csv beside it (or ESCO's RDF file); format csv: "
            "one file; format skos: one RDF file (.ttl, .rdf, .nt, .jsonld)."
        ),
    ],
    format: Annotated[str, Form(description="esco, csv or skos")],
    name: Annotated[str, Form(max_length=120)] = "",
) -> dict[str, Any]:
    """Read exactly as `kb catalog import-framework`: a faulty framework answers 422 listing
    every fault (file, line, message) and imports nothing."""
    if format not in FRAMEWORK_FORMATS:
        raise ApiError(422, f"format must be one of {', '.join(FRAMEWORK_FORMATS)}, not {format!r}")
    limit = int(settings.catalog_max_mb * MB)
    folder = FsPath(settings.home) / "uploads" / f"framework-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        total, names = 0, []
        for upload in files:
            shown = display_name(upload.filename) or "(unnamed part)"
            base = shown.rsplit("/", 1)[-1]
            if not re.match(_NAME, base) or base in names:
                raise ApiError(
                    422, f"{shown}: send .csv (or SKOS) files with distinct plain names", file=shown
                )
            data = upload.file.read(limit + 1)
            total += len(data)
            if total > limit:
                raise ApiError(
                    413,
                    f"The framework upload is over {settings.catalog_max_mb:g} MB "
                    "(KB_CATALOG_MAX_MB).",
                    file=shown,
                )
            (folder / base).write_bytes(data)
            names.append(base)
        rdf = len(names) == 1 and names[0].lower().endswith(_RDF)
        if format in ("csv", "skos") and len(names) != 1:
            raise ApiError(422, f"format {format} takes exactly one file")
        target = folder if format == "esco" and not rdf else folder / names[0]
        detail = {"format": format, "files": sorted(names)}
        audit.record(
            principal_actor(caller), "framework.import", "upload", detail, client_ip(request)
        )
        try:
            with frameworks.session() as store:
                report = import_framework(store, target, format, name=name)
        except FrameworkInvalidError as exc:
            raise ApiError(
                422,
                f"The framework has {exc.total} fault(s) and nothing was imported; fix them all "
                "and upload it again.",
                faults=[f.to_dict() for f in exc.faults],
                total_faults=exc.total,
            ) from None
    finally:
        discard(folder)
    result = report.to_dict()
    result["framework"]["source"] = "upload"
    return result


@router.get(
    "/frameworks",
    responses=errors(401, 403),
    summary="The skills framework imported, or null (organisers)",
)
def get_framework(caller: Organiser, frameworks: FrameworksDep) -> dict[str, Any]:
    """`{"framework": {name, source, format, skills, groups, languages}}`, or
    `{"framework": null}` before any import (200 either way: nothing is wrong)."""
    with frameworks.session() as store:
        framework = store.framework()
    return {"framework": None if framework is None else framework.summary()}


@router.get(
    "/frameworks/mapping",
    response_model=FrameworkMappingOut,
    responses=errors(401, 403, 409),
    summary="The mapping from the catalogue's skills to the framework's (organisers)",
)
def get_mapping(
    caller: Organiser, frameworks: FrameworksDep, catalogs: CatalogsDep
) -> dict[str, Any]:
    catalog = catalogs.current()
    try:
        with frameworks.session() as store:
            return mapping_view(store, catalog)
    except NoFrameworkError as exc:
        raise _no_framework(exc) from None


@router.post(
    "/frameworks/mapping/propose",
    response_model=FrameworkMappingOut,
    responses=errors(401, 403, 409),
    summary="Propose framework skills for every catalogue skill (organisers)",
)
def post_propose(
    caller: Organiser, frameworks: FrameworksDep, catalogs: CatalogsDep, kb: KB
) -> dict[str, Any]:
    """Label and embedding similarity (the knowledge base's embedder); decisions stay."""
    catalog = catalogs.current()
    try:
        with frameworks.session() as store:
            propose_mapping(store, catalog, kb.embedder)
            return mapping_view(store, catalog)
    except NoFrameworkError as exc:
        raise _no_framework(exc) from None


@router.put(
    "/frameworks/mapping/{skill}",
    response_model=FrameworkMappingOut,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Approve, edit or reject one catalogue skill's framework skill (organisers)",
)
def put_decision(
    request: Request,
    caller: Organiser,
    audit: Audit,
    frameworks: FrameworksDep,
    catalogs: CatalogsDep,
    skill: Annotated[str, Path(max_length=200, description="a skill id of the catalogue")],
    decision: Annotated[FrameworkDecisionIn, Body()],
) -> dict[str, Any]:
    catalog = catalogs.current()
    detail = {"status": decision.status, "framework_id": decision.framework_id}
    audit.record(principal_actor(caller), "framework.map", skill, detail, client_ip(request))
    by = principal_actor(caller)
    try:
        with frameworks.session() as store:
            if decision.status == "approved":
                approve_framework_skill(store, catalog, skill, decision.framework_id, by=by)
            elif decision.status == "rejected":
                reject_framework_skill(store, catalog, skill, by=by)
            else:
                store.undecide(skill)
            return mapping_view(store, catalog)
    except NoFrameworkError as exc:
        raise _no_framework(exc) from None
