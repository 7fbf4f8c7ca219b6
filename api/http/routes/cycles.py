"""Training cycles over HTTP: what `kb cycle list | import | report | followup | kpi | gains`
do, and creating a cycle.

Organisers (and admins) list cycles, create them, import their results and read their
reports, whole; an employee reads only their own results, at
`GET /employees/{id}/cycles`. A report lists no knowledge-base documents, so it has nothing
restricted to show.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Body, File, Form, Path, Query, UploadFile
from fastapi.responses import Response

from api.http.deps import KB, Caller, CatalogsDep, Organiser
from api.http.deps import check_employee_access as _check_access
from api.http.errors import ApiError
from api.http.models import CycleFormat, CycleIn, CycleList, FollowupIn, Imported, MyCycles
from api.http.routes import errors
from recommender import (
    CYCLE_FORMATS,
    Cycle,
    CycleExistsError,
    CycleInvalidError,
    CycleReport,
    FollowupForm,
    ImportFile,
    ImportInvalidError,
    ImportKind,
    build_report,
    create_cycle,
    current_catalog,
    import_kpis,
    import_results,
    kpi_summary,
    list_cycles,
    load_cycle_state,
    measure_gains,
    my_cycles,
    now_iso,
    schedule_followup,
    scheduled,
    to_html,
    to_markdown,
)

router = APIRouter(tags=["cycles"])

CycleId = Annotated[str, Path(max_length=200, description="a cycle id")]
assert set(get_args(CycleFormat)) == set(CYCLE_FORMATS)
MAX_IMPORT_FILES = 20


def _faults(exc: ImportInvalidError | CycleInvalidError, message: str) -> ApiError:
    faults = [f.to_dict() for f in exc.faults]
    return ApiError(422, message, faults=faults, total_faults=getattr(exc, "total", len(faults)))


@router.get(
    "/cycles",
    response_model=CycleList,
    responses=errors(401, 403, 409),
    summary="Every training cycle, latest first, with its figure of merit (organisers)",
)
def get_cycles(caller: Organiser, catalogs: CatalogsDep) -> dict[str, Any]:
    with catalogs.session() as store:
        return {"cycles": list_cycles(load_cycle_state(store))}


@router.post(
    "/cycles",
    response_model=Cycle,
    status_code=201,
    responses=errors(400, 401, 403, 409, 413, 422),
    summary="Create a training cycle (organisers)",
)
def post_cycle(
    caller: Organiser, catalogs: CatalogsDep, cycle: Annotated[CycleIn, Body()]
) -> Cycle:
    """Validated as a `cycles.yaml` entry against the current catalogue (422 lists every
    fault); recorded as an event, so it outlives catalogue reloads. 409 if the id is taken."""
    with catalogs.session() as store:
        try:
            return create_cycle(
                store, current_catalog(store), cycle.model_dump(mode="json", exclude_none=True)
            )
        except CycleInvalidError as exc:
            raise _faults(
                exc, f"The cycle has {len(exc.faults)} fault(s); nothing was recorded."
            ) from None
        except CycleExistsError as exc:
            raise ApiError(
                409, f"A cycle with id {exc.cycle_id!r} already exists; choose another id."
            ) from None


@router.get(
    "/cycles/{cycle_id}/report",
    response_model=CycleReport,
    responses={
        **errors(401, 403, 404, 409, 422),
        200: {
            "description": "The report: JSON, or with `format` md or html a one-page file "
            "to send on",
            "content": {"text/markdown": {}, "text/html": {}},
        },
    },
    summary="The effect of a cycle (organisers)",
)
def get_report(
    caller: Organiser,
    catalogs: CatalogsDep,
    kb: KB,
    cycle_id: CycleId,
    format: Annotated[
        Literal["json", "md", "html"], Query(description="json (default), md or html")
    ] = "json",
    window_days: Annotated[
        int, Query(ge=1, le=730, description="team results: KPI days before and after")
    ] = 90,
) -> Any:
    """Levels before and after per skill, the weighted gain, the figure of merit beside every
    earlier cycle, completion, attendance, pass rate, survey means and comments by theme, the
    participants who gained least, applied at work (follow-up surveys) and team results (KPIs,
    difference-in-differences)."""
    with catalogs.session() as store:
        state = load_cycle_state(store)
    report = build_report(state, cycle_id, kb.embedder.encode_documents, window_days)
    if format == "json":
        return report
    name = re.sub(r"[^A-Za-z0-9._-]", "_", report.cycle.id)
    generated = now_iso()[:10]
    if format == "md":
        return Response(
            to_markdown(report, generated),
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="cycle-{name}.md"'},
        )
    return Response(
        to_html(report, generated),
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="cycle-{name}.html"',
            # the page holds no script; should it be opened from here, none may run
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


@router.post(
    "/cycles/{cycle_id}/imports",
    response_model=Imported,
    status_code=201,
    responses=errors(400, 401, 403, 404, 409, 413, 422),
    summary="Import a cycle's assessment, survey or attendance results from CSV (organisers)",
)
def post_import(
    caller: Organiser,
    catalogs: CatalogsDep,
    cycle_id: CycleId,
    files: Annotated[
        list[UploadFile],
        File(
            description="CSV files as quiz, exam and survey tools export them (the columns: "
            "docs/cycles.md, 'The CSV files')"
        ),
    ],
    kind: Annotated[
        ImportKind | None,
        Form(description="assessment, survey or attendance; default: told by each file's columns"),
    ] = None,
) -> dict[str, Any]:
    """Every faulty row is named by file and line (422, `faults`) and then nothing is
    imported; the rows of all the files go in together. A file imported before is skipped."""
    if len(files) > MAX_IMPORT_FILES:
        raise ApiError(413, f"At most {MAX_IMPORT_FILES} files per import.")
    loaded = [ImportFile(f.filename or "upload.csv", f.file.read()) for f in files]
    with catalogs.session() as store:
        try:
            reports = import_results(store, current_catalog(store), cycle_id, loaded, kind)
        except ImportInvalidError as exc:
            raise _faults(
                exc,
                f"The files have {exc.total} fault(s); nothing was imported. Fix them and send "
                "the files again.",
            ) from None
    return {"imported": True, "files": reports}


@router.get(
    "/employees/{employee_id}/cycles",
    response_model=MyCycles,
    responses=errors(401, 403, 404, 409),
    summary="The cycles an employee took part in, with their own results",
)
def get_my_cycles(
    caller: Caller,
    catalogs: CatalogsDep,
    employee_id: Annotated[str, Path(max_length=200, description="an employee id")],
) -> dict[str, Any]:
    """An employee sees only their own results (levels before and after, scores,
    attendance, survey answer); organisers may read anyone's."""
    _check_access(caller, employee_id)
    with catalogs.session() as store:
        state = load_cycle_state(store)
    return {"employee": employee_id, "cycles": my_cycles(state, employee_id)}


