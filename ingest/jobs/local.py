"""Ingest jobs in this process: uploads are spooled, queued and ingested by one background
worker thread (the embedded backend's `JobQueue`).

One worker, because the knowledge base has one writer lock and the model one encoder lock:
more writers would only queue behind each other, while searches (readers) keep being served
from the request threads. Each job's state is kept in memory and written to
``<home>/jobs/<id>.json`` at every change of state (and at most once a second while running),
so a restarted service still answers for finished jobs and reports the ones it was running
as interrupted instead of losing them."""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from ingest import IngestReport, Limits, ingest_paths
from ingest.jobs.base import FINISHED, JOB_ID, Job, UploadSpool, log, now_iso, run_job
from kb import KnowledgeBase

KEEP_IN_MEMORY = 256  # finished jobs kept in memory; older ones are read back from disk


class JobManager(UploadSpool):
    """Queue, worker thread and records of ingest jobs for one knowledge base."""

    def __init__(
        self,
        kb: KnowledgeBase,
        home: Path,
        limits: Limits,
        chunk_tokens: int,
        ingest: Callable[..., IngestReport] = ingest_paths,
    ) -> None:
        super().__init__(home)
        self.kb = kb
        self.jobs_dir = home / "jobs"
        self.limits = limits
        self.chunk_tokens = chunk_tokens
        self.ingest = ingest  # the pipeline entry point; tests wrap it to pause a job
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.jobs_dir.mkdir(parents=True, exist_ok=True)

    # -- life cycle -----------------------------------------------------------------------
    def recover(self) -> int:
        """Mark the jobs a previous run left queued or running as interrupted; count them."""
        count = 0
        for path in sorted(self.jobs_dir.glob("*.json")):
            job = self._read(path.stem)
            if job is None or job.state in FINISHED:
                continue
            job.state = "interrupted"
            job.finished_at = now_iso()
            job.error = (
                "the service stopped before this job finished; what it had stored is kept: "
                "upload the files again (unchanged ones are skipped quickly)"
            )
            self._write(job)
            shutil.rmtree(self.spool_dir / job.id, ignore_errors=True)
            count += 1
        if count:
            log.warning("%d ingest job(s) were interrupted by the last shutdown", count)
        for leftover in self.spool_dir.iterdir():  # no job runs yet: all of it is stale
            shutil.rmtree(leftover, ignore_errors=True)
        return count

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="kb-ingest-worker", daemon=True)
        self._thread.start()

    def stop(self, wait: float) -> bool:
        """Ask the worker to stop after the current job; True if it stopped within `wait`.
        Jobs still queued stay queued on disk and are reported interrupted at the next start."""
        if self._thread is None:
            return True
        self._queue.put(None)
        self._thread.join(timeout=wait)
        stopped = not self._thread.is_alive()
        if not stopped:
            log.warning(
                "an ingest job is still running at shutdown; it will be reported "
                "interrupted at the next start"
            )
        return stopped

    # -- requests -------------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        with self._lock:
            self._remember(job)
            self._write(job)
        self._queue.put(job.id)
        return job

    def get(self, job_id: str) -> Job | None:
        """A snapshot of the job (safe to read while the worker updates it), or None."""
        if not JOB_ID.match(job_id):
            return None
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                return Job.from_dict(job.to_dict())
        return self._read(job_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = [job.state for job in self._jobs.values()]
        return {"queued": states.count("queued"), "running": states.count("running")}

    # -- worker ---------------------------------------------------------------------------
    def _work(self) -> None:
        while True:
            job_id = self._queue.get()
            if job_id is None:
                return
            try:
                self._run(job_id)
            except Exception:  # never let one job kill the worker
                log.exception("ingest job %s failed unexpectedly", job_id)

    def _run(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            job.state = "running"
            job.started_at = now_iso()
            self._write(job)
        run_job(
            job,
            [Path(u.path) for u in job.uploads],
            self.kb,
            self.ingest,
            self.limits,
            self.chunk_tokens,
            self._lock,
            self._write,
        )
        self._finished(job)
        with self._lock:
            self._forget_old()
        self.discard_spool(job_id)

    # -- records --------------------------------------------------------------------------
    def _remember(self, job: Job) -> None:
        self._jobs[job.id] = job
        self._jobs.move_to_end(job.id)

    def _forget_old(self) -> None:
        finished = [jid for jid, j in self._jobs.items() if j.state in FINISHED]
        for jid in finished[: max(0, len(finished) - KEEP_IN_MEMORY)]:
            del self._jobs[jid]

    def _write(self, job: Job) -> None:
        path = self.jobs_dir / f"{job.id}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(job.to_dict(), ensure_ascii=False))
        os.replace(tmp, path)

    def _read(self, job_id: str) -> Job | None:
        path = self.jobs_dir / f"{job_id}.json"
        try:
            return Job.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            log.warning("unreadable job record %s: %s", path, exc)
            return None
