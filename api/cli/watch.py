"""`kb watch FOLDER...`: keep folders in sync in the foreground (docs/watch.md).

Each folder is compared whole first (new and changed files stored, vanished ones removed),
then every file that lands, changes or leaves is applied within seconds, searchable by its
words at once; the vectors are made here too, as `kb worker` makes them. SIGTERM or a first
Ctrl-C stops after the batch being stored; a kill loses nothing the next start's rescan
does not find again.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click

from api.cli.common import CliContext, CliError, cli_settings

if TYPE_CHECKING:
    from ingest.folder_sync import WatchedFolder
    from ingest.pipeline import IngestReport
    from ingest.sources.watch import Changes


@click.command("watch")
@click.argument(
    "folders",
    nargs=-1,
    required=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--poll",
    is_flag=True,
    default=None,
    help="Poll the folders instead of waiting for file events [env KB_WATCH_POLL; default: "
    "poll network file systems only].",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.05),
    default=None,
    help="Seconds between two looks at a polled folder [env KB_WATCH_INTERVAL; default 2].",
)
@click.option(
    "--no-embed",
    is_flag=True,
    help="Store words only; leave the vectors to a running `kb serve` or `kb worker`.",
)
@click.pass_obj
def watch(
    obj: CliContext,
    folders: tuple[Path, ...],
    poll: bool | None,
    interval: float | None,
    no_embed: bool,
) -> None:
    """Keep FOLDERS in sync until SIGTERM or Ctrl-C: a full comparison first, then each file
    that lands, changes or leaves (debounced: a file being copied is read once, whole)."""
    from api.cli.worker import stop_on_signals
    from api.watching import stop_watching, watch_folder
    from ingest.sources.watch import FolderUnavailable
    from kb import KBError
    from kb.background import BackgroundEmbedder

    settings = cli_settings()
    kb = obj.open_kb()
    embedding = None if no_embed else BackgroundEmbedder(kb, watch=True).start()
    stop = threading.Event()

    def tell(folder: Path, batch: Changes | None, report: IngestReport) -> None:
        what = "compared" if batch is None or batch.rescan else "changes"
        click.echo(
            f"kb watch: {folder}: {what}: added {report.added}, updated {report.updated}, "
            f"unchanged {report.unchanged}, removed {report.removed}, "
            f"failed {len(report.failed)}",
            err=True,
        )

    watched: list[WatchedFolder] = []
    try:
        for folder in folders:
            try:
                watched.append(
                    watch_folder(
                        kb,
                        folder,
                        settings,
                        poll=poll,
                        interval_s=interval,
                        nudge=embedding.nudge if embedding is not None else None,
                        report=tell,
                    )
                )
            except FolderUnavailable as exc:
                raise CliError(str(exc)) from None
            mode = "polling" if watched[-1].polling else "file events"
            click.echo(f"kb watch: watching {folder} ({mode}); Ctrl-C stops.", err=True)
        with stop_on_signals(stop.set):
            while not stop.wait(0.5):
                pass
    except KBError as exc:
        raise CliError(str(exc)) from None
    finally:
        stop_watching(watched, settings.shutdown_wait_seconds)
        if embedding is not None:
            embedding.stop(settings.shutdown_wait_seconds)
    click.echo("kb watch: stopped.", err=True)


def register(group: click.Group) -> None:
    group.add_command(watch)
