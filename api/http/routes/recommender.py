"""Employees, teams and the catalogue: what `kb gaps/next/recommend/plan/team/complete/rate`
and `kb catalog load` do, over HTTP.

Employees may read and post only their own data; organisers and admins anyone's. The
recommender's errors map to statuses in api.http.errors (unknown id 404, invalid value 422,
no catalogue 409).
"""

from __future__ import annotations

import dataclasses
import uuid
import zipfile
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Path, Query, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from api.audit import principal_actor
from api.glossary import catalog_glossary_faults, check_catalog_glossary
from api.http.deps import (
    KB,
    Audit,
    Caller,
    CatalogsDep,
    Frameworks,
    FrameworksDep,
    Organiser,
    SettingsDep,
    ViewerDep,
    VisibleSource,
    client_ip,
    invalidate_suggestions,
    rate_limit,
)
from api.http.deps import check_employee_access as _check_access
from api.http.errors import ApiError
from api.http.models import (
    HOURS_MAX,
    K_MAX,
    CatalogLoaded,
    CompletionIn,
    EventIn,
    EventOut,
    NextModuleOut,
    PlanOut,
    RecommendationOut,
    TeamReportOut,
)
from api.http.routes import errors
from ingest.sources.archives import ArchiveLimits, ArchiveRefused, open_archive, survey
from ingest.uploads import MB, discard, display_name
from kb.language.organisers import GLOSSARY_FILE
from kb.search.glossary import load_catalog_glossary
from recommender import (
    CatalogInvalidError,
    Fault,
    GapReport,
    PlanMethod,
    UnknownIdError,
    current_catalog,
    employee_gaps,
    greedy_plan,
    load_catalog,
    load_catalog_dir,
    next_module,
    plan_modules,
    recommend,
    record_completion,
    record_rating,
    team_report,
)

router = APIRouter(tags=["recommender"])

EmployeeId = Annotated[str, Path(max_length=200, description="an employee id of the catalogue")]
CATALOG_FILES = ("skills.yaml", "teams.yaml", "courses.yaml", "employees.yaml")
# the training cycles, the organisers' glossary and the sign-in groups, when the catalogue has them
OPTIONAL_FILES = ("cycles.yaml", GLOSSARY_FILE, "sign_in.yaml")
_READ = errors(401, 403, 404, 409, 422)


def _speak(frameworks: Frameworks, answer: Any) -> Any:
    """`answer` as it is, or, where organisers approved mappings to a skills framework, with
    the framework's ids and labels added (`framework_skill`, `framework_skills`,
    `framework_reason`, `framework`: docs/frameworks.md). Sent as it stands then, since the
    response model knows none of the added fields; nothing it has is renamed or left out."""
    terms = frameworks.terms()
    if not terms:
        return answer
    return JSONResponse(terms.annotate(jsonable_encoder(answer)))


@router.get(
    "/employees/{employee_id}/gaps",
    response_model=GapReport,
    responses=_READ,
    summary="Skill gaps, largest weighted gap first",
)
def gaps(
    caller: Caller, catalogs: CatalogsDep, frameworks: FrameworksDep, employee_id: EmployeeId
) -> Any:
    _check_access(caller, employee_id)
    return _speak(frameworks, employee_gaps(catalogs.current(), employee_id))


@router.get(
    "/employees/{employee_id}/next-module",
    response_model=NextModuleOut,
    responses=_READ,
    summary="The next module to take, and why",
)
def next_module_route(
    caller: Caller, catalogs: CatalogsDep, frameworks: FrameworksDep, employee_id: EmployeeId
) -> Any:
    _check_access(caller, employee_id)
    return _speak(
        frameworks,
        next_module(catalogs.current(), employee_id, evidence=catalogs.evidence()).to_dict(),
    )


