"""One sync of a named source: its kind says what changed, this module reads and stores it the
way `kb ingest` does, removes what is gone, and records the outcome in the registry.

The same for every kind (`ingest.sources.kinds`):

- the sync holds the source's claim (`SourceRegistry.claim`, renewed as it goes), so one
  source is synced by one process at a time, wherever it runs (`kb source sync`, `kb serve`,
  `kb worker`); a claim whose holder died on this machine is taken over at once, elsewhere
  when its lease runs out;
- each file is read, fingerprinted (content, sidecar and the source's defaults for its
  path: `ingest.pipeline.fingerprint`) and, when the store holds that already, left alone;
  otherwise parsed and stored at once, in its own transaction, with its `link` (the source's
  template filled in with the revision and path) and the source as its root
  (`source:<name>`), then recorded with the revision it was read at;
- removed paths are deleted; with a complete listing, so is every stored document of the
  source that is not in it (files that failed to read keep their last good document);
- only then is the kind's new state (a Git source's commit) recorded: a sync interrupted at
  any point leaves the old state, and the next one does the same changes again, finding the
  files already stored unchanged: every file exactly once;
- a sync that fails (the repository unreachable, the folder gone) records why and keeps the
  documents and state of the last good one.
"""

from __future__ import annotations

import logging
import os
import socket
import string
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pathspec

from ingest.chunking import estimate_tokens
from ingest.errors import UnreadableFile
from ingest.pipeline import (
    DEFAULT_CHUNK_TOKENS,
    Defaults,
    chunk_budget,
    fingerprint,
    parse_one,
)
from ingest.sources.files import Limits, SourceFile
from ingest.sources.kinds import KINDS, SourceKind, SyncContext
from kb import KnowledgeBase, doc_id_for
from kb.background import BackgroundEmbedder
from kb.sources import (
    DefaultRule,
    FileRecord,
    Source,
    SourceError,
    SourceRegistry,
    SourceSpec,
)

log = logging.getLogger("ingest.sources")

LINK_FIELDS = ("commit", "path", "name")
RENEW_EVERY = 30.0  # seconds between renewals of a running sync's claim
Progress = Callable[[int, int, str], None]


def check_link(template: str | None) -> str | None:
    """The link template, refused (`SourceError`) if it names a field other than {commit},
    {path} or {name}."""
    if not template:
        return None
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise SourceError(f"The link template {template!r} cannot be read: {exc}.") from None
    unknown = names - set(LINK_FIELDS)
    if unknown:
        raise SourceError(
            f"The link template names {', '.join(sorted(unknown))}: it may use {{commit}}, "
            "{path} and {name}, e.g. https://git.example.com/repo/blob/{commit}/{path}."
        )
    return template


def link_for(spec: SourceSpec, path: str, revision: str | None) -> str | None:
    if not spec.link:
        return None
    return spec.link.format(commit=revision or "", path=quote(path, safe="/"), name=spec.name)


def parse_default(text: str) -> DefaultRule:
    """A rule as `--default` gives it: "team=nlp", "docs/**: team=nlp course=rag
    visibility=nlp,research" (a pattern, a colon, then key=value pairs)."""
    pattern, _, rest = text.rpartition(":") if ":" in text else ("**", "", text)
    values: dict[str, Any] = {}
    for pair in rest.split():
        key, eq, value = pair.partition("=")
        if not eq or key not in ("team", "course", "visibility"):
            raise SourceError(
                f"{pair!r} in --default {text!r}: give team=, course= or visibility= "
                '(e.g. --default "docs/**: team=nlp visibility=nlp,research").'
            )
        values[key] = tuple(v for v in value.split(",") if v) if key == "visibility" else value
    if not values:
        raise SourceError(f"--default {text!r} sets nothing: give team=, course= or visibility=.")
    return DefaultRule(pattern=pattern.strip() or "**", **values)


def defaults_for(spec: SourceSpec, path: str) -> Defaults:
    """The metadata defaults of the file at `path`: every rule whose pattern matches it, in
    order, later ones winning for the fields they set."""
    team: str | None = None
    course: str | None = None
    visibility: tuple[str, ...] = ()
    for rule in spec.defaults:
        if rule.pattern not in ("", "**") and not pathspec.PathSpec.from_lines(
            "gitwildmatch", [rule.pattern]
        ).match_file(path):
            continue
        team = rule.team if rule.team is not None else team
        course = rule.course if rule.course is not None else course
        visibility = rule.visibility or visibility
    return Defaults(team, course, visibility)


