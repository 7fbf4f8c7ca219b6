"""`kb worker`: runs the ingest jobs queued in PostgreSQL, in the foreground.

Uploads accepted by any `kb serve` replica wait in the database; any number of workers (these
processes, and the replicas' own worker threads unless KB_INGEST_WORKER=0) take them one at a
time. SIGTERM or a first Ctrl-C lets the current job finish; a second Ctrl-C stops at once,
and the job is then run again by another worker when its lease expires.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

import click

from api.cli.common import CliContext, CliError

NO_DATABASE = (
    "kb worker needs PostgreSQL: set KB_DATABASE_URL (or --database-url) to the database the "
    "`kb serve` replicas use. Without it, `kb serve` runs its uploads in its own worker thread."
)


@contextmanager
def stop_on_signals(ask_to_stop: Callable[[], None]) -> Iterator[None]:
    """SIGTERM and a first Ctrl-C call `ask_to_stop`; a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():  # signals reach main only
        yield
        return

    def gently(signum: int, frame: FrameType | None) -> None:
        ask_to_stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, gently)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command("worker")
@click.option("--once", is_flag=True, help="Run the jobs waiting now, then exit (tests, cron).")
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
)
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Serve Prometheus metrics (the same as kb serve's /metrics) on this port "
    "[env KB_METRICS_PORT; default: none].",
)
@click.pass_obj
def worker(obj: CliContext, once: bool, log_level: str, metrics_port: int | None) -> None:
    """Run queued ingest jobs (uploads to any `kb serve` replica) until SIGTERM or Ctrl-C,
    which let the current job finish. Needs PostgreSQL (KB_DATABASE_URL or --database-url)."""
    from api.settings import Settings
    from api.watching import folder_options, start_watching, stop_watching
    from ingest import Limits
    from ingest.folder_sync import FolderSync
    from ingest.uploads import MB
    from kb import KBError
    from kb.background import BackgroundEmbedder
    from kb.db.postgres import redact

    try:
        backend = obj.backend
    except CliError:  # a URL of no backend kb knows: the same advice
        raise CliError(NO_DATABASE) from None
    if not backend.shares_job_queue:
        raise CliError(NO_DATABASE)
    from api.logs import configure_logging

    settings = Settings()
    configure_logging(settings, log_level)
    limits = Limits(
        max_file_bytes=int(settings.upload_max_file_mb * MB),
        max_zip_entries=settings.zip_max_entries,
        max_zip_bytes=int(settings.zip_max_uncompressed_mb * MB),
    )
    kb = obj.open_kb()
    try:
        jobs = backend.open_shared_job_queue(kb, limits, settings.chunk_tokens)
    except KBError as exc:
        raise CliError(str(exc)) from None
    from api.cli.worker_metrics import start_worker_metrics

    start_worker_metrics(kb, jobs, metrics_port or settings.metrics_port)
    if not once:
        click.echo(
            "kb worker: running queued ingest jobs; SIGTERM or Ctrl-C stops it after the "
            "current one.",
            err=True,
        )
    # Chunks stored for their words and still waiting for vectors (uploads, `kb ingest
    # --no-wait`, a crash) are made beside the jobs; with --once, after them.
    embedding = BackgroundEmbedder(kb, watch=True)

    def ask_to_stop() -> None:
        jobs.ask_to_stop()
        embedding.stop(wait=0)

    # named sources' timed syncs (docs/sources.md) run beside the jobs; with --once, after them
    from api.sources import SourcesService

    sources = SourcesService(backend, kb, schedule=not once)
    # retention (docs/person-data.md): old searches and events forgotten every interval
    from api.cli.person import retention_days
    from api.person import RetentionLoop, apply_retention

    searches_days, events_days = retention_days(settings)
    retention = RetentionLoop(
        backend,
        searches_days=searches_days,
        events_days=events_days,
        interval=settings.retention_interval_hours * 3600,
    )
    # statements for a Learning Record Store (KB_XAPI_LRS_URL, docs/xapi.md) sent beside the
    # jobs; with --once, once after them
    from api.xapi import LrsClient, XapiPusher, push_once

    lrs = LrsClient.from_settings(settings)
    pusher = XapiPusher(backend, settings, lrs) if lrs and not once else None
    watching: list[Any] = []
    try:
        jobs.recover()
        if not once:
            embedding.start()
            retention.start()
            if pusher is not None:
                pusher.start()
            # KB_WATCH folders, synced beside the jobs (api.watching)
            watching = start_watching(kb, settings, embedding.nudge)
        with stop_on_signals(ask_to_stop):
            if once:  # each watched folder compared once, before the jobs
                for folder in settings.watch:
                    FolderSync(kb, folder, folder_options(settings)).rescan()
            ran = jobs.work(once=once)
            if once:
                from ingest.sources.schedule import SourceScheduler

                SourceScheduler(sources.syncer).run_due()
                kb.embed_pending(stop=embedding.stopping)
                apply_retention(backend, searches_days=searches_days, events_days=events_days)
                if lrs is not None:
                    pushed = push_once(backend, settings, lrs)
                    if pushed.error:
                        click.echo(f"kb worker: xAPI push: {pushed.error}", err=True)
    except KBError as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:  # psycopg's errors: one sentence, never the URL
        raise CliError(f"The job queue failed: {redact(str(exc))}") from None
    finally:
        retention.stop()
        sources.close()
        if pusher is not None:
            pusher.stop()
        stop_watching(watching, settings.shutdown_wait_seconds)
        embedding.stop()
        jobs.close()
    click.echo(f"kb worker: {ran} ingest job(s) run.", err=True)


def register(group: click.Group) -> None:
    group.add_command(worker)
