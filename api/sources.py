"""Sources as the command line and the HTTP service both manage them (docs/sources.md): a
spec built from what the organiser typed or posted, checked by its kind; the listing; a sync;
a removal with or without the documents. `kb source ...` and `/sources` give the same JSON."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from api.backends import Backend
from ingest import Limits
from ingest.sources.kinds import KINDS
from ingest.sources.sync import Syncer, SyncReport, check_link, parse_default
from kb import KnowledgeBase
from kb.sources import DefaultRule, SourceError, SourceRegistry, SourceSpec, check_name

log = logging.getLogger("api.sources")

_EVERY = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_EVERY = 60  # seconds: a source synced more often would mostly wait for its own fetch


def parse_every(text: str | None) -> int | None:
    """`--every`: "manual" (or nothing) is None; "30m", "1h", "1d", "90s" are seconds."""
    if text is None or text.strip().lower() in ("", "manual", "never"):
        return None
    found = _EVERY.match(text.lower())
    if not found:
        raise SourceError(f"--every {text!r}: give a number and a unit (30m, 1h, 1d) or manual.")
    seconds = int(found[1]) * _UNIT[found[2]]
    if seconds < MIN_EVERY:
        raise SourceError(f"--every {text!r} is too often: a minute at the least.")
    return seconds


def build_spec(
    name: str,
    kind: str,
    location: str,
    *,
    branch: str | None = None,
    paths: Sequence[str] = (),
    ignore: Sequence[str] = (),
    defaults: Sequence[str] = (),
    team: str | None = None,
    course: str | None = None,
    visibility: Sequence[str] = (),
    link: str | None = None,
    every: str | None = None,
) -> SourceSpec:
    """The spec of a new source, checked: its name, kind and options (by the kind), its
    defaults (`--team`/`--course`/`--visibility` are a rule for every file, before the
    `--default "PATTERN: key=value"` rules), its link template and interval."""
    check_name(name)
    if kind not in KINDS:
        raise SourceError(f"There is no source kind {kind!r}: the kinds are {', '.join(KINDS)}.")
    rules: list[DefaultRule] = []
    if team or course or visibility:
        rules.append(DefaultRule("**", team or None, course or None, tuple(visibility)))
    rules.extend(parse_default(text) for text in defaults)
    options: dict[str, Any] = {"paths": list(paths), "ignore": list(ignore)}
    if branch:
        options["branch"] = branch
    spec = SourceSpec(
        name=name,
        kind=kind,
        location=location,
        options=options,
        defaults=tuple(rules),
        link=check_link(link),
        every=parse_every(every),
    )
    return KINDS[kind].check(spec)


def listing(registry: SourceRegistry) -> list[dict[str, Any]]:
    return [source.view() for source in registry.list()]


def syncer(backend: Backend, kb: KnowledgeBase, registry: SourceRegistry) -> Syncer:
    from api.settings import Settings

    settings = Settings()
    return Syncer(
        kb,
        registry,
        backend.home,
        limits=Limits(max_file_bytes=int(settings.max_file_mb * 1024 * 1024)),
        chunk_tokens=settings.chunk_tokens,
    )


def remove(
    backend: Backend, kb: KnowledgeBase, registry: SourceRegistry, name: str, *, keep: bool
) -> dict[str, Any]:
    """Forget the source (and its clone); its documents go too unless `keep`."""
    import shutil

    source = registry.get(name)
    if source is None:
        raise SourceError(f"There is no source called {name}: see kb source list.")
    removed = 0 if keep else syncer(backend, kb, registry).remove_documents(source.spec)
    registry.remove(name)
    shutil.rmtree(Path(backend.home) / "sources" / name, ignore_errors=True)
    return {"name": name, "removed_documents": removed, "kept_documents": keep}


def report_view(report: SyncReport) -> dict[str, Any]:
    return {
        "name": report.name,
        **report.summary(),
        "failures": report.failed,
        "error": report.error,
    }


def open_registry(backend: Backend) -> closing[SourceRegistry]:
    return closing(backend.open_source_registry())


__all__ = ["build_spec", "listing", "open_registry", "parse_every", "remove", "report_view"]


class SourcesService:
    """What `kb serve` keeps for `/sources`: the registry, a syncer and, in a process that
    runs jobs, the scheduler of timed syncs (ingest.sources.schedule) and a watcher on every
    `folder` source (ingest.sources.watch): a file landing, changing or going there makes the
    source due at once, so it is synced within seconds instead of at its next run."""

    def __init__(
        self, backend: Backend, kb: KnowledgeBase, *, schedule: bool, poll: float = 5.0
    ) -> None:
        import threading

        from ingest.sources.schedule import SourceScheduler

        self.backend = backend
        self.kb = kb
        self.registry = backend.open_source_registry()
        self._database: str | None = getattr(self.registry, "location", None)
        self.syncer = syncer(backend, kb, self.registry)
        self.scheduler = SourceScheduler(self.syncer, poll=poll).start() if schedule else None
        self._watchers: dict[str, Any] = {}  # folder source name -> its FolderWatcher
        self._watched_at: dict[str, str] = {}  # name -> the folder watched
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        if schedule:
            self.follow_folders()
            self._follower = threading.Thread(
                target=self._follow, args=(poll,), name="kb-source-folders", daemon=True
            )
            self._follower.start()

    def request_sync(self, name: str) -> bool:
        if not self.registry.request_sync(name):
            return False
        if self.scheduler is not None:
            self.scheduler.wake()
        return True

    def follow_folders(self) -> None:
        """A watcher on each `folder` source the registry lists (sources added or removed by
        any process are picked up at the next call), none on sources gone."""
        from ingest.sources.watch import FolderUnavailable, FolderWatcher

        wanted = {
            source.name: source.spec.location
            for source in self.registry.list()
            if source.spec.kind == "folder"
        }
        for name in [n for n in self._watchers if self._watched_at.get(n) != wanted.get(n)]:
            self._watchers.pop(name).stop(wait=1.0)
            self._watched_at.pop(name, None)
        for name, location in wanted.items():
            if name in self._watchers:
                continue
            try:
                watcher = FolderWatcher(
                    location, self._due_on_change(name), database=self._database
                )
                self._watchers[name] = watcher.start()
                self._watched_at[name] = location
            except FolderUnavailable:
                continue  # the sync says why (the folder is gone or not mounted)

    def _due_on_change(self, name: str) -> Callable[[Any], None]:
        def changed(_changes: Any) -> None:
            self.request_sync(name)

        return changed

    def _follow(self, poll: float) -> None:
        from kb.db.outage import OutageWatch

        outage = OutageWatch(log, "following the folder sources", self._database)
        while not self._stop.wait(poll):
            try:
                self.follow_folders()
                outage.succeeded()
            except Exception as exc:  # a registry that is briefly away: the next round retries
                if not outage.failed(exc):
                    log.exception("following the folder sources failed; looking again")

    def close(self, wait: float = 10.0) -> bool:
        self._stop.set()
        for watcher in self._watchers.values():
            watcher.stop(wait=1.0)
        self._watchers.clear()
        stopped = True if self.scheduler is None else self.scheduler.stop(wait)
        if stopped:
            self.registry.close()
        return stopped
