"""Ingest jobs queued in PostgreSQL: accepted by one replica, run by another's worker or by
`kb worker`, re-run when their worker dies, never run twice at once.

The knowledge bases here stay on the embedded backend (one per "replica", in its own home):
the queue does not care where the documents are kept, and each test gets a fresh database.
"""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from api.cli import main
from api.cli.common import CliContext
from api.cli.worker import stop_on_signals
from ingest import IngestReport, Limits, ingest_paths
from ingest.jobs.base import Job, JobAbandoned
from ingest.jobs.postgres import MAX_ATTEMPTS, PgJobManager
from ingest.pipeline import DEFAULT_CHUNK_TOKENS
from ingest.uploads import MB, IncomingFile, UploadLimits, spool_uploads
from kb import Embedder, KnowledgeBase, open_knowledge_base
from tests.api_helpers import zip_bytes
from tests.helpers import markdown_doc

UPLOAD_LIMITS = UploadLimits(
    max_files=20,
    max_file_bytes=MB,
    max_total_bytes=10 * MB,
    max_zip_entries=100,
    max_zip_bytes=10 * MB,
)


@pytest.fixture
def replica(
    tmp_path: Path, fake_embedder: Embedder, database_url: str
) -> Iterator[Callable[..., tuple[PgJobManager, KnowledgeBase]]]:
    """A "replica": its own home and knowledge base, and a job manager over the shared
    database (not started: tests call `start` or `work`). Stopped at the end of the test."""
    built: list[tuple[PgJobManager, KnowledgeBase]] = []

    def make(name: str, **options: Any) -> tuple[PgJobManager, KnowledgeBase]:
        kb = open_knowledge_base(tmp_path / name, embedder=fake_embedder)
        jobs = PgJobManager(
            kb,
            tmp_path / name,
            Limits(),
            DEFAULT_CHUNK_TOKENS,
            database_url=database_url,
            **options,
        )
        built.append((jobs, kb))
        return jobs, kb

    yield make
    for jobs, kb in built:
        jobs.stop(10)
        kb.close()


def submit(jobs: PgJobManager, files: Mapping[str, bytes | str], **fields: Any) -> Job:
    """What POST /ingest does: spool the files, then submit a queued job."""
    job_id = jobs.new_job_id()
    incoming = [
        IncomingFile(name, io.BytesIO(data.encode() if isinstance(data, str) else data))
        for name, data in files.items()
    ]
    uploads, _ = spool_uploads(incoming, jobs.spool_for(job_id), UPLOAD_LIMITS)
    job = Job(
        id=job_id,
        state="queued",
        created_at=datetime.now(UTC).isoformat(),
        submitted_by="test",
        uploads=uploads,
        **fields,
    )
    return jobs.submit(job)


def rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def wait_for(jobs: PgJobManager, job_id: str, timeout: float = 30.0) -> Job:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get(job_id)
        assert job is not None
        if job.state in ("done", "failed", "interrupted"):
            return job
        assert time.monotonic() < deadline, f"job still {job.state}"
        time.sleep(0.05)


def test_a_job_accepted_by_one_replica_is_run_by_another(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]], database_url: str
) -> None:
    accepting, kb_a = replica("a")
    archive = zip_bytes({"batch/one.md": markdown_doc("One", {"Body": "Label smoothing."})})
    job = submit(
        accepting,
        {
            "notes.md": "# Notes\n\nGradient clipping tips.",
            "notes.md.meta.yaml": "team: mlops\n",  # a sidecar travels with its file
            "bundle.zip": archive,
            "broken.ipynb": "{not json",
        },
        course="basics",
    )
    assert not (accepting.spool_dir / job.id).exists()  # the files are in the database now
    assert rows(database_url, "SELECT count(*) FROM ingest_files")[0][0] == 4
    assert accepting.stop(5)  # the replica that accepted it is gone

    running, kb_b = replica("b")
    assert running.counts() == {"queued": 1, "running": 0}
    assert running.work(once=True) == 1
    done = running.get(job.id)
    assert done is not None and done.state == "done", done
    by_source = {f["source"]: f for f in done.files}
    assert by_source["notes.md"]["status"] == "added"
    assert by_source["bundle.zip/batch/one.md"]["status"] == "added"
    assert by_source["broken.ipynb"]["status"] == "failed"
    assert done.summary is not None and done.summary["added"] == 2
    assert done.done == done.total == 3
    assert [u.name for u in done.uploads] == ["notes.md", "bundle.zip", "broken.ipynb"]
    notes = kb_b.get_document(by_source["notes.md"]["doc_id"])
    assert notes is not None and notes.team == "mlops" and notes.course == "basics"
    assert kb_a.list_documents() == []  # run where the worker was, not where it was accepted
    assert rows(database_url, "SELECT count(*) FROM ingest_files")[0][0] == 0  # bytes gone
    assert rows(database_url, "SELECT lease_owner, lease_expires FROM ingest_jobs") == [
        (None, None)
    ]
    assert running.counts() == {"queued": 0, "running": 0}
    assert running.get("0" * 32) is None and running.get("../x") is None


