"""Sources as the command line and the HTTP service both manage them (docs/sources.md): a
spec built from what the organiser typed or posted, checked by its kind; the listing; a sync;
a removal with or without the documents. `kb source ...` and `/sources` give the same JSON."""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from api.backends import Backend
from ingest import Limits
from ingest.sources.kinds import KINDS
from ingest.sources.sync import Syncer, SyncReport, check_link, parse_default
from kb import KnowledgeBase
from kb.sources import DefaultRule, SourceError, SourceRegistry, SourceSpec, check_name

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
    runs jobs, the scheduler of timed syncs (ingest.sources.schedule)."""

    def __init__(
        self, backend: Backend, kb: KnowledgeBase, *, schedule: bool, poll: float = 5.0
    ) -> None:
        from ingest.sources.schedule import SourceScheduler

        self.backend = backend
        self.kb = kb
        self.registry = backend.open_source_registry()
        self.syncer = syncer(backend, kb, self.registry)
        self.scheduler = SourceScheduler(self.syncer, poll=poll).start() if schedule else None

    def request_sync(self, name: str) -> bool:
        if not self.registry.request_sync(name):
            return False
        if self.scheduler is not None:
            self.scheduler.wake()
        return True

    def close(self, wait: float = 10.0) -> bool:
        stopped = True if self.scheduler is None else self.scheduler.stop(wait)
        if stopped:
            self.registry.close()
        return stopped
