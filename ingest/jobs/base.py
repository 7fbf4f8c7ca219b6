"""The job queue's contract, and what every queue shares: a job's record and view, the upload
spool, and `run_job`, which ingests one job's files the same way whichever queue holds it.

`JobQueue` is the seam: `ingest.jobs.local.JobManager` (job files in the home folder, one
worker thread) and `ingest.jobs.postgres.PgJobManager` (the queue in the database, run by any
replica or `kb worker`); `api.backends` opens the one in use."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from ingest import IngestReport, Limits
from kb import KnowledgeBase

log = logging.getLogger("ingest.jobs")

Sees = Callable[[Sequence[str]], bool]  # may the viewer see a document restricted to these?
JobFinished = Callable[["Job"], None]  # told each job a worker ran, once it is done or failed

JobState = Literal["queued", "running", "done", "failed", "interrupted"]
FINISHED: tuple[JobState, ...] = ("done", "failed", "interrupted")
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
PERSIST_EVERY = 1.0  # seconds between writes of a running job's progress
HIDDEN = "(hidden: restricted to teams you are not in)"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Upload:
    """One uploaded file: the name its uploader gave it and where it was spooled."""

    name: str
    size: int
    path: str


@dataclass
class Job:
    id: str
    state: JobState
    created_at: str
    submitted_by: str
    team: str | None = None
    course: str | None = None
    visibility: list[str] = field(default_factory=list)
    uploads: list[Upload] = field(default_factory=list)
    done: int = 0
    total: int | None = None
    current: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    files: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        uploads = [Upload(**u) for u in data.get("uploads") or []]
        return cls(**{**data, "uploads": uploads})


def per_file_results(
    kb: KnowledgeBase, processed: list[str], report: IngestReport
) -> list[dict[str, Any]]:
    """One result per file the ingest saw, in order: added/updated/unchanged with its document
    id, or failed with the reason. `processed` is what the progress callback reported.

    Each stored result also records the document's visibility, so that a job still hides it
    from other teams after the document is deleted (see `job_view`)."""
    failed: dict[str, str] = {}
    for failure in report.failed:
        failed.setdefault(failure["path"], failure["error"])
    stored = {d["source"]: d for d in report.documents}
    results: list[dict[str, Any]] = []
    for source in dict.fromkeys(processed):
        if source in failed:
            results.append({"source": source, "status": "failed", "error": failed[source]})
        elif source in stored:
            doc = stored[source]
            info = kb.get_document(doc["doc_id"])
            results.append(
                {
                    "source": source,
                    "status": doc["status"],
                    "doc_id": doc["doc_id"],
                    "visibility": list(info.visibility) if info else [],
                }
            )
        else:
            known = [d for d in kb.find_documents(source) if d.origin.startswith("upload:")]
            results.append(
                {
                    "source": source,
                    "status": "unchanged",
                    "doc_id": known[0].doc_id if known else None,
                    "visibility": list(known[0].visibility) if known else [],
                }
            )
    for path, error in failed.items():  # failures the progress callback never named
        if path not in processed:
            results.append({"source": path, "status": "failed", "error": error})
    return results


class JobAbandoned(Exception):
    """Raised by a job's `save` when the job is no longer this worker's to finish (another
    worker took it over): the run stops and records nothing more."""


def run_job(
    job: Job,
    paths: Sequence[Path],
    kb: KnowledgeBase,
    ingest: Callable[..., IngestReport],
    limits: Limits,
    chunk_tokens: int,
    lock: threading.Lock,
    save: Callable[[Job], None],
) -> None:
    """Ingest a running job's files (`paths[i]` holds `job.uploads[i]`) and record the outcome
    in `job`: its progress while it runs, saved at most once every PERSIST_EVERY seconds, then
    done with per-file results and a summary, or failed with the reason, saved once more.

    Every change of `job` and every `save` happen under `lock`. A failing ingest is recorded,
    not raised; `JobAbandoned` raised by `save` stops the run and propagates.
    """
    processed: list[str] = []
    last_write = time.monotonic()

    def progress(done: int, total: int, current: str) -> None:
        nonlocal last_write
        processed.append(current)
        with lock:
            job.done, job.total, job.current = done, total, current
            if time.monotonic() - last_write >= PERSIST_EVERY:
                save(job)
                last_write = time.monotonic()

    names = {path: upload.name for path, upload in zip(paths, job.uploads, strict=True)}
    try:
        report = ingest(
            kb,
            list(paths),
            job.team,
            job.course,
            visibility=tuple(job.visibility),
            limits=limits,
            chunk_tokens=chunk_tokens,
            progress=progress,
            names=names,
        )
    except JobAbandoned:
        raise
    except Exception as exc:
        log.exception("ingest job %s failed", job.id)
        with lock:
            job.state = "failed"
            job.error = f"the ingest stopped: {exc}; files already stored are kept"
            job.files = [
                {"source": u.name, "status": "failed", "error": job.error} for u in job.uploads
            ]
            job.finished_at = now_iso()
            job.current = None
            save(job)
        return
    files = per_file_results(kb, processed, report)
    with lock:
        job.files = files
        job.summary = asdict(report.summary())
        job.state = "done"
        job.current = None
        job.finished_at = now_iso()
        if job.total is None:
            job.total = 0
        save(job)


def _result_hidden(result: dict[str, Any], kb: KnowledgeBase, sees: Sees, job: Job) -> bool:
    """A result names a document the viewer may not see: by its current visibility, or the
    one recorded when it was stored if it is gone; a failed file, by any stored document of
    the same name (a broken new version of a restricted write-up)."""
    doc_id = result.get("doc_id")
    if doc_id:
        doc = kb.get_document(doc_id)
        visibility = doc.visibility if doc else result.get("visibility", job.visibility)
        return not sees(visibility)
    return any(not sees(doc.visibility) for doc in kb.find_documents(result["source"]))


def job_view(job: Job, kb: KnowledgeBase, sees: Sees | None) -> dict[str, Any]:
    """The job as `GET /ingest/jobs/{id}` shows it to a viewer (`sees` None: one who sees
    every document, such as an admin).

    The documents' own visibility rule applies to the job: a result whose document the viewer
    may not see keeps its status (so the job still counts it: "3 stored") but loses its name,
    document id and error (`hidden: true`, and `hidden_files` counts them). When the upload
    itself was restricted (the `visibility` field) to teams the viewer is not in, every file
    name in the job is hidden, and so are those teams. The name of the file being ingested
    right now is shown only to viewers who see everything: a file's own metadata may
    restrict it, and that is known only once it is parsed.
    """
    data = job.to_dict()
    files: list[dict[str, Any]] = [
        {k: v for k, v in result.items() if k != "visibility"} for result in job.files
    ]
    view: dict[str, Any] = {
        **{k: v for k, v in data.items() if k not in ("done", "total", "current", "files")},
        "uploads": [{"name": u.name, "size": u.size} for u in job.uploads],
        "progress": {"done": job.done, "total": job.total, "current": job.current},
        "files": files,
    }
    if sees is None:
        return view
    job_hidden = not sees(job.visibility)
    hidden: set[str] = set()
    for n, result in enumerate(job.files):
        if job_hidden or _result_hidden(result, kb, sees, job):
            hidden.add(result["source"])
            files[n] = {
                "source": HIDDEN,
                "status": result["status"],
                "doc_id": None,
                "error": None,
                "hidden": True,
            }
    view["hidden_files"] = sum(1 for f in files if f.get("hidden"))
    view["progress"]["current"] = None
    view["uploads"] = [
        {"name": HIDDEN if job_hidden or u.name in hidden else u.name, "size": u.size}
        for u in job.uploads
    ]
    if job.summary is not None:
        view["summary"] = {
            **job.summary,
            "failed": [
                {"path": HIDDEN, "error": HIDDEN} if job_hidden or f["path"] in hidden else f
                for f in job.summary.get("failed", [])
            ],
        }
    if job_hidden:
        view["visibility"] = []
        view["visibility_hidden"] = True
        if job.error:
            view["error"] = "the ingest did not finish; " + HIDDEN
    return view


class JobQueue(Protocol):
    """What the HTTP service needs of ingest jobs, wherever they are kept: `JobManager` (records
    in the home folder, one worker thread in this process) and `ingest.jobs.postgres.PgJobManager`
    (a queue in PostgreSQL that any replica or `kb worker` runs)."""

    def recover(self) -> int: ...
    def start(self) -> None: ...
    def stop(self, wait: float) -> bool: ...
    def new_job_id(self) -> str: ...
    def spool_for(self, job_id: str) -> Path: ...
    def discard_spool(self, job_id: str) -> None: ...
    def submit(self, job: Job) -> Job: ...
    def get(self, job_id: str) -> Job | None: ...
    def counts(self) -> dict[str, int]: ...

    # told each job this process ran, finished (done or failed): the api layer's metrics
    on_finished: JobFinished | None


class SharedJobQueue(JobQueue, Protocol):
    """A queue other processes share (`ingest.jobs.postgres.PgJobManager`), which `kb worker`
    runs: `work` takes jobs until `ask_to_stop` (or, with `once`, until none is waiting)."""

    def work(self, *, once: bool = False) -> int: ...
    def ask_to_stop(self) -> None: ...
    def close(self) -> None: ...


class UploadSpool:
    """Where uploaded files wait for their job: `<home>/uploads/<job id>/`, shared by both
    job queues (PostgreSQL's moves the files into the database at `submit`)."""

    def __init__(self, home: Path) -> None:
        self.spool_dir = home / "uploads"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self.on_finished: JobFinished | None = None

    def _finished(self, job: Job) -> None:
        """Tell `on_finished` (if set) about a job run here; its errors are logged, never
        the job's."""
        if self.on_finished is None:
            return
        try:
            self.on_finished(job)
        except Exception:
            log.exception("the on_finished hook failed for ingest job %s", job.id)

    def new_job_id(self) -> str:
        return uuid.uuid4().hex

    def spool_for(self, job_id: str) -> Path:
        path = self.spool_dir / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def discard_spool(self, job_id: str) -> None:
        shutil.rmtree(self.spool_dir / job_id, ignore_errors=True)