@router.get(
    "/employees/{employee_id}/recommendations",
    response_model=RecommendationOut,
    responses=_READ,
    summary="Modules, materials and colleagues for the largest gaps",
)
def recommendations(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    frameworks: FrameworksDep,
    employee_id: EmployeeId,
    k: Annotated[int, Query(ge=1, le=K_MAX, description="how many materials")] = 10,
) -> Any:
    """Materials are limited to what the employee may see and, when someone else asks, to
    what that caller may see too."""
    _check_access(viewer.principal, employee_id)
    catalog = catalogs.current()
    answer = recommend(catalog, employee_id, VisibleSource(kb, viewer.teams), k=k).to_dict()
    return _speak(frameworks, answer)


@router.get(
    "/employees/{employee_id}/plan",
    response_model=PlanOut,
    responses=_READ,
    summary="The modules within a budget of hours that close the most weighted gap",
)
def plan(
    caller: Caller,
    catalogs: CatalogsDep,
    frameworks: FrameworksDep,
    employee_id: EmployeeId,
    hours: Annotated[float, Query(gt=0, le=HOURS_MAX, description="training hours available")],
    method: Annotated[PlanMethod, Query(description="greedy is only a baseline")] = "exact",
) -> Any:
    _check_access(caller, employee_id)
    build = plan_modules if method == "exact" else greedy_plan
    answer = build(catalogs.current(), employee_id, hours, catalogs.evidence()).to_dict()
    return _speak(frameworks, answer)


@router.post(
    "/employees/{employee_id}/events",
    response_model=EventOut,
    status_code=201,
    responses=errors(400, 401, 403, 404, 409, 413, 422),
    summary="Record a module completion (with score) or a document rating",
)
def post_event(
    viewer: ViewerDep,
    kb: KB,
    catalogs: CatalogsDep,
    employee_id: EmployeeId,
    event: Annotated[EventIn, Body(description="kind 'completion' or 'rating'")],
) -> dict[str, Any]:
    """A completion raises the employee's levels in the module's skills; a rating (1..5) of a
    document shapes later material ranking. A document the employee (or the caller) may not
    see is unknown here."""
    _check_access(viewer.principal, employee_id)
    with catalogs.session() as store:
        catalog = current_catalog(store)
        employee = catalog.employee(employee_id)
        if isinstance(event, CompletionIn):
            return record_completion(
                store, catalog, employee_id, event.module, event.score
            ).to_dict()
        doc = kb.get_document(event.doc_id)
        if doc is not None and not doc.visible_to((employee.team,)):
            raise UnknownIdError("document", event.doc_id, "it is not in the knowledge base")
        source = VisibleSource(kb, viewer.teams)
        return record_rating(
            store, catalog, employee_id, event.doc_id, event.rating, source
        ).to_dict()


@router.get(
    "/teams/{team_id}",
    response_model=TeamReportOut,
    responses=_READ,
    summary="A team's aggregated gaps and the trainings to run next (organisers)",
)
def team(
    caller: Organiser,
    catalogs: CatalogsDep,
    frameworks: FrameworksDep,
    team_id: Annotated[str, Path(max_length=200, description="a team id of the catalogue")],
) -> Any:
    return _speak(frameworks, team_report(catalogs.current(), team_id).to_dict())


def _catalog_name(name: str) -> str | None:
    """The catalogue file a name stands for (`.yml` accepted), or None."""
    lower = name.lower()
    if lower.endswith(".yml"):
        lower = lower[:-4] + ".yaml"
    return lower if lower in CATALOG_FILES + OPTIONAL_FILES else None


_WHERE = "unexpected path; put the four files at the top level (or in one folder)"


def _unpack_catalog_zip(
    data: bytes, name: str, limit: int, faults: list[Fault]
) -> dict[str, bytes]:
    """The catalogue files of an archive: at its top level or in one folder."""
    found: dict[str, bytes] = {}
    try:
        with open_archive(data, name) as zf:
            surveyed = survey(zf, name, ArchiveLimits(max_entries=100, max_unpacked_bytes=limit))
            faults.extend(Fault(r.shown, "file", f"{r.reason}; {_WHERE}") for r in surveyed.refused)
            for entry in surveyed.entries:
                if len(entry.path.parts) > 2:
                    faults.append(
                        Fault(
                            entry.shown,
                            "file",
                            _WHERE,
                        )
                    )
                    continue
                target = _catalog_name(entry.path.name)
                if target is None:
                    faults.append(
                        Fault(
                            entry.shown,
                            "file",
                            f"not a catalogue file; expected {', '.join(CATALOG_FILES)}",
                        )
                    )
                elif target in found:
                    faults.append(Fault(entry.shown, "file", f"a second {target} in the archive"))
                else:
                    found[target] = zf.read(entry.info)
    except ArchiveRefused as exc:
        faults.append(Fault(name, "file", f"{exc.message}; a catalogue is four YAML files"))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:  # a damaged entry
        faults.append(Fault(name, "file", f"not a readable .zip archive: {exc}"))
    return found


