"""Watched folders started beside `kb serve`'s and `kb worker`'s jobs (KB_WATCH).

The one place that turns the settings into `ingest.folder_sync.WatchedFolder`s; the source
registry, when it lands, starts its `folder` sources through the same `watch_folder`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from api.settings import Settings
from ingest.folder_sync import IngestOptions, Reporter, WatchedFolder
from ingest.sources.files import Limits
from ingest.sources.watch import FolderUnavailable
from kb import KnowledgeBase

log = logging.getLogger("api.watch")


def missing_folders(settings: Settings) -> list[Path]:
    """The KB_WATCH folders that are not there (checked before the service starts)."""
    return [folder for folder in settings.watch if not folder.is_dir()]


def folder_options(settings: Settings) -> IngestOptions:
    """How watched folders' files are read: `kb ingest`'s limits and chunk budget."""
    return IngestOptions(
        limits=Limits(max_file_bytes=int(settings.max_file_mb * 1024 * 1024)),
        chunk_tokens=settings.chunk_tokens,
    )


def watch_folder(
    kb: KnowledgeBase,
    folder: Path,
    settings: Settings,
    *,
    poll: bool | None = None,
    interval_s: float | None = None,
    nudge: Callable[[], None] | None = None,
    report: Reporter | None = None,
) -> WatchedFolder:
    """One folder watched and synced, started: a rescan now, each change as it lands.
    Raises FolderUnavailable (the message says what to do) when it is not a folder."""
    watched = WatchedFolder(
        kb,
        folder,
        folder_options(settings),
        poll=settings.watch_poll if poll is None else poll,
        interval_s=settings.watch_interval if interval_s is None else interval_s,
        debounce_s=settings.watch_debounce,
        nudge=nudge,
        report=report,
    )
    watched.start()
    log.info(
        "watching %s (%s)",
        folder,
        f"polled every {watched.watcher.interval_s:g}s" if watched.polling else "file events",
    )
    return watched


def start_watching(
    kb: KnowledgeBase, settings: Settings, nudge: Callable[[], None] | None = None
) -> list[WatchedFolder]:
    """Every KB_WATCH folder watched; one that is not there is logged and left out."""
    started = []
    for folder in settings.watch:
        try:
            started.append(watch_folder(kb, folder, settings, nudge=nudge))
        except FolderUnavailable as exc:
            log.error("%s", exc)
    return started


def stop_watching(watched: Sequence[WatchedFolder], wait: float) -> None:
    for folder in watched:
        folder.stop(wait)


__all__ = ["folder_options", "missing_folders", "start_watching", "stop_watching", "watch_folder"]