def test_get_and_counts_are_the_same_from_every_replica(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]],
) -> None:
    started, release = threading.Event(), threading.Event()

    def paused(*args: Any, **kwargs: Any) -> IngestReport:
        outer = kwargs["progress"]

        def progress(done: int, total: int, current: str) -> None:
            outer(done, total, current)
            started.set()
            assert release.wait(30), "the test never released the job"

        return ingest_paths(*args, **{**kwargs, "progress": progress})

    front, _ = replica("front", run_worker=False)  # accepts uploads, runs nothing
    back, _ = replica("back", ingest=paused)
    first = submit(front, {"a.md": "# A\n\nDropout notes."})
    second = submit(front, {"b.md": "# B\n\nPatience notes."})
    assert front.counts() == back.counts() == {"queued": 2, "running": 0}
    front.start()  # no worker thread: still queued
    time.sleep(0.3)
    assert front.counts() == {"queued": 2, "running": 0}
    back.start()
    try:
        assert started.wait(30)
        seen = front.get(first.id)
        assert seen is not None and seen.state == "running" and seen.started_at
        assert front.counts() == back.counts() == {"queued": 1, "running": 1}
    finally:
        release.set()
    for job in (first, second):
        assert wait_for(front, job.id).state == "done"
        assert front.get(job.id) == back.get(job.id)
    assert front.counts() == {"queued": 0, "running": 0}


def test_a_job_whose_worker_died_is_run_again(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]], database_url: str
) -> None:
    dead, _ = replica("dead", lease_seconds=0.5)
    job = submit(dead, {"a.md": "# A\n\nEarly stopping.", "b.md": "# B\n\nWarmup."})
    claimed = dead._claim()  # the worker claims the job ... and dies before finishing it
    assert claimed is not None
    stale, token = claimed
    survivor, kb = replica("survivor")
    assert survivor.counts() == {"queued": 0, "running": 1}
    assert survivor.run_next() is False  # the lease still holds: not taken
    time.sleep(0.7)
    assert survivor.recover() == 1  # the expired lease: back in the queue
    assert survivor.get(job.id).state == "queued"  # type: ignore[union-attr]
    assert survivor.work(once=True) == 1
    done = survivor.get(job.id)
    assert done is not None and done.state == "done"
    assert [f["status"] for f in done.files] == ["added", "added"]
    assert len(kb.list_documents()) == 2
    assert rows(database_url, "SELECT attempts FROM ingest_jobs") == [(2,)]
    with pytest.raises(JobAbandoned):  # the first worker, back to life, may record nothing
        dead._save(stale, token=token)
    assert survivor.get(job.id) == done


def test_an_expired_lease_is_claimed_again_without_recover(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]],
) -> None:
    dead, _ = replica("dead", lease_seconds=0.3)
    job = submit(dead, {"a.md": "# A\n\nEarly stopping."})
    assert dead._claim() is not None
    time.sleep(0.5)
    survivor, _ = replica("survivor")
    assert survivor.work(once=True) == 1
    assert wait_for(survivor, job.id).state == "done"


def test_a_job_whose_workers_keep_dying_is_given_up(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]], database_url: str
) -> None:
    jobs, _ = replica("a")
    job = submit(jobs, {"a.md": "# A\n\nEarly stopping."})
    rows(
        database_url,
        "UPDATE ingest_jobs SET state = 'running', attempts = %s, lease_owner = 'gone', "
        "lease_expires = now() - interval '1 second' RETURNING id",
        (MAX_ATTEMPTS,),
    )
    assert jobs.work(once=True) == 0
    given_up = jobs.get(job.id)
    assert given_up is not None and given_up.state == "interrupted"
    assert given_up.error and "upload the files again" in given_up.error
    assert rows(database_url, "SELECT count(*) FROM ingest_files")[0][0] == 0


def test_two_workers_never_run_the_same_job(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]], database_url: str
) -> None:
    ran: dict[str, list[str]] = {"one": [], "two": []}

    def recording(worker: str) -> Callable[..., IngestReport]:
        def ingest(kb: KnowledgeBase, paths: list[Path], *args: Any, **kw: Any) -> IngestReport:
            ran[worker].extend(sorted(kw["names"].values()))
            time.sleep(0.05)  # long enough for the other worker to look for work meanwhile
            return ingest_paths(kb, paths, *args, **kw)

        return ingest

    one, _ = replica("one", ingest=recording("one"))
    two, _ = replica("two", ingest=recording("two"))
    jobs = [submit(one, {f"doc-{n}.md": f"# Doc {n}\n\nNotes {n}."}) for n in range(8)]
    counts: dict[str, int] = {}
    threads = [
        threading.Thread(target=lambda w=w, m=m: counts.__setitem__(w, m.work(once=True)))
        for w, m in (("one", one), ("two", two))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    everything = ran["one"] + ran["two"]
    assert sorted(everything) == sorted(f"doc-{n}.md" for n in range(8))  # each exactly once
    assert counts["one"] + counts["two"] == 8
    assert ran["one"] and ran["two"]  # both took part
    assert all(one.get(job.id).state == "done" for job in jobs)  # type: ignore[union-attr]
    assert rows(database_url, "SELECT DISTINCT attempts FROM ingest_jobs") == [(1,)]


def test_a_job_locked_by_another_worker_is_skipped_not_waited_for(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]], database_url: str
) -> None:
    jobs, _ = replica("a")
    job = submit(jobs, {"a.md": "# A\n\nEarly stopping."})
    with psycopg.connect(database_url) as other, other.transaction():
        other.execute("SELECT id FROM ingest_jobs WHERE id = %s FOR UPDATE", (job.id,))
        started = time.monotonic()
        assert jobs.run_next() is False  # SKIP LOCKED: another worker is claiming it
        assert time.monotonic() - started < 5
    assert jobs.run_next() is True