def new_owner() -> str:
    """Who holds a claim: this machine, this process, and a nonce."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_here(owner: str | None) -> bool:
    """The claim's holder is a process of this machine that no longer runs."""
    if not owner or owner.count(":") < 2:
        return False
    host, pid, _ = owner.rsplit(":", 2)
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


@dataclass
class SyncReport:
    """What one sync did (`kb source sync --json`, the source's `summary`): the kind's mode
    ("diff", "full", "unchanged"...), files parsed, documents added, updated, unchanged and
    removed, the files it could not read, and why it failed (None: it did not)."""

    name: str
    mode: str = ""
    revision: str | None = None
    parsed: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    notes: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "revision": self.revision,
            "parsed": self.parsed,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "failed": len(self.failed),
            "seconds": self.seconds,
        }


@dataclass
class Syncer:
    """Syncs sources of one knowledge base and registry; `home` holds each source's working
    folder (`<home>/sources/<name>/`: a Git source's clone)."""

    kb: KnowledgeBase
    registry: SourceRegistry
    home: Path
    limits: Limits = field(default_factory=Limits)
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    kinds: Mapping[str, SourceKind] = field(default_factory=lambda: KINDS)
    embed: bool = True

    def workdir(self, name: str) -> Path:
        return self.home / "sources" / name

    def kind_of(self, kind: str) -> SourceKind:
        if kind not in self.kinds:
            raise SourceError(
                f"There is no source kind {kind!r}: the kinds are {', '.join(sorted(self.kinds))}."
            )
        return self.kinds[kind]

    def sync(
        self, name: str, *, owner: str | None = None, progress: Progress | None = None
    ) -> SyncReport:
        """Sync `name` now (see the module's docstring); `SourceError` when it is unknown or
        another process is syncing it. A failure is recorded and returned (`error`)."""
        owner = owner or new_owner()
        current = self.registry.get(name)
        if current is None:
            raise SourceError(f"There is no source called {name}: see kb source list.")
        takeover = current.status.claimed_by if dead_here(current.status.claimed_by) else None
        source = self.registry.claim(name, owner, takeover=takeover)
        if source is None:
            raise SourceError(
                f"The source {name} is being synced by {current.status.claimed_by}: wait for "
                "it to finish (kb source list shows when it last ran)."
            )
        return self.run_claimed(source, owner, progress)

    def run_claimed(
        self, source: Source, owner: str, progress: Progress | None = None
    ) -> SyncReport:
        """Sync a source whose claim `owner` holds, record the outcome, release the claim."""
        report = SyncReport(source.name)
        started = time.perf_counter()
        try:
            state, touched = self._sync(source, owner, report, progress)
        except BaseException as exc:
            report.error = _reason(exc)
            report.seconds = round(time.perf_counter() - started, 3)
            self.registry.finish(
                source.name,
                owner,
                state=None,
                error=report.error,
                summary=report.summary(),
                failures=_merged_failures(source, report, touched=set()),
            )
            if not isinstance(exc, Exception):
                raise  # Ctrl-C, SystemExit: recorded, still raised
            log.warning("sync of source %s failed: %s", source.name, report.error)
            return report
        report.seconds = round(time.perf_counter() - started, 3)
        self.registry.finish(
            source.name,
            owner,
            state=state,
            error=None,
            summary=report.summary(),
            failures=report.failed
            if touched is None
            else _merged_failures(source, report, touched),
        )
        return report

    def _sync(
        self, source: Source, owner: str, report: SyncReport, progress: Progress | None
    ) -> tuple[Mapping[str, Any], set[str] | None]:
        """The state to record, and the paths this sync looked at (None: all of them)."""
        spec = source.spec
        kind = self.kind_of(spec.kind)
        workdir = self.workdir(spec.name)
        workdir.mkdir(parents=True, exist_ok=True)
        changes = kind.sync(spec, source.status.state, SyncContext(workdir, self.limits))
        report.mode = str(changes.notes.get("mode", "full" if changes.complete else "changes"))
        report.revision = changes.revision
        report.notes = dict(changes.notes)
        for failure in changes.failures:
            report.failed.append({"path": failure.path, "error": failure.error})
        if not changes.files and not changes.removed and not changes.complete:
            return changes.state, set()  # nothing changed: not even the store is asked
        records = self.registry.files(spec.name)
        counter = getattr(self.kb.embedder, "count_tokens", None) or estimate_tokens
        budget: list[int] = []
        embedder = BackgroundEmbedder(self.kb).start() if self.embed else None
        renewed = time.monotonic()
        try:
            total = len(changes.files)
            for done, item in enumerate(changes.files, start=1):
                if time.monotonic() - renewed > RENEW_EVERY:
                    self.registry.claim(spec.name, owner)
                    renewed = time.monotonic()
                if not budget:
                    budget.append(chunk_budget(self.kb, self.chunk_tokens, counter))
                self._one(
                    spec,
                    item,
                    records,
                    changes.revision,
                    changes.stale_revision,
                    budget[0],
                    counter,
                    report,
                )
                if progress is not None:
                    progress(done, total, item.source)
            for path in changes.removed:
                self._remove(spec, path, report)
            if changes.complete:
                listed = {item.source for item in changes.files}
                listed |= {failure.path for failure in changes.failures}
                keep = {spec.origin_of(path) for path in listed}
                for origin, doc_id in self.kb.doc_ids_under(spec.root).items():
                    if origin not in keep:
                        self.kb.delete(doc_id)
                        report.removed += 1
                for path in records.keys() - listed:
                    self.registry.drop_file(spec.name, path)
            if embedder is not None:
                embedder.finish()
        finally:
            if embedder is not None:
                embedder.stop()
            if changes.close is not None:
                changes.close()
        self.kb.flush()
        if changes.complete:
            return changes.state, None
        return changes.state, {item.source for item in changes.files} | set(changes.removed)

    def _one(
        self,
        spec: SourceSpec,
        item: SourceFile,
        records: Mapping[str, FileRecord],
        revision: str | None,
        stale_revision: Callable[[str], bool] | None,
        budget: int,
        counter: Callable[[str], int],
        report: SyncReport,
    ) -> None:
        path = item.source
        origin = spec.origin_of(path)
        file = replace(item, origin=origin, root=spec.root)
        defaults = defaults_for(spec, path)
        try:
            data = file.read()
            sidecar = file.read_sidecar()
        except UnreadableFile as exc:
            report.failed.append({"path": path, "error": str(exc)})
            return
        except OSError as exc:
            report.failed.append({"path": path, "error": f"cannot read: {exc}"})
            return
        digest = fingerprint(data, sidecar, defaults)
        record = records.get(path)
        relink = bool(
            stale_revision is not None
            and record is not None
            and record.revision
            and stale_revision(record.revision)
        )
        if self.kb.is_unchanged(origin, digest) and not relink:
            report.unchanged += 1
            if record is None or record.origin != origin:  # stored by an interrupted sync
                self.registry.put_file(spec.name, path, FileRecord(origin, revision))
            return
        reading = self.limits.reading()
        doc = parse_one(file, data, sidecar, digest, defaults, budget, counter, reading)
        report.parsed += 1
        if isinstance(doc, str):
            report.failed.append({"path": path, "error": doc})
            return
        doc = replace(doc, meta=replace(doc.meta, link=link_for(spec, path, revision)))
        (result,) = self.kb.write_documents([doc])
        if result.status == "added":
            report.added += 1
        else:
            report.updated += 1
        self.registry.put_file(spec.name, path, FileRecord(origin, revision))

    def _remove(self, spec: SourceSpec, path: str, report: SyncReport) -> None:
        doc_id = doc_id_for(spec.origin_of(path))
        if self.kb.get_document(doc_id) is not None:
            self.kb.delete(doc_id)
            report.removed += 1
        self.registry.drop_file(spec.name, path)

    def remove_documents(self, spec: SourceSpec) -> int:
        """Delete every document the source stored (`kb source rm` without --keep-documents)."""
        removed = 0
        for doc_id in self.kb.doc_ids_under(spec.root).values():
            self.kb.delete(doc_id)
            removed += 1
        self.kb.flush()
        return removed


def _reason(exc: BaseException) -> str:
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted: the next sync finishes it"
    if isinstance(exc, SourceError):
        return str(exc)
    detail = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _merged_failures(
    source: Source, report: SyncReport, touched: set[str]
) -> list[Mapping[str, str]]:
    """The last sync's failures of files this one did not look at, then this one's."""
    seen = {f["path"] for f in report.failed} | touched
    kept = [f for f in source.status.failures if f.get("path") not in seen]
    return [*kept, *report.failed]


__all__ = [
    "LINK_FIELDS",
    "SyncReport",
    "Syncer",
    "check_link",
    "dead_here",
    "defaults_for",
    "link_for",
    "new_owner",
    "parse_default",
]
