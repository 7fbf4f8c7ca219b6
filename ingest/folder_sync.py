"""A folder's documents kept equal to its files: a full rescan, then each change as it lands.

`FolderSync` is what a folder source does to the knowledge base:

- `rescan()` compares the whole folder (`ingest_paths([folder], prune=True)`): a file whose
  content hash is stored costs that hash, a new or changed file is read and stored, a
  document whose file is gone is removed. It is safe after any crash: each document is
  stored in its own transaction under an id made from its path, so a file is never stored
  twice, and whatever a killed run had not reached is done now.
- `apply(changes)` does the same for the paths a `FolderWatcher` told, and nothing else.

Both store words only (`embed=False`, as `kb ingest --no-wait`): a document is found by
lexical search as soon as it is read, and its vectors come from whoever embeds the store's
queue (`kb serve`'s or `kb worker`'s BackgroundEmbedder; `nudge` tells it to look now).

`WatchedFolder` runs the two on threads: the watcher starts first (nothing that lands during
the rescan is missed), the rescan follows, then each batch the watcher tells, one at a time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import DEFAULT_CHUNK_TOKENS, IngestReport, ingest_paths
from ingest.sources.files import Failure, Limits, SourceFile, discover_files
from ingest.sources.watch import DEFAULT_DEBOUNCE_S, DEFAULT_INTERVAL_S, Changes, FolderWatcher
from kb import KnowledgeBase, NotFoundError
from kb.db.outage import OutageWatch

log = logging.getLogger("ingest.watch")

# A report of each rescan and batch: the folder, the changes (None for a rescan), the result.
# After a failed rescan or batch (the store unreachable...), the folder is compared whole again.
RETRY_S = 5.0
Reporter = Callable[[Path, Changes | None, IngestReport], None]


@dataclass(frozen=True)
class IngestOptions:
    """How a synced folder's files are read: the limits, the chunk budget, and the metadata
    given to files that name none (as `kb ingest --team/--course/--visibility`)."""

    limits: Limits = Limits()
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    team: str | None = None
    course: str | None = None
    visibility: tuple[str, ...] = ()


class FolderSync:
    """The documents of one folder in `kb`, made equal to its files (see the module)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        folder: Path | str,
        options: IngestOptions | None = None,
        *,
        nudge: Callable[[], None] | None = None,
    ) -> None:
        self.kb = kb
        self.folder = Path(folder)
        self.options = options or IngestOptions()
        self.nudge = nudge
        self._lock = threading.Lock()  # one rescan or batch at a time per folder

    def _ingest(self, prune: bool, files: list[SourceFile | Failure] | None = None) -> IngestReport:
        o = self.options
        return ingest_paths(
            self.kb,
            [self.folder],
            o.team,
            o.course,
            visibility=o.visibility,
            prune=prune,
            limits=o.limits,
            chunk_tokens=o.chunk_tokens,
            embed=False,
            files=files,
        )

    def rescan(self) -> IngestReport:
        """Compare the whole folder: new and changed files stored, vanished ones removed.

        A folder that is not there (an unmounted share) removes nothing: its documents stay
        until it is back (`ingest_paths` never prunes under a missing path)."""
        with self._lock:
            report = self._ingest(prune=True)
        self._nudge(report)
        return report

    def apply(self, changes: Changes) -> IngestReport:
        """Store the added and modified paths, remove the deleted ones (a deleted folder's
        documents all go); a batch asking for a rescan is a rescan. A path told deleted that
        exists again is left alone (its own event follows). Re-running a batch changes
        nothing: unchanged files are recognised by their hash."""
        if changes.rescan:
            return self.rescan()
        with self._lock:
            present = [*changes.added, *changes.modified]
            files = list(discover_files(self.folder, present, self.options.limits))
            report = self._ingest(prune=False, files=files) if present else IngestReport()
            report.removed += self._remove(changes.deleted)
        self._nudge(report)
        return report

    def _remove(self, deleted: Sequence[str]) -> int:
        if not deleted:
            return 0
        root = self.folder.resolve()
        gone = [str(root / relative) for relative in deleted]
        removed = 0
        for origin, doc_id in self.kb.doc_ids_under(str(root)).items():
            file = origin.split("!/", 1)[0]  # an archive's entries go with the archive
            named = any(file == g or file.startswith(g + "/") for g in gone)
            if not named or Path(file).exists():
                continue
            try:
                self.kb.delete(doc_id)
                removed += 1
            except NotFoundError:  # removed meanwhile by another process: as good
                pass
        return removed

    def _nudge(self, report: IngestReport) -> None:
        if self.nudge is not None and (report.added or report.updated):
            self.nudge()