# -- follow-up surveys, team KPIs, modules' proven gains -----------------------------------------


def _uploads(files: list[UploadFile]) -> list[ImportFile]:
    if len(files) > MAX_IMPORT_FILES:
        raise ApiError(413, f"At most {MAX_IMPORT_FILES} files per import.")
    return [ImportFile(f.filename or "upload.csv", f.file.read()) for f in files]


@router.post(
    "/cycles/{cycle_id}/followups",
    status_code=201,
    responses=errors(400, 401, 403, 404, 409, 422),
    summary="Schedule follow-up surveys of a cycle (organisers)",
)
def post_followups(
    caller: Organiser, catalogs: CatalogsDep, cycle_id: CycleId, body: Annotated[FollowupIn, Body()]
) -> dict[str, Any]:
    """One follow-up per entry of `days` after the cycle's end, each with `forms`; the same
    days again replace that follow-up's forms (`kb cycle followup schedule`)."""
    with catalogs.session() as store:
        made = schedule_followup(store, current_catalog(store), cycle_id, body.days, body.forms)
    return {"cycle": cycle_id, "followups": made}


@router.get(
    "/cycles/{cycle_id}/followups",
    responses=errors(401, 403, 404, 409),
    summary="A cycle's scheduled follow-up surveys (organisers)",
)
def get_followups(caller: Organiser, catalogs: CatalogsDep, cycle_id: CycleId) -> dict[str, Any]:
    with catalogs.session() as store:
        cycle = current_catalog(store).cycle(cycle_id)
        return {"cycle": cycle_id, "followups": scheduled(cycle, store.events(cycle=cycle_id))}


