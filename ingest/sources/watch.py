"""A watched folder: the files that land in it, change or leave, told in debounced batches.

`FolderWatcher` reads the operating system's file events through watchdog (inotify,
FSEvents, ReadDirectoryChangesW, kqueue), or polls the folder every `interval_s` where no
events come: network shares (NFS, SMB/CIFS, sshfs...), whose server never tells the client
what another machine wrote. It never reads a file itself; it says which relative paths to
look at, and only once each has stopped changing:

- a path an event names waits until its size and modification time stayed the same for
  `debounce_s` (a file being copied, written in pieces over seconds, is told once, whole);
- temporary and partial names are never told (`*.part`, `*.crdownload`, `*.tmp`, `~$*`,
  dotfiles, editors' `*~`), nor what `kb ingest FOLDER` would not take (`FolderRules`:
  `.kbignore`, unsupported suffixes, hidden folders); a sidecar's change is its file's;
- a change to `.kbignore` asks for a full rescan (`Changes.rescan`).

What it tells is a hint, not a ledger: events lost (the process stopped, the OS dropped some)
are made good by a full rescan, which `ingest.folder_sync.WatchedFolder` runs on start.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers.api import BaseObserver

from ingest.sources.files import IGNORE_FILE, SIDECAR_SUFFIX, FolderRules
from kb.db.outage import OutageWatch

log = logging.getLogger("ingest.watch")

DEFAULT_INTERVAL_S = 2.0
DEFAULT_DEBOUNCE_S = 1.0
# How often, at most, pending paths are looked at again when no event arrives.
TICK_S = 0.25
# Names that copy tools, browsers and editors give a file before it is complete.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".swp", "~")
PARTIAL_PREFIXES = ("~$", ".")
# File systems whose clients hear nothing of other machines' writes: polled.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "fuse.sshfs",
        "sshfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "fuse.glusterfs",
        "davfs",
        "fuse.davfs2",
        "fuse.rclone",
        "vboxsf",
        "lustre",
        "gpfs",
    }
)


class FolderUnavailable(ValueError):
    """The folder to watch is not there; the message says which and what to do."""


@dataclass(frozen=True)
class Changes:
    """One batch of a watched folder's changes, as POSIX paths relative to `folder`.

    `added` and `modified` exist and have stopped changing; `deleted` are gone (a path may
    name a folder that went away whole). `rescan`: compare the whole folder instead (its
    `.kbignore` changed, or events may have been missed).
    """

    folder: Path
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    rescan: bool = False

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted or self.rescan)

    def merged(self, later: Changes) -> Changes:
        """This batch followed by `later`: each path in the state the later one says."""
        state: dict[str, str] = {}
        for batch in (self, later):
            for kind, paths in (
                ("added", batch.added),
                ("modified", batch.modified),
                ("deleted", batch.deleted),
            ):
                for path in paths:
                    was = state.get(path)
                    state[path] = "added" if kind == "modified" and was == "added" else kind
        return Changes(
            self.folder,
            tuple(p for p, k in state.items() if k == "added"),
            tuple(p for p, k in state.items() if k == "modified"),
            tuple(p for p, k in state.items() if k == "deleted"),
            self.rescan or later.rescan,
        )


def is_partial_name(name: str) -> bool:
    """Whether a file name is one a file has only while it is written (or a dotfile)."""
    return name.startswith(PARTIAL_PREFIXES) or name.lower().endswith(PARTIAL_SUFFIXES)


MOUNTS = Path("/proc/self/mounts")


def filesystem_type(path: Path, mounts_file: Path = MOUNTS) -> str | None:
    """The type of the file system holding `path` (the longest mount point it is under, in
    Linux's `mounts_file`), else None (another OS: events, unless told to poll)."""
    try:
        mounts = mounts_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    target = str(path.resolve())
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def needs_polling(path: Path, mounts_file: Path = MOUNTS) -> bool:
    """Whether `path` is on a network file system, where no events tell of others' writes."""
    kind = filesystem_type(path, mounts_file)
    return kind is not None and (kind in NETWORK_FILESYSTEMS or kind.startswith("nfs"))


class _Forward(FileSystemEventHandler):
    """watchdog's events as (kind, path) on a queue: a move is its source gone and its
    destination new; opening and reading a file are nothing."""

    def __init__(self, events: queue.Queue[tuple[str, str]]) -> None:
        self.events = events

    def on_any_event(self, event: FileSystemEvent) -> None:
        kind = event.event_type
        if kind == "moved":
            self.events.put(("deleted", os.fsdecode(event.src_path)))
            self.events.put(("added", os.fsdecode(event.dest_path)))
        elif kind == "created":
            self.events.put(("added", os.fsdecode(event.src_path)))
        elif kind in ("modified", "closed"):
            self.events.put(("modified", os.fsdecode(event.src_path)))
        elif kind == "deleted":
            self.events.put(("deleted", os.fsdecode(event.src_path)))


@dataclass
class _Pending:
    signature: tuple[int, ...] | None  # (size, mtime_ns) of a file, (-1,) of a folder
    since: float  # when the signature last changed
    first: str  # "added" or "modified": what the first event said


def _signature(path: Path) -> tuple[int, ...] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    if path.is_dir():
        return (-1,)
    return (status.st_size, status.st_mtime_ns)


class FolderWatcher:
    """Watch `path` (recursively) and call `on_changes` with each debounced batch.

    `poll`: True polls every `interval_s`; False uses the OS's events; None (the default)
    polls on network file systems (`needs_polling`) and falls back to polling when events
    cannot be had (the OS's limit of watches reached). A path is told once it has kept the
    same size and modification time for `debounce_s`. `on_changes` runs on the watcher's
    thread: keep it short (hand the batch to a queue), since no other path is looked at
    meanwhile; if it raises, the batch's paths are looked at again after `debounce_s`.
    Raises FolderUnavailable when `path` is not a folder.
    """

    def __init__(
        self,
        path: Path | str,
        on_changes: Callable[[Changes], None],
        *,
        poll: bool | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        debounce_s: float = DEFAULT_DEBOUNCE_S,
        database: str | None = None,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise FolderUnavailable(
                f"Cannot watch {self.path}: no such folder. Create it, mount the share, or "
                "fix the path (KB_WATCH, or the folder given to `kb watch`)."
            )
        if interval_s <= 0 or debounce_s < 0:
            raise ValueError("interval_s must be over 0 and debounce_s at least 0")
        self.on_changes = on_changes
        # what `on_changes` writes to, if a database (named in the one warning of an outage)
        self._outage = OutageWatch(log, f"watching {self.path}", database)
        self.poll = poll
        self.interval_s = interval_s
        self.debounce_s = debounce_s
        # polled or told by events: decided now, and set to polling if events fail
        self.polling = needs_polling(self.path) if poll is None else poll
        self._rules = FolderRules(self.path)
        self._root = self.path.resolve()
        self._pending: dict[str, _Pending] = {}
        self._rescan = False
        self._stop = threading.Event()
        self._events: queue.Queue[tuple[str, str]] = queue.Queue()
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    # -- the thread ---------------------------------------------------------------------
    def start(self) -> FolderWatcher:
        """Start watching; returns once the watch is in place (events from then on are
        seen). Paths are looked at, and batches told, on a thread of its own."""
        self._observe()
        self._thread = threading.Thread(
            target=self._run, name=f"kb-watch:{self.path.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, wait: float | None = 10) -> None:
        """Stop watching; paths still settling are dropped (the next start's rescan finds
        them)."""
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(wait)
        if self._observer is not None and self._observer.is_alive():
            self._observer.join(wait)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _observe(self) -> None:
        """watchdog's observer on the folder: inotify (or the OS's own) for events, its
        PollingObserver (a snapshot compared every `interval_s`: sizes and times to the
        nanosecond) when polling. Events that cannot be had (inotify's limit of watches
        reached) fall back to polling unless `poll=False` was asked for."""
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        handler = _Forward(self._events)
        if not self.polling:
            try:
                observer: BaseObserver = Observer()
                observer.schedule(handler, str(self.path), recursive=True)
                observer.start()
                self._observer = observer
                return
            except OSError as exc:
                if self.poll is False:
                    raise
                log.warning("no file events for %s (%s): polling it instead", self.path, exc)
                self.polling = True
        observer = PollingObserver(timeout=self.interval_s)
        observer.schedule(handler, str(self.path), recursive=True)
        observer.start()
        self._observer = observer

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                change, raw = self._events.get(timeout=TICK_S)
                self._note(change, Path(raw))
                while True:  # everything that came meanwhile, then one look
                    change, raw = self._events.get_nowait()
                    self._note(change, Path(raw))
            except queue.Empty:
                pass
            try:
                self._settle()
                self._mend()
            except Exception:  # the watcher outlives one failure; the next tick retries
                log.exception("watching %s failed; looking again", self.path)
                self._rescan = True
                self._stop.wait(1)

    def _mend(self) -> None:
        """An observer that died (the folder went away, a share dropped) is started again,
        and the whole folder compared, since what happened meanwhile was not seen."""
        if self._stop.is_set() or self._observer is None or self._observer.is_alive():
            return
        if not self.path.is_dir():
            return  # not back yet: look at the next tick
        log.warning("watching %s again (it went away or its observer stopped)", self.path)
        self._observe()
        self._rescan = True

    # -- what each event means ----------------------------------------------------------
    def _note(self, change: str, absolute: Path) -> None:
        try:
            relative = absolute.relative_to(self.path).as_posix()
        except ValueError:
            try:
                relative = absolute.resolve().relative_to(self._root).as_posix()
            except (ValueError, OSError):
                return
        if relative in ("", "."):
            if change != "modified":  # (its time changes with each entry: nothing to see)
                self._rescan = True  # the folder itself was replaced: look at all of it
            return
        if relative == IGNORE_FILE:
            self._rules = FolderRules(self.path)
            self._rescan = True
            return
        if relative.endswith(SIDECAR_SUFFIX):
            relative = relative[: -len(SIDECAR_SUFFIX)]  # the file it describes changed
        if not self._wanted(relative):
            return
        entry = self._pending.get(relative)
        now = time.monotonic()
        signature = _signature(self.path / relative)
        if entry is None:
            first = "added" if change == "added" else "modified"
            self._pending[relative] = _Pending(signature, now, first)
        else:
            entry.signature, entry.since = signature, now

    def _wanted(self, relative: str) -> bool:
        name = PurePosixPath(relative).name
        if is_partial_name(name):
            return False
        path = self.path / relative
        if path.is_dir():
            return self._rules.admits_dir(relative)
        if path.exists():
            return self._rules.admits(relative)
        # gone: a file or a folder, no telling which
        return self._rules.admits(relative) or self._rules.admits_dir(relative)

    def _settle(self) -> None:
        """Tell the paths that kept their size and time for `debounce_s`."""
        now = time.monotonic()
        ready: dict[str, _Pending] = {}
        for relative, entry in list(self._pending.items()):
            signature = _signature(self.path / relative)
            if signature != entry.signature:
                entry.signature, entry.since = signature, now
            elif now - entry.since >= self.debounce_s:
                ready[relative] = self._pending.pop(relative)
        folders = [r for r, e in ready.items() if e.signature == (-1,)]
        for relative in folders:  # a folder moved in whole: its files settle in turn
            del ready[relative]
            for inner in self._files_in(relative):
                self._pending.setdefault(
                    inner, _Pending(_signature(self.path / inner), now, "added")
                )
        if not ready and not self._rescan:
            return
        batch = Changes(
            self.path,
            added=tuple(sorted(r for r, e in ready.items() if e.signature and e.first == "added")),
            modified=tuple(
                sorted(r for r, e in ready.items() if e.signature and e.first != "added")
            ),
            deleted=tuple(sorted(r for r, e in ready.items() if e.signature is None)),
            rescan=self._rescan,
        )
        self._rescan = False
        try:
            self.on_changes(batch)
            self._outage.succeeded()
        except Exception as exc:
            if not self._outage.failed(exc):
                log.exception("handling changes in %s failed; looking at them again", self.path)
            self._rescan = self._rescan or batch.rescan
            for relative, entry in ready.items():
                self._pending.setdefault(relative, _Pending(entry.signature, now, entry.first))

    def _files_in(self, relative: str) -> Iterable[str]:
        for here, dirs, files in os.walk(self.path / relative):
            inside = Path(here).relative_to(self.path).as_posix()
            dirs[:] = [d for d in dirs if self._rules.admits_dir(f"{inside}/{d}")]
            for name in files:
                inner = f"{inside}/{name}"
                if not is_partial_name(name) and self._rules.admits(inner):
                    yield inner


__all__ = [
    "DEFAULT_DEBOUNCE_S",
    "DEFAULT_INTERVAL_S",
    "Changes",
    "FolderUnavailable",
    "FolderWatcher",
    "filesystem_type",
    "is_partial_name",
    "needs_polling",
]