@router.put(
    "/catalog",
    response_model=CatalogLoaded,
    responses=errors(400, 401, 403, 413, 422, 429),
    dependencies=[Depends(rate_limit("upload"))],
    summary="Load a catalogue (organisers): the four YAML files, or a .zip of them",
)
def put_catalog(
    request: Request,
    caller: Organiser,
    audit: Audit,
    catalogs: CatalogsDep,
    kb: KB,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile],
        File(
            description="Either the four files skills.yaml, teams.yaml, courses.yaml and "
            "employees.yaml (.yml accepted), with cycles.yaml and glossary.yaml (the "
            "organisers' glossary) if there are, as parts named "
            "`files` (the file names decide which is which), or one .zip holding them at its "
            "top level or in one folder."
        ),
    ],
) -> dict[str, Any]:
    """Validated exactly as `kb catalog load`: a faulty catalogue answers 422 listing every
    fault (`faults`: file, entry, message) and loads nothing, leaving the previous one in
    force. Recorded events (completions, ratings) are re-applied to the new catalogue. A
    glossary.yaml becomes the organisers' glossary search uses; without one, the glossary an
    earlier catalogue brought is removed (`glossary` says what was done)."""
    limit = int(settings.catalog_max_mb * MB)
    faults: list[Fault] = []
    contents: dict[str, bytes] = {}
    total = 0
    for upload in files:
        name = display_name(upload.filename) or "(unnamed part)"
        data = upload.file.read(limit + 1)
        total += len(data)
        if total > limit:
            raise ApiError(
                413,
                f"The catalogue upload is over {settings.catalog_max_mb:g} MB "
                "(KB_CATALOG_MAX_MB); a catalogue is four YAML files.",
                file=name,
            )
        if name.lower().endswith(".zip"):
            contents.update(_unpack_catalog_zip(data, name, limit, faults))
            continue
        target = _catalog_name(name)
        if target is None:
            faults.append(
                Fault(
                    name,
                    "file",
                    f"not a catalogue file; expected {', '.join(CATALOG_FILES)} or a .zip of them",
                )
            )
        elif target in contents:
            faults.append(Fault(name, "file", f"{target} was sent twice"))
        else:
            contents[target] = data
    folder = FsPath(settings.home) / "uploads" / f"catalog-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        for target, data in contents.items():
            (folder / target).write_bytes(data)
        if faults:
            try:
                load_catalog_dir(folder)
            except CatalogInvalidError as exc:
                faults += exc.faults
            raise CatalogInvalidError(faults + catalog_glossary_faults(folder))
        organisers = check_catalog_glossary(folder)  # faulty: nothing loads
        if organisers is not None:
            organisers = dataclasses.replace(organisers, source=f"upload ({GLOSSARY_FILE})")
        # audited before it loads (api.audit: no record, no change)
        detail = {"files": sorted(contents)}
        audit.record(principal_actor(caller), "catalog.load", "upload", detail, client_ip(request))
        with catalogs.session() as store:
            report = load_catalog(store, folder)
        glossary = load_catalog_glossary(kb.store, organisers)
        kb.searcher.glossary.forget_organisers()
    finally:
        discard(folder)
    invalidate_suggestions(request)  # its skills, courses and modules are suggested
    return {
        "loaded": True,
        "source": "upload",
        **{k: v for k, v in report.to_dict().items() if k != "source"},
        "glossary": dataclasses.asdict(glossary),
    }
