"""Ingest jobs in PostgreSQL: any `kb serve` replica accepts an upload, any replica's worker
thread or any `kb worker` process runs it, and a job outlives the replica that accepted it.

`submit` moves the spooled files into the database (`ingest_files`, one bytea per file) in the
same transaction as the queued job (`ingest_jobs`, the Job as JSONB), then deletes the local
spool. A worker claims the oldest waiting job with ``SELECT ... FOR UPDATE SKIP LOCKED`` (two
workers never take the same job), holds it under a lease that a heartbeat renews while the
job runs, writes the files to a private temporary folder and runs the same ingest as
`JobManager` (`run_job`). A job whose lease expired (its worker died) is claimed again and run
again; the ingest is incremental, so what the first run stored is skipped. A job whose workers
died MAX_ATTEMPTS times is given up as interrupted rather than retried forever. Workers wake on
NOTIFY and otherwise look at the queue every POLL_SECONDS; times are the database's own, so
the replicas' clocks do not matter.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from ingest import IngestReport, Limits, ingest_paths
from ingest.jobs.base import (
    FINISHED,
    JOB_ID,
    Job,
    JobAbandoned,
    Upload,
    UploadSpool,
    now_iso,
    run_job,
)
from kb import KnowledgeBase
from kb.db.outage import OutageWatch
from kb.db.postgres import Migration, connect, open_pool, redact, upgrade

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg
    from psycopg_pool import ConnectionPool

log = logging.getLogger("ingest.jobs")

CHANNEL = "ingest_jobs"  # NOTIFY channel: a job was queued
LEASE_SECONDS = 60.0  # a running job is its worker's for this long after each renewal
POLL_SECONDS = 1.0  # an idle worker looks at the queue at least this often
MAX_ATTEMPTS = 3  # runs whose worker died before a job is given up
STALE_SPOOL_SECONDS = 3600.0  # a spool folder this old was left by a crash before submit
_WAIT_SLICE = 0.25  # seconds; how soon an idle worker notices stop()
_POOL_SIZE = 4

MIGRATIONS = [
    Migration(
        1,
        """
        CREATE TABLE ingest_jobs (
            id TEXT PRIMARY KEY,
            seq BIGINT GENERATED ALWAYS AS IDENTITY,
            state TEXT NOT NULL
                CHECK (state IN ('queued', 'running', 'done', 'failed', 'interrupted')),
            job JSONB NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            lease_owner TEXT,
            lease_expires TIMESTAMPTZ,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE INDEX ingest_jobs_waiting ON ingest_jobs (seq)
            WHERE state IN ('queued', 'running');
        CREATE TABLE ingest_files (
            job_id TEXT NOT NULL REFERENCES ingest_jobs (id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            data BYTEA NOT NULL,
            PRIMARY KEY (job_id, name)
        );
        -- uploads are mostly archives and text: not worth compressing again
        ALTER TABLE ingest_files ALTER COLUMN data SET STORAGE EXTERNAL;
        """,
    )
]

_NEXT = (
    "SELECT id, job, attempts FROM ingest_jobs "
    "WHERE state = 'queued' OR (state = 'running' AND lease_expires < now()) "
    "ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_GIVEN_UP = (
    "the workers running this job stopped {n} times before it finished (perhaps a file in "
    "it is too much for them); what it had stored is kept: upload the files again, fewer at "
    "a time"
)


def _dumps(job: Job) -> str:
    return json.dumps(job.to_dict(), ensure_ascii=False)


def _safe_relative(name: str) -> bool:
    """A stored file name that stays inside the job's folder."""
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\\" not in name


class PgJobManager(UploadSpool):
    """A `JobQueue` in PostgreSQL.

    Uploads are spooled under the home folder as with `JobManager` (`spool_for`,
    `discard_spool`), and move into the database at `submit`. `start` runs a worker thread
    unless `run_worker` is false (a replica that leaves the jobs to `kb worker` processes);
    `work` runs the same loop in the calling thread.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        home: Path,
        limits: Limits,
        chunk_tokens: int,
        *,
        database_url: str,
        ingest: Callable[..., IngestReport] = ingest_paths,
        run_worker: bool = True,
        lease_seconds: float = LEASE_SECONDS,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        super().__init__(home)
        self.kb = kb
        self.limits = limits
        self.chunk_tokens = chunk_tokens
        self.ingest = ingest  # the pipeline entry point; tests wrap it to pause a job
        self._thread: threading.Thread | None = None
        self.run_worker = run_worker
        self.lease_seconds = float(lease_seconds)
        self.poll_seconds = float(poll_seconds)
        self._url = database_url  # never logged: it may hold a password
        self._outage = OutageWatch(log, "the ingest worker", redact(database_url))
        self._worker_id = f"{socket.gethostname()}:{os.getpid()}"
        self._stopping = threading.Event()
        self._listener: psycopg.Connection | None = None  # the worker loop's own
        self._pool: ConnectionPool = open_pool(database_url, max_size=_POOL_SIZE)
        try:
            with self._pool.connection() as conn:
                upgrade(conn, "ingest", MIGRATIONS)
        except BaseException:
            self._pool.close()
            raise

    # -- life cycle -----------------------------------------------------------------------
    def recover(self) -> int:
        """Put back in the queue the jobs whose worker stopped without finishing them (their
        lease expired); count them. Also removes spool folders left by a crash long ago."""
        with self._pool.connection() as conn:
            rows = conn.execute(
                "UPDATE ingest_jobs SET state = 'queued', lease_owner = NULL, "
                "lease_expires = NULL, updated_at = now(), "
                "job = jsonb_set(job, '{state}', to_jsonb('queued'::text)) "
                "WHERE state = 'running' AND lease_expires < now() RETURNING id"
            ).fetchall()
        if rows:
            log.warning("%d ingest job(s) left by a stopped worker are queued again", len(rows))
        cutoff = time.time() - STALE_SPOOL_SECONDS
        for leftover in self.spool_dir.iterdir():  # other replicas may share this home
            try:
                stale = leftover.stat().st_mtime < cutoff
            except OSError:
                continue
            if stale:
                shutil.rmtree(leftover, ignore_errors=True)
        return len(rows)

    def start(self) -> None:
        if not self.run_worker:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self.work, name="kb-ingest-worker", daemon=True)
        self._thread.start()

    def ask_to_stop(self) -> None:
        """Make `work` return once its current job is finished (safe from a signal handler)."""
        self._stopping.set()

    def stop(self, wait: float) -> bool:
        """Stop this process's worker after its current job and release the connections; True
        if it stopped within `wait`. Queued jobs stay queued for the other workers; a job still
        running here is run again elsewhere once its lease expires, if this process exits."""
        self.ask_to_stop()
        if self._thread is not None:
            self._thread.join(timeout=wait)
            if self._thread.is_alive():
                log.warning(
                    "an ingest job is still running at shutdown; if this process exits first, "
                    "another worker runs it again once its lease expires"
                )
                return False
        self.close()
        return True

    def close(self) -> None:
        """Release the database connections (the worker must not be running)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self._pool.close()

    # -- requests -------------------------------------------------------------------------
    def submit(self, job: Job) -> Job:
        """Queue the job with its spooled files, in one transaction; the spool is removed
        whether or not that succeeds."""
        spool = self.spool_dir / job.id
        try:
            files = sorted(p for p in spool.rglob("*") if p.is_file())
            stored = Job.from_dict(job.to_dict())
            stored.uploads = [
                Upload(u.name, u.size, Path(u.path).relative_to(spool).as_posix())
                for u in job.uploads
            ]
            with self._pool.connection() as conn, conn.transaction():
                conn.execute(
                    "INSERT INTO ingest_jobs (id, state, job) VALUES (%s, %s, %s::jsonb)",
                    (stored.id, stored.state, _dumps(stored)),
                )
                with conn.cursor() as cur:
                    for path in files:
                        cur.execute(
                            "INSERT INTO ingest_files (job_id, name, data) VALUES (%s, %s, %b)",
                            (stored.id, path.relative_to(spool).as_posix(), path.read_bytes()),
                        )
                conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, stored.id))
        finally:
            self.discard_spool(job.id)
        return stored

    def get(self, job_id: str) -> Job | None:
        if not JOB_ID.match(job_id):
            return None
        with self._pool.connection() as conn:
            row = conn.execute("SELECT job FROM ingest_jobs WHERE id = %s", (job_id,)).fetchone()
        return Job.from_dict(row[0]) if row else None

    def counts(self) -> dict[str, int]:
        with self._pool.connection() as conn:
            rows = conn.execute(
                "SELECT state, count(*) FROM ingest_jobs "
                "WHERE state IN ('queued', 'running') GROUP BY state"
            ).fetchall()
        found = {state: int(n) for state, n in rows}
        return {"queued": found.get("queued", 0), "running": found.get("running", 0)}

    # -- worker ---------------------------------------------------------------------------
    def work(self, *, once: bool = False) -> int:
        """Run queued jobs in this thread until `ask_to_stop` (or `stop`); with `once`, until
        none is waiting. Returns how many jobs it ran. The queue being unreachable is logged
        and retried (with `once`, raised)."""
        ran = 0
        outage = self._outage
        while not self._stopping.is_set():
            try:
                took = self.run_next()
                outage.succeeded()
            except Exception as exc:
                if once:
                    raise
                if not outage.failed(exc):  # an outage: one warning until it is back
                    log.error("the ingest worker cannot use the job queue: %s", redact(str(exc)))
                self._stopping.wait(self.poll_seconds)
                continue
            if took:
                ran += 1
            elif once:
                break
            else:
                self._wait()
        return ran

    def run_next(self) -> bool:
        """Claim the oldest waiting job and run it; False if there was none."""
        claimed = self._claim()
        if claimed is None:
            return False
        job, token = claimed
        log.info("ingest job %s: running %d upload(s)", job.id, len(job.uploads))
        finished = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat,
            args=(job.id, token, finished),
            name="kb-ingest-lease",
            daemon=True,
        )
        heartbeat.start()
        try:
            with tempfile.TemporaryDirectory(prefix="kb-ingest-") as folder:
                paths = self._unpack(job, Path(folder))
                save = functools.partial(self._save, token=token)
                run_job(
                    job,
                    paths,
                    self.kb,
                    self.ingest,
                    self.limits,
                    self.chunk_tokens,
                    threading.Lock(),
                    save,
                )
            log.info("ingest job %s: %s", job.id, job.state)
            self._finished(job)
        except JobAbandoned:
            log.warning("ingest job %s was taken over by another worker; this run stops", job.id)
        except Exception as exc:  # the queue or the temporary folder failed: run it again
            log.error("ingest job %s could not run here: %s", job.id, redact(str(exc)))
            self._release(job.id, token)
        finally:
            finished.set()
            heartbeat.join()
        return True

    def _claim(self) -> tuple[Job, str] | None:
        """The oldest waiting job, marked running under a new lease, and the lease's token."""
        token = f"{self._worker_id}:{uuid.uuid4().hex[:12]}"
        with self._pool.connection() as conn, conn.transaction():
            while True:
                row = conn.execute(_NEXT).fetchone()
                if row is None:
                    return None
                job_id, data, attempts = row
                job = Job.from_dict(data)
                if attempts >= MAX_ATTEMPTS:
                    self._give_up(conn, job, attempts)
                    continue
                job.state = "running"
                job.started_at = now_iso()
                job.done, job.total, job.current = 0, None, None
                job.files, job.summary, job.error = [], None, None
                conn.execute(
                    "UPDATE ingest_jobs SET state = 'running', job = %s::jsonb, "
                    "attempts = attempts + 1, lease_owner = %s, "
                    "lease_expires = now() + make_interval(secs => %s), updated_at = now() "
                    "WHERE id = %s",
                    (_dumps(job), token, self.lease_seconds, job_id),
                )
                return job, token

    def _give_up(self, conn: psycopg.Connection, job: Job, attempts: int) -> None:
        job.state = "interrupted"
        job.current = None
        job.finished_at = now_iso()
        job.error = _GIVEN_UP.format(n=attempts)
        conn.execute(
            "UPDATE ingest_jobs SET state = %s, job = %s::jsonb, lease_owner = NULL, "
            "lease_expires = NULL, updated_at = now() WHERE id = %s",
            (job.state, _dumps(job), job.id),
        )
        conn.execute("DELETE FROM ingest_files WHERE job_id = %s", (job.id,))
        log.warning("ingest job %s given up after %d interrupted runs", job.id, attempts)

    def _unpack(self, job: Job, folder: Path) -> list[Path]:
        """Write the job's files into `folder`; the paths of its uploads there."""
        with self._pool.connection() as conn:
            names = [
                name
                for (name,) in conn.execute(
                    "SELECT name FROM ingest_files WHERE job_id = %s ORDER BY name", (job.id,)
                ).fetchall()
            ]
            for name in names:  # one at a time: an upload may be hundreds of megabytes
                if not _safe_relative(name):
                    raise ValueError(f"unsafe stored file name {name!r}")
                row = conn.execute(
                    "SELECT data FROM ingest_files WHERE job_id = %s AND name = %s",
                    (job.id, name),
                    binary=True,
                ).fetchone()
                if row is None:
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(row[0])
        paths = []
        for upload in job.uploads:
            if not _safe_relative(upload.path):
                raise ValueError(f"unsafe upload path {upload.path!r}")
            paths.append(folder / upload.path)
        return paths

    def _save(self, job: Job, *, token: str) -> None:
        """Record the job's state if it is still ours (renewing the lease), else raise
        JobAbandoned. A finished job lets its lease and its files go."""
        finished = job.state in FINISHED
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                "UPDATE ingest_jobs SET state = %s, job = %s::jsonb, updated_at = now(), "
                "lease_owner = CASE WHEN %s THEN NULL ELSE lease_owner END, "
                "lease_expires = CASE WHEN %s THEN NULL "
                "ELSE now() + make_interval(secs => %s) END "
                "WHERE id = %s AND lease_owner = %s RETURNING id",
                (job.state, _dumps(job), finished, finished, self.lease_seconds, job.id, token),
            ).fetchone()
            if row is None:
                raise JobAbandoned(job.id)
            if finished:
                conn.execute("DELETE FROM ingest_files WHERE job_id = %s", (job.id,))

    def _heartbeat(self, job_id: str, token: str, finished: threading.Event) -> None:
        """Renew the lease while the job runs; stop when it is no longer ours."""
        while not finished.wait(self.lease_seconds / 3):
            try:
                with self._pool.connection() as conn:
                    row = conn.execute(
                        "UPDATE ingest_jobs SET lease_expires = now() + make_interval(secs => %s) "
                        "WHERE id = %s AND lease_owner = %s RETURNING id",
                        (self.lease_seconds, job_id, token),
                    ).fetchone()
            except Exception as exc:  # try again at the next beat; the lease has slack
                log.warning("ingest job %s: lease not renewed: %s", job_id, redact(str(exc)))
                continue
            if row is None:
                return

    def _release(self, job_id: str, token: str) -> None:
        """Let another worker (or this one) claim the job at once."""
        try:
            with self._pool.connection() as conn:
                conn.execute(
                    "UPDATE ingest_jobs SET lease_expires = now() "
                    "WHERE id = %s AND lease_owner = %s",
                    (job_id, token),
                )
        except Exception as exc:  # it expires by itself
            log.warning("ingest job %s: lease not released: %s", job_id, redact(str(exc)))

    def _wait(self) -> None:
        """Until a job is queued (NOTIFY), POLL_SECONDS pass, or stop is asked."""
        deadline = time.monotonic() + self.poll_seconds
        while not self._stopping.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._notified(min(left, _WAIT_SLICE)):
                return

    def _notified(self, timeout: float) -> bool:
        try:
            if self._listener is None:
                self._listener = connect(self._url, autocommit=True)
                self._listener.execute(f"LISTEN {CHANNEL}")  # a constant identifier
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                return True
        except Exception as exc:  # the server restarted, say: poll, and listen again later
            if not self._outage.failed(exc):
                log.warning("ingest worker: not listening for new jobs: %s", redact(str(exc)))
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._stopping.wait(timeout)
        return False
