"""The `SourceKind` contract: how one kind of source (Git, a folder, an export archive) says
what changed since its last sync. The sync itself (reading, storing, removing, recording) is
`ingest.sources.sync`, the same for every kind.

A kind is one class with a `name`, a `check` (run when the source is added: normalise and
validate its options, say what is wrong) and one `sync(spec, last_state, context)` that
returns `Changes`. It never writes to the knowledge base: it lists what to (re)read and what
is gone, and the state to remember once all of it is stored. Returning every file with
`complete=True` is always correct (the sync then compares them by content hash and removes
what is no longer there); a kind that knows better (Git's diff, a watcher's events) returns
only what changed. Register it in `ingest.sources.kinds.KINDS` (docs/sources.md shows one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pathspec

from ingest.sources.files import Failure, Limits, SourceFile
from kb.sources import SourceSpec


@dataclass(frozen=True)
class SyncContext:
    """What a kind may use: its own folder (`workdir`, kept between syncs: a clone, a
    cursor) and the limits of reading (`limits`)."""

    workdir: Path
    limits: Limits = field(default_factory=Limits)


@dataclass
class Changes:
    """What changed since the last sync.

    files: to (re)read, each `SourceFile.source` the path inside the source (the sync gives
    them their origin and root); removed: paths gone; complete: `files` is every file the
    source holds now, so any other stored file goes too (a full comparison by content hash);
    state: what to remember, written only after every file of this sync is stored (a Git
    source's commit), so an interrupted sync is done again by the next; revision: what these
    files were read at (the {commit} of the link template); stale_revision: with `complete`,
    True for a revision recorded earlier whose links no longer hold (history rewritten), so
    that an unchanged file is read again for a new link; failures: files that could not be
    taken; close: called when the sync is done with the files (a reader process)."""

    state: Mapping[str, Any]
    files: Sequence[SourceFile] = ()
    removed: Sequence[str] = ()
    complete: bool = False
    revision: str | None = None
    stale_revision: Callable[[str], bool] | None = None
    failures: Sequence[Failure] = ()
    close: Callable[[], None] | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # kind's own figures (fetches...)


class SourceKind(Protocol):
    """One kind of source (see the module's docstring)."""

    name: str

    def check(self, spec: SourceSpec) -> SourceSpec:
        """The spec with its options normalised (`SourceError` saying what to fix)."""

    def sync(
        self, spec: SourceSpec, last_state: Mapping[str, Any], context: SyncContext
    ) -> Changes:
        """What changed since `last_state` ({} before the first sync)."""


class PathFilter:
    """Which paths of a source are read: under one of `options["paths"]` (all when none),
    not matched by `options["ignore"]` (gitignore patterns) nor hidden."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.prefixes = tuple(p.strip("/") for p in options.get("paths") or () if p.strip("/"))
        self.ignore = pathspec.PathSpec.from_lines("gitwildmatch", options.get("ignore") or ())

    def __call__(self, path: str) -> bool:
        if self.prefixes and not any(path == p or path.startswith(p + "/") for p in self.prefixes):
            return False
        if any(part.startswith(".") for part in path.split("/")):
            return False
        return not self.ignore.match_file(path)