@router.post(
    "/cycles/{cycle_id}/followups/{followup_id}/imports",
    response_model=Imported,
    status_code=201,
    responses=errors(400, 401, 403, 404, 409, 413, 422),
    summary="Import answers to a follow-up survey from CSV (organisers)",
)
def post_followup_import(
    caller: Organiser,
    catalogs: CatalogsDep,
    cycle_id: CycleId,
    followup_id: Annotated[str, Path(max_length=20, description="a follow-up id, e.g. d30")],
    files: Annotated[list[UploadFile], File(description="CSV files (docs/evaluation.md)")],
    form: Annotated[Literal["self", "manager"], Form(description="which form")] = "self",
) -> dict[str, Any]:
    """As `POST /cycles/{id}/imports`, for one form of a scheduled follow-up: all or nothing,
    each faulty row named (422); 400 when the follow-up or form is not scheduled."""
    loaded = _uploads(files)
    with catalogs.session() as store:
        try:
            reports = import_results(
                store,
                current_catalog(store),
                cycle_id,
                loaded,
                followup=FollowupForm(followup_id, form),
            )
        except ImportInvalidError as exc:
            raise _faults(
                exc, f"The files have {exc.total} fault(s); nothing was imported."
            ) from None
    return {"imported": True, "files": reports}


@router.post(
    "/kpis/imports",
    status_code=201,
    responses=errors(400, 401, 403, 409, 413, 422),
    summary="Import team KPIs from CSV: team, metric, date, value (organisers)",
)
def post_kpi_import(
    caller: Organiser,
    catalogs: CatalogsDep,
    files: Annotated[list[UploadFile], File(description="CSV files: team, metric, date, value")],
) -> dict[str, Any]:
    """All or nothing, each faulty row named by file and line (422); a file imported before
    is skipped; a later value for the same team, metric and date replaces the earlier one."""
    loaded = _uploads(files)
    with catalogs.session() as store:
        try:
            reports = import_kpis(store, current_catalog(store), loaded)
        except ImportInvalidError as exc:
            raise _faults(
                exc, f"The files have {exc.total} fault(s); nothing was imported."
            ) from None
    return {"imported": True, "files": reports}


@router.get(
    "/kpis",
    responses=errors(401, 403),
    summary="The team KPIs stored: each metric's teams and dates (organisers)",
)
def get_kpis(caller: Organiser, catalogs: CatalogsDep) -> dict[str, Any]:
    with catalogs.session() as store:
        return kpi_summary(store.events())


@router.get(
    "/cycles/gains",
    responses=errors(401, 403, 409),
    summary="Modules ranked by the gain they proved, and those near zero (organisers)",
)
def get_gains(caller: Organiser, catalogs: CatalogsDep) -> dict[str, Any]:
    """Each module's measured gain per skill (levels, before -> after assessments), its 95%
    interval, sample size and gain per participant hour; `near_zero` lists the modules whose
    gain was measured near zero, by the rule `rule` that `next` and plans use."""
    with catalogs.session() as store:
        evidence = measure_gains(current_catalog(store), store.events())
    return evidence.to_dict()
