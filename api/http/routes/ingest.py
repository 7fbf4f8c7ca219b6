"""Uploads: checked and spooled at once (202 with a job id), ingested by the worker thread.

Everything knowable without parsing is refused synchronously with a 4xx naming the file
(see ingest.uploads); what only parsing reveals (an empty or broken file) is reported per file
in the job's results. Searches keep being served while jobs run.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile, status
from fastapi.responses import JSONResponse

from api.audit import principal_actor
from api.http.deps import (
    KB,
    Audit,
    Jobs,
    Organiser,
    SettingsDep,
    ViewerDep,
    client_ip,
    rate_limit,
)
from api.http.errors import ApiError
from api.http.models import JobAccepted, JobOut
from api.http.routes import errors
from ingest.jobs.base import Job, job_view
from ingest.uploads import MB, IncomingFile, UploadLimits, discard, spool_uploads
from kb import visible_to

router = APIRouter(tags=["ingest"])

TEAM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _visibility(values: list[str] | None) -> list[str]:
    """Team ids from repeated fields and/or comma-separated values, checked and de-duplicated."""
    teams: list[str] = []
    for value in values or []:
        for part in value.split(","):
            team = part.strip()
            if not team:
                continue
            if not TEAM_ID.match(team):
                raise ApiError(
                    422,
                    f"visibility: {team[:100]!r} is not a team id (letters, digits, '.', '_', "
                    "'-').",
                )
            if team not in teams:
                teams.append(team)
    return teams


def _optional(value: str | None, field: str) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > 200:
        raise ApiError(422, f"{field}: at most 200 characters.")
    return text


def upload_limits(settings: SettingsDep) -> UploadLimits:
    return UploadLimits(
        max_files=settings.upload_max_files,
        max_file_bytes=int(settings.upload_max_file_mb * MB),
        max_total_bytes=int(settings.upload_max_total_mb * MB),
        max_zip_entries=settings.zip_max_entries,
        max_zip_bytes=int(settings.zip_max_uncompressed_mb * MB),
    )


@router.post(
    "/ingest",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobAccepted,
    responses=errors(400, 401, 403, 413, 415, 422, 429),
    dependencies=[Depends(rate_limit("upload"))],
    summary="Upload files or .zip archives to ingest (organisers); answers at once",
)
def ingest(
    request: Request,
    caller: Organiser,
    audit: Audit,
    jobs: Jobs,
    settings: SettingsDep,
    files: Annotated[
        list[UploadFile],
        File(
            description="Markdown, notebooks, transcripts (.vtt/.srt), text, or .zip archives "
            "of them; a `<name>.meta.yaml` sidecar may accompany a file."
        ),
    ],
    team: Annotated[str | None, Form(description="default team for files naming none")] = None,
    course: Annotated[str | None, Form(description="default course for files naming none")] = None,
    visibility: Annotated[
        list[str] | None,
        Form(
            description="restrict to these team ids (repeat the field, or separate with "
            "commas); default: visible to everyone"
        ),
    ] = None,
) -> JSONResponse:
    """Check the upload (count, sizes, types, archive contents), spool it under the home
    folder and queue a job. Poll `status_url` for progress and per-file results."""
    teams = _visibility(visibility)
    default_team = _optional(team, "team")
    default_course = _optional(course, "course")
    job_id = jobs.new_job_id()
    spool = jobs.spool_for(job_id)
    try:
        incoming = [IncomingFile(f.filename, f.file) for f in files]
        uploads, expected = spool_uploads(incoming, spool, upload_limits(settings))
    except BaseException:
        discard(spool)
        raise
    job = Job(
        id=job_id,
        state="queued",
        created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        submitted_by=caller.describe(),
        team=default_team,
        course=default_course,
        visibility=teams,
        uploads=uploads,
    )
    try:  # audited before it is queued (api.audit: no record, no upload)
        audit.record(
            principal_actor(caller),
            "ingest.upload",
            job_id,
            {"files": [u.name for u in uploads], "team": default_team, "visibility": teams},
            client_ip(request),
        )
    except BaseException:
        discard(spool)
        raise
    jobs.submit(job)
    url = f"/ingest/jobs/{job_id}"
    body = JobAccepted(
        job_id=job_id,
        state="queued",
        status_url=url,
        files=[u.name for u in uploads],
        expected_documents=expected,
    )
    return JSONResponse(body.model_dump(), status_code=202, headers={"Location": url})


@router.get(
    "/ingest/jobs/{job_id}",
    response_model=JobOut,
    responses=errors(401, 403, 404, 422),
    summary="An ingest job's state, progress and per-file results (organisers)",
)
def get_job(
    caller: Organiser,
    viewer: ViewerDep,
    kb: KB,
    jobs: Jobs,
    job_id: Annotated[str, Path(max_length=64, description="the id POST /ingest answered")],
) -> dict[str, Any]:
    """Results naming a document the caller may not see (restricted to other teams) keep
    their status but not their name or document id (`hidden: true`)."""
    job = jobs.get(job_id)
    if job is None:
        raise ApiError(404, f"No ingest job {job_id!r}: use the job_id that POST /ingest gave.")
    teams = viewer.teams
    return job_view(job, kb, None if teams is None else lambda vis: visible_to(vis, teams))
