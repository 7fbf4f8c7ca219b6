"""The source registry's contract: named sources kept in the store, so that every replica, CLI
command and worker sees the same list, with what each one's last sync left behind.

A source is what an organiser names once (`kb source add handbook git https://...`) and kb
keeps in step from then on: its kind (`git`, `folder`, ...; the kinds live in
`ingest.sources.kinds`, which reads and compares files: the registry only keeps records), where
it is, the kind's options, the metadata its documents get by default (per path pattern), the
link template of its hits and how often it is synced.

What a sync leaves is recorded here as well: the kind's state after the last sync that
finished (a Git source's last synced commit: written only once every file of that sync is
stored, so an interrupted sync is finished by the next one), when it last ran, what it did,
why it failed (the documents of the last good sync stay), and one row per stored file (its
document's origin and the revision it was read at, for links). A claim with a lease makes a
sync one at a time per source across processes and machines: whoever holds it syncs, and a
claim whose holder died expires.

`SourceRegistry` is the seam: `kb.sources.sqlite.SqliteSourceRegistry` (a file in the home
folder) and `kb.sources.postgres.PgSourceRegistry`; `api.backends` opens the one in use.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from kb.errors import KBError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CLAIM_SECONDS = 120.0  # a sync's lease, renewed as it runs: one that dies is taken over after


class SourceError(KBError):
    """A source that cannot be added, found or synced as asked; the message says what to do."""


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise SourceError(
            f"{name!r} is not a source name: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit), e.g. handbook or nlp-notes."
        )
    return name


@dataclass(frozen=True)
class DefaultRule:
    """Metadata the documents under `pattern` get unless their own says otherwise.

    `pattern` is a gitignore-style pattern over the path inside the source ("**" or "" for
    every file; "docs/**"); later rules win over earlier ones for the fields they set."""

    pattern: str = "**"
    team: str | None = None
    course: str | None = None
    visibility: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "pattern": self.pattern,
            "team": self.team,
            "course": self.course,
            "visibility": list(self.visibility),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DefaultRule:
        return cls(
            pattern=str(data.get("pattern") or "**"),
            team=data.get("team"),
            course=data.get("course"),
            visibility=tuple(data.get("visibility") or ()),
        )


@dataclass(frozen=True)
class SourceSpec:
    """What the organiser gave: name, kind, location and the kind's `options` (Git: branch,
    paths, ignore), the `defaults` per path pattern, the `link` template of its documents
    ({commit}, {path}, {name}: docs/sources.md) and the interval between syncs in seconds
    (`every` None: synced only when asked)."""

    name: str
    kind: str
    location: str
    options: Mapping[str, Any] = field(default_factory=dict)
    defaults: tuple[DefaultRule, ...] = ()
    link: str | None = None
    every: int | None = None

    @property
    def root(self) -> str:
        """The `root` of every document this source stores (kb.types.DocumentInput.root): how a
        document remembers which source it came from, and how the store lists them."""
        return source_root(self.name)

    def origin_of(self, path: str) -> str:
        """The origin (identity across runs) of the document read from `path` in the source."""
        return f"{self.root}!/{path}"


def source_root(name: str) -> str:
    return f"source:{name}"


@dataclass(frozen=True)
class SourceStatus:
    """What the syncs left: the kind's `state` after the last sync that finished (a Git
    source's {"commit": ...}; {} before the first), when the last one finished
    (`last_sync_at`), the last good one (`last_ok_at`), why the last one failed (`error`, None
    when it did not), its `summary` (added, updated, removed, unchanged, parsed, failed) and the
    files it could not read (`failures`, each {"path", "error"}); when the next is due
    (`next_run_at`, None: only when asked), who is syncing it now (`claimed_by`, until
    `claimed_until`). Times are seconds since the epoch."""

    state: Mapping[str, Any] = field(default_factory=dict)
    last_sync_at: float | None = None
    last_ok_at: float | None = None
    error: str | None = None
    summary: Mapping[str, Any] = field(default_factory=dict)
    failures: tuple[Mapping[str, str], ...] = ()
    next_run_at: float | None = None
    claimed_by: str | None = None
    claimed_until: float = 0.0


@dataclass(frozen=True)
class Source:
    """A source as the registry holds it: the spec, its status, and how many documents it
    has stored (the rows of its files)."""

    spec: SourceSpec
    status: SourceStatus
    documents: int = 0

    @property
    def name(self) -> str:
        return self.spec.name

    def running(self, now: float | None = None) -> bool:
        return self.status.claimed_by is not None and self.status.claimed_until > (
            time.time() if now is None else now
        )

    def view(self) -> dict[str, Any]:
        """The source as `kb source list --json` and `GET /sources` show it (times in ISO 8601,
        UTC)."""
        spec, status = self.spec, self.status
        return {
            "name": spec.name,
            "kind": spec.kind,
            "location": spec.location,
            "options": dict(spec.options),
            "defaults": [rule.to_dict() for rule in spec.defaults],
            "link": spec.link,
            "every": spec.every,
            "documents": self.documents,
            "state": dict(status.state),
            "last_sync_at": iso(status.last_sync_at),
            "last_ok_at": iso(status.last_ok_at),
            "error": status.error,
            "summary": dict(status.summary),
            "failures": [dict(f) for f in status.failures],
            "next_run_at": iso(status.next_run_at),
            "running": self.running(),
        }


@dataclass(frozen=True)
class FileRecord:
    """One stored file of a source: its document's origin and the revision it was read at (a
    Git commit; None for kinds without revisions)."""

    origin: str
    revision: str | None = None


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


class SourceRegistry(Protocol):
    """Sources and their sync records, wherever they are kept; every method is safe to call
    from several threads and processes at once."""

    def add(self, spec: SourceSpec) -> Source:
        """Store a new source, due at once when it has an interval; `SourceError` if the
        name is taken."""

    def update(self, spec: SourceSpec) -> Source:
        """Replace a source's spec (its records stay); `SourceError` if there is none."""

    def get(self, name: str) -> Source | None: ...

    def list(self) -> list[Source]:
        """Every source, by name."""

    def remove(self, name: str) -> bool:
        """Forget the source and its file records (its documents are the caller's to delete
        or keep); False when there was none."""

    def claim(
        self,
        name: str,
        owner: str,
        *,
        lease: float = CLAIM_SECONDS,
        takeover: str | None = None,
    ) -> Source | None:
        """Take (or renew) the sync of `name` for `owner` unless someone else holds it (other
        than `takeover`, a holder known to be dead): the source, or None when it is taken (or
        unknown)."""

    def claim_due(self, owner: str, *, lease: float = CLAIM_SECONDS) -> Source | None:
        """Take the sync of one source whose next run is due and that nobody holds."""

    def request_sync(self, name: str) -> bool:
        """Make the source due now (the next scheduler to look syncs it); False if unknown."""

    def finish(
        self,
        name: str,
        owner: str,
        *,
        state: Mapping[str, Any] | None,
        error: str | None,
        summary: Mapping[str, Any],
        failures: Sequence[Mapping[str, str]],
    ) -> None:
        """Record a sync's end and release the claim: `state` None keeps the last good state
        (a failed sync); the next run is due `every` seconds from now (never: manual)."""

    def files(self, name: str) -> dict[str, FileRecord]:
        """path -> its record, for every file the source has stored."""

    def put_file(self, name: str, path: str, record: FileRecord) -> None: ...

    def drop_file(self, name: str, path: str) -> None: ...

    def close(self) -> None: ...


