"""What every export reader shares: the items it yields, the archive it reads, its errors.

An export is one zip that a wiki or chat tool writes of a whole space (a Confluence space, a
Notion workspace or page tree, a Slack workspace). Its reader (`confluence`, `notion`,
`slack`) turns it into an `Export`: the kind, a stable name of the space, and `ExportItem`s,
one per page, attachment, thread or channel day, each with an identity that a newer export
of the same space gives again (the page's id, the channel's id and the thread's `ts`), so
that ingesting the newer export updates, adds and removes documents instead of piling up
copies.

The archive is opened and surveyed once (`ingest.sources.archives`: traversal, links, nested
archives, zip bombs, entry sizes), exactly as a plain zip is; an export with any refused
entry, or with a structural file (a page, `channels.json`, a day of messages) that cannot
be read, is refused whole with `ExportRefused` naming the entry, before anything is
stored: a half-read export would look like pages removed. Nothing is ever unpacked to disk;
entries are read into memory within the archive's limits.
"""

from __future__ import annotations

import json
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from ingest.chunking import TokenCounter
from ingest.formats.parsed import Parsed
from ingest.sources.archives import ArchiveLimits, Entry, RefusedEntry, open_archive, survey
from kb import doc_id_for

ExportKind = Literal["confluence", "notion", "slack"]
EXPORT_KINDS: tuple[ExportKind, ...] = ("confluence", "notion", "slack")
# A document's ready parse, for content no file format describes (a Slack thread): its
# bytes (what `read` returned, so the fingerprint is of the content), the budget, the counter.
ReadyParse = Callable[[bytes, int, TokenCounter], Parsed]


class ExportRefused(Exception):
    """The whole export is refused; the message names the archive entry and what to do.
    Nothing of it is stored, and nothing stored before is removed."""


@dataclass(frozen=True)
class ExportItem:
    """One document of an export.

    key: its identity within the space, stable across exports ("page/65541",
    "C024BE91L/thread-1709632933.000100"); path: what users see after the space
    ("Onboarding/Setup guide", "#general/thread-1709632933.000100"); trail: the heading path
    above it (the page tree: space, ancestors); suffix: how `read()`'s bytes are parsed
    (".html", ".md", ".pdf" ... through the normal parsers), or `parse` when they are
    ready-made (Slack); meta: metadata as a sidecar gives it (tags, author, date);
    entry: the archive entry it came from, for messages.
    """

    key: str
    path: str
    title: str
    suffix: str
    read: Callable[[], bytes]
    entry: str
    trail: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    parse: ReadyParse | None = None
    modified: str | None = None


@dataclass
class Export:
    """A recognised export: its `kind`, the stable name of its `space` (a Confluence space
    key, a Notion root page's id, a Slack team id) and its `items`, in a stable order.

    `root` ("confluence:DOCS") is what every document of it is stored under: a newer export
    of the same space removes the documents under that root that it no longer holds, and
    touches no other space's."""

    kind: ExportKind
    space: str
    archive: str  # the name shown for the zip
    items: list[ExportItem] = field(default_factory=list)
    space_title: str = ""

    @property
    def root(self) -> str:
        return f"{self.kind}:{self.space}"

    def origin(self, key: str) -> str:
        """The stored identity of the item `key`: `<kind>:<space>/<key>`."""
        return f"{self.root}/{key}"

    def doc_link(self, key: str) -> str:
        """The knowledge base's own link to the item `key` (`GET /documents/<doc_id>`): what
        links between pages are rewritten to."""
        return f"/documents/{doc_id_for(self.origin(key))}"


class Archive:
    """An export's zip, surveyed once, read entry by entry (one handle, under a lock)."""

    def __init__(self, path: Path, name: str, limits: ArchiveLimits) -> None:
        self.path = path
        self.name = name
        self._zip = open_archive(path, name)
        found = survey(self._zip, name, limits)
        self.entries: dict[str, Entry] = {str(entry.path): entry for entry in found.entries}
        self.refused: list[RefusedEntry] = found.refused
        self._lock = threading.Lock()

    def close(self) -> None:
        self._zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def names(self) -> list[str]:
        return sorted(self.entries)

    def shown(self, name: str) -> str:
        return f"{self.name}/{name}"

    def read(self, name: str) -> bytes:
        """An entry's bytes; OSError (the item fails, the batch goes on) for a damaged one."""
        with self._lock:
            try:
                return self._zip.read(self.entries[name].info.filename)
            except (zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
                raise OSError(f"damaged archive entry {self.shown(name)}: {exc}") from None

    def reader(self, name: str) -> Callable[[], bytes]:
        return lambda: self.read(name)

    def structural(self, name: str) -> bytes:
        """An entry the export's structure depends on: ExportRefused if it cannot be read."""
        try:
            return self.read(name)
        except OSError as exc:
            raise ExportRefused(f"{exc}; the export was not ingested: export it again") from None

    def text(self, name: str) -> str:
        return self.structural(name).decode("utf-8-sig", "replace")

    def json(self, name: str) -> Any:
        """A JSON entry, or ExportRefused naming it (malformed, or nested too deeply)."""
        data = self.structural(name)
        try:
            return json.loads(data.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            problem = f"is not UTF-8 text ({exc.reason} at byte {exc.start})"
        except json.JSONDecodeError as exc:
            problem = f"is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
        except RecursionError:
            problem = "is JSON nested too deeply to read"
        raise ExportRefused(
            f"{self.shown(name)} {problem}; the export was not ingested: export it again"
        )

    def day(self, name: str) -> str | None:
        """The day an entry was last modified (YYYY-MM-DD), None for the zero date."""
        stamp = self.entries[name].info.date_time
        return None if stamp[0] <= 1980 else f"{stamp[0]:04d}-{stamp[1]:02d}-{stamp[2]:02d}"

    def refuse_if_hostile(self, kind: ExportKind) -> None:
        """An export with a refused entry is refused whole (a traversal name, a link, a nested
        archive, an entry over the size limit): which pages it would have held is unknown."""
        if self.refused:
            first = self.refused[0]
            more = f" (and {len(self.refused) - 1} more)" if len(self.refused) > 1 else ""
            raise ExportRefused(
                f"{first.shown}: {first.reason}{more}; this {kind.capitalize()} export was not "
                "ingested: export it again from the tool, or ingest its files as a plain "
                "folder"
            )


def top_folder(names: list[str]) -> str:
    """The one folder every entry is under ("" when they are not all under one)."""
    firsts = {PurePosixPath(name).parts[0] for name in names if "/" in name}
    if len(firsts) == 1 and all("/" in name for name in names):
        return firsts.pop()
    return ""


def wrong_shape(archive: Archive, name: str, expected: str) -> ExportRefused:
    return ExportRefused(
        f"{archive.shown(name)} is not {expected}; the export was not ingested: export it again"
    )