def test_sigterm_lets_the_current_job_finish_then_stops_the_worker(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]],
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> IngestReport:
        outer = kwargs["progress"]

        def progress(done: int, total: int, current: str) -> None:
            if done == 1:
                os.kill(os.getpid(), signal.SIGTERM)  # as `docker stop` would
            outer(done, total, current)

        return ingest_paths(*args, **{**kwargs, "progress": progress})

    jobs, _ = replica("a", ingest=interrupted)
    first = submit(jobs, {"a.md": "# A\n\nOne.", "b.md": "# B\n\nTwo."})
    second = submit(jobs, {"c.md": "# C\n\nThree."})
    with stop_on_signals(jobs.ask_to_stop):
        assert jobs.work() == 1  # without --once: returns only because it was asked to stop
    done = jobs.get(first.id)
    assert done is not None and done.state == "done" and done.done == 2
    assert jobs.get(second.id).state == "queued"  # type: ignore[union-attr]


def test_kb_worker_once_runs_the_queued_jobs(
    replica: Callable[..., tuple[PgJobManager, KnowledgeBase]],
    database_url: str,
    tmp_path: Path,
    fake_embedder: Embedder,
) -> None:
    front, _ = replica("front", run_worker=False)
    job = submit(front, {"a.md": "# A\n\nEarly stopping notes."})
    home = tmp_path / "worker"
    kb = open_knowledge_base(home, embedder=fake_embedder)  # closed by the command
    result = CliRunner().invoke(
        main,
        ["--home", str(home), "--database-url", database_url, "worker", "--once"],
        obj=CliContext(home, knowledge_base=kb),
    )
    assert result.exit_code == 0, result.output
    assert "1 ingest job(s) run" in result.stderr
    done = front.get(job.id)
    assert done is not None and done.state == "done"
    assert done.files[0]["status"] == "added"


def test_kb_worker_without_postgresql_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    home = tmp_path / "home"
    result = CliRunner().invoke(main, ["--home", str(home), "worker"], obj=CliContext(home))
    assert result.exit_code == 2
    assert "kb worker needs PostgreSQL" in result.stderr
    assert "Traceback" not in result.output


def test_two_http_replicas_share_the_queue(
    tmp_path: Path,
    fake_embedder: Embedder,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """POST /ingest to a replica that runs no worker; another replica's worker runs the job;
    the first answers for it. The knowledge bases and the recommender's store stay embedded
    here (their PostgreSQL backends have their own tests): only the queue is shared."""
    import api.http.app as app_module
    from api.backends import PostgresBackend, RecommenderSessions, SqliteBackend
    from kb.searchlog.base import SearchLog
    from kb.store.base import DocumentStore
    from tests.api_helpers import auth, ingest, running_client

    class QueueInPostgres(PostgresBackend):
        """PostgreSQL for the job queue alone; the rest in each replica's own home."""

        def open_store(self) -> DocumentStore:
            return SqliteBackend(self.home).open_store()

        def open_search_log(self) -> SearchLog:
            return SqliteBackend(self.home).open_search_log()

        def recommender_sessions(self) -> RecommenderSessions:
            return SqliteBackend(self.home).recommender_sessions()

    monkeypatch.setattr(
        app_module, "open_backend", lambda home, url=None: QueueInPostgres(home, str(url))
    )
    with (
        running_client(
            tmp_path / "front", fake_embedder, database_url=database_url, ingest_worker=False
        ) as front,
        running_client(tmp_path / "back", fake_embedder, database_url=database_url) as back,
    ):
        job = ingest(front, {"alpha.md": "# Alpha\n\nMacro F1 notes."}, team="nlp")
        assert job["state"] == "done"
        assert job["files"][0]["status"] == "added"
        assert job["progress"] == {"done": 1, "total": 1, "current": None}
        doc_id = job["files"][0]["doc_id"]
        assert back.get(f"/documents/{doc_id}", headers=auth("admin")).status_code == 200
        again = back.get(f"/ingest/jobs/{job['id']}", headers=auth("admin")).json()
        assert again == job
        health = front.get("/health").json()
        assert health["jobs"] == {"queued": 0, "running": 0}
        assert not (tmp_path / "front" / "home" / "uploads" / job["id"]).exists()