# -- row helpers both registries share ----------------------------------------------------
SOURCE_COLUMNS = (
    "name, kind, location, options, defaults, link, every, state, last_sync_at, last_ok_at, "
    "error, summary, failures, next_run_at, claimed_by, claimed_until"
)


def spec_values(spec: SourceSpec) -> tuple[Any, ...]:
    """(name, kind, location, options, defaults, link, every) as both registries store them."""
    return (
        spec.name,
        spec.kind,
        spec.location,
        json.dumps(dict(spec.options), sort_keys=True),
        json.dumps([rule.to_dict() for rule in spec.defaults]),
        spec.link,
        spec.every,
    )


def source_from_row(row: Sequence[Any], documents: int) -> Source:
    """A source from the columns `SOURCE_COLUMNS` lists."""
    spec = SourceSpec(
        name=row[0],
        kind=row[1],
        location=row[2],
        options=json.loads(row[3] or "{}"),
        defaults=tuple(DefaultRule.from_dict(d) for d in json.loads(row[4] or "[]")),
        link=row[5],
        every=None if row[6] is None else int(row[6]),
    )
    status = SourceStatus(
        state=json.loads(row[7] or "{}"),
        last_sync_at=row[8],
        last_ok_at=row[9],
        error=row[10],
        summary=json.loads(row[11] or "{}"),
        failures=tuple(json.loads(row[12] or "[]")),
        next_run_at=row[13],
        claimed_by=row[14],
        claimed_until=float(row[15] or 0.0),
    )
    return Source(spec, status, documents)


def finish_values(
    source: Source,
    state: Mapping[str, Any] | None,
    error: str | None,
    summary: Mapping[str, Any],
    failures: Sequence[Mapping[str, str]],
    now: float,
) -> tuple[Any, ...]:
    """(state, last_sync_at, last_ok_at, error, summary, failures, next_run_at) after a sync."""
    every = source.spec.every
    return (
        json.dumps(dict(source.status.state if state is None else state), sort_keys=True),
        now,
        source.status.last_ok_at if error is not None else now,
        error,
        json.dumps(dict(summary), sort_keys=True),
        json.dumps([dict(f) for f in failures], ensure_ascii=False),
        None if every is None else now + every,
    )


def with_spec(source: Source, spec: SourceSpec) -> Source:
    return replace(source, spec=spec)


__all__ = [
    "CLAIM_SECONDS",
    "DefaultRule",
    "FileRecord",
    "Source",
    "SourceError",
    "SourceRegistry",
    "SourceSpec",
    "SourceStatus",
    "check_name",
    "iso",
    "source_root",
]