class WatchedFolder:
    """A folder kept in sync while the process runs: `start()` starts the watcher, then a
    rescan and every batch it tells on a thread of their own; `stop()` ends both (a batch
    being stored is finished; what was not yet told is found by the next start's rescan).

    `report` hears of each rescan and batch (for logs and tests). A batch that fails is
    logged and followed by a rescan at the next change, so nothing is lost to one error.
    """

    def __init__(
        self,
        kb: KnowledgeBase,
        folder: Path | str,
        options: IngestOptions | None = None,
        *,
        poll: bool | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        nudge: Callable[[], None] | None = None,
        report: Reporter | None = None,
    ) -> None:
        self.sync = FolderSync(kb, folder, options, nudge=nudge)
        self.folder = self.sync.folder
        self.watcher = FolderWatcher(
            self.folder,
            self._queue_changes,
            poll=poll,
            interval_s=interval_s,
            debounce_s=debounce_s,
        )
        self.report = report
        self._outage = OutageWatch(log, f"syncing {self.folder}", kb.store.location)
        self._changes: queue.Queue[Changes | None] = queue.Queue()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"kb-sync:{self.folder.name}", daemon=True
        )

    @property
    def polling(self) -> bool:
        return self.watcher.polling

    def start(self) -> WatchedFolder:
        self.watcher.start()
        self._thread.start()
        return self

    def wait_synced(self, timeout: float | None = None) -> bool:
        """Wait for the first rescan to end; True once it has."""
        return self._synced.wait(timeout)

    def stop(self, wait: float | None = 10) -> None:
        self.watcher.stop(wait)
        self._stop.set()
        self._changes.put(None)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(wait)

    def _queue_changes(self, changes: Changes) -> None:
        self._changes.put(changes)

    def _next_batch(self) -> Changes | None:
        """The next batch, merged with any others waiting (one ingest for all of them)."""
        first = self._changes.get()
        if first is None:
            return None
        while True:
            try:
                later = self._changes.get_nowait()
            except queue.Empty:
                return first
            if later is None:
                self._changes.put(None)
                return first
            first = first.merged(later)

    def _run(self) -> None:
        self._do(None)
        self._synced.set()
        while not self._stop.is_set():
            batch = self._next_batch()
            if batch is None or self._stop.is_set():
                return
            self._do(batch)

    def _do(self, batch: Changes | None) -> None:
        started = time.perf_counter()
        try:
            result = self.sync.rescan() if batch is None else self.sync.apply(batch)
            self._outage.succeeded()
        except Exception as exc:
            if not self._outage.failed(exc):  # an outage: one warning, then quiet retries
                log.exception("syncing %s failed; comparing it whole in %ss", self.folder, RETRY_S)
            self._stop.wait(RETRY_S)  # not in a tight loop while the store is down
            self._changes.put(Changes(self.folder, rescan=True))
            return
        log.info(
            "%s: %s added %d, updated %d, removed %d, failed %d (%.2fs)",
            self.folder,
            "rescan:" if batch is None or batch.rescan else "changes:",
            result.added,
            result.updated,
            result.removed,
            len(result.failed),
            time.perf_counter() - started,
        )
        if self.report is not None:
            self.report(self.folder, batch, result)


__all__ = ["FolderSync", "IngestOptions", "Reporter", "WatchedFolder"]
