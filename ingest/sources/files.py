"""Finding the files to ingest: walk folders, open .zip archives, pair files with sidecars.

Every file found becomes a `SourceFile` (read lazily); every file that cannot be taken
becomes a `Failure` with a reason, so one bad file never stops a batch.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pathspec

from ingest.chunking import TokenCounter
from ingest.errors import UnreadableFile
from ingest.formats.parsed import Parsed
from ingest.formats.registry import SUPPORTED
from ingest.reading import MAX_PAGES, MAX_READ_SECONDS, ReadLimits
from ingest.sources.archives import (
    CONTROL_CHARACTERS,
    ArchiveLimits,
    ArchiveRefused,
    EntryProblem,
    escape_controls,
    is_hidden,
    open_archive,
    survey,
)

SIDECAR_SUFFIX = ".meta.yaml"
SIDECAR_MAX_BYTES = 1024 * 1024
IGNORE_FILE = ".kbignore"


@dataclass(frozen=True)
class Limits:
    """Bounds on what one ingest may read; each is configurable (CLI flags, API settings)."""

    max_file_bytes: int = 25 * 1024 * 1024
    max_zip_entries: int = 10_000
    max_zip_bytes: int = 1024 * 1024 * 1024
    # Reading one file (`ingest.reading`): PDF pages or slides, and seconds.
    max_pages: int = MAX_PAGES
    max_read_seconds: float = MAX_READ_SECONDS

    def reading(self) -> ReadLimits:
        """The limits of reading one file; an Office file (a zip) has those of an archive,
        and no part of it unpacks to more than a file may be."""
        return ReadLimits(
            self.max_pages,
            self.max_read_seconds,
            self.max_zip_entries,
            self.max_zip_bytes,
            max_part_bytes=self.max_file_bytes,
        )


@dataclass(frozen=True)
class SourceFile:
    origin: str  # identity across runs: absolute path, or "<absolute zip>!/<entry>"
    source: str  # shown to users: relative to the folder given
    root: str  # the folder or archive given on the command line (for --prune)
    suffix: str
    size: int
    read: Callable[[], bytes]
    read_sidecar: Callable[[], bytes | None]
    # the day it was last modified (YYYY-MM-DD, UTC): a document's date when its metadata
    # gives none (kb.freshness); None where nothing says
    modified: str | None = None
    # A page of an export (ingest.exports): the heading path above the document (its page
    # tree), a ready parse of `read()`'s bytes for content no file format describes (a Slack
    # thread), and `synced`: `root` is a whole export, so documents stored under it that this
    # ingest does not list are gone from its space and removed.
    trail: tuple[str, ...] = ()
    parse: Callable[[bytes, int, TokenCounter], Parsed] | None = None
    synced: bool = False


@dataclass(frozen=True)
class Failure:
    path: str
    error: str


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def _read_file(path: Path) -> Callable[[], bytes]:
    return path.read_bytes


def _check_sidecar_size(name: str, size: int) -> None:
    if size > SIDECAR_MAX_BYTES:
        raise UnreadableFile(
            f"its sidecar {name} is {size:,} bytes, over the limit of {SIDECAR_MAX_BYTES:,}: "
            "a sidecar holds a few lines of metadata"
        )


def _read_sidecar(path: Path) -> Callable[[], bytes | None]:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)

    def read() -> bytes | None:
        if not sidecar.is_file():
            return None
        _check_sidecar_size(sidecar.name, sidecar.stat().st_size)  # before reading it
        return sidecar.read_bytes()

    return read


def _day_of_timestamp(seconds: float) -> str | None:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC).date().isoformat()
    except (OverflowError, OSError, ValueError):  # a clock far off
        return None


def _day_of_zip_entry(stamp: tuple[int, int, int, int, int, int]) -> str | None:
    """An archive entry's day; None for the zero date (1980-01-01) tools write for none."""
    try:
        day = dt.date(*stamp[:3])
    except ValueError:
        return None
    return None if day <= dt.date(1980, 1, 1) else day.isoformat()


def _too_big(size: int, limits: Limits) -> str | None:
    if size > limits.max_file_bytes:
        return (
            f"the file is {size:,} bytes, over the limit of {limits.max_file_bytes:,} "
            "(raise it with --max-file-mb)"
        )
    return None


def _from_file(
    path: Path, source: str, root: str, limits: Limits, origin: str | None = None
) -> SourceFile | Failure:
    try:
        status = path.stat()
    except OSError as exc:
        return Failure(source, f"cannot read the file: {exc.strerror or exc}")
    size = status.st_size
    reason = _too_big(size, limits)
    if reason:
        return Failure(source, reason)
    return SourceFile(
        origin=origin or str(path.resolve()),
        source=source,
        root=root,
        suffix=_suffix(source),
        size=size,
        read=_read_file(path),
        read_sidecar=_read_sidecar(path),
        modified=_day_of_timestamp(status.st_mtime),
    )


class _OpenArchive:
    """One open ZipFile at a time, shared by the readers of one discovery.

    The pipeline reads files in the order they were found, so each archive is opened once
    (the handle that listed it is kept) instead of once per entry: opening parses the whole
    central directory, which made an ingest quadratic in the number of entries. Entries are
    read one at a time, when asked for; moving on to another archive closes the previous one,
    so at most one file handle is held.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._path: Path | None = None
        self._zip: zipfile.ZipFile | None = None

    def keep(self, path: Path, opened: zipfile.ZipFile) -> None:
        with self._lock:
            self._close()
            self._path, self._zip = path, opened

    def read(self, path: Path, name: str) -> bytes:
        with self._lock:
            if self._zip is None or self._path != path:
                self._close()
                self._zip = zipfile.ZipFile(path)
                self._path = path
            try:
                return self._zip.read(name)
            except (zipfile.BadZipFile, KeyError, ValueError) as exc:
                raise OSError(f"damaged archive entry: {exc}") from None

    def _close(self) -> None:
        if self._zip is not None:
            self._zip.close()
        self._path, self._zip = None, None

    def close(self) -> None:
        with self._lock:
            self._close()


def _zip_reader(opened: _OpenArchive, archive: Path, name: str) -> Callable[[], bytes]:
    return lambda: opened.read(archive, name)


def _zip_sidecar(
    opened: _OpenArchive, archive: Path, name: str, names: set[str]
) -> Callable[[], bytes | None]:
    sidecar = name + SIDECAR_SUFFIX
    if sidecar not in names:
        return lambda: None
    read = _zip_reader(opened, archive, sidecar)

    def read_checked() -> bytes:
        data = read()  # the archive's own limits bound this read
        _check_sidecar_size(sidecar, len(data))
        return data

    return read_checked


_CLI_ADVICE: dict[EntryProblem, str] = {
    "unsafe": "refused",
    "control": "refused: rename it and rebuild the archive",
    "symlink": "put the file itself in the archive",
    "archive": "unpack it and add its files, or ingest it on its own",
    "too_big": "raise it with --max-file-mb",
}


def _from_zip(
    archive: Path,
    prefix: str,
    root: str,
    limits: Limits,
    opened: _OpenArchive,
    origin: str | None = None,
) -> Iterator[SourceFile | Failure]:
    try:
        zf = open_archive(archive, prefix)
        opened.keep(archive, zf)  # the entries are read through this same handle
        found = survey(
            zf,
            prefix,
            ArchiveLimits(limits.max_zip_entries, limits.max_zip_bytes, limits.max_file_bytes),
        )
    except ArchiveRefused as exc:
        yield Failure(prefix, exc.message)
        return
    for refused in found.refused:
        yield Failure(refused.shown, f"{refused.reason}; {_CLI_ADVICE[refused.kind]}")
    names = {entry.info.filename for entry in found.entries}
    base = origin or str(archive.resolve())
    for entry in found.entries:
        suffix = _suffix(entry.path.name)
        if entry.info.filename.endswith(SIDECAR_SUFFIX) or suffix not in SUPPORTED:
            continue  # sidecars are read beside their file; other types are not material
        yield SourceFile(
            origin=f"{base}!/{entry.path}",
            source=entry.shown,
            root=root,
            suffix=suffix,
            size=entry.info.file_size,
            read=_zip_reader(opened, archive, entry.info.filename),
            read_sidecar=_zip_sidecar(opened, archive, entry.info.filename, names),
            modified=_day_of_zip_entry(entry.info.date_time),
        )


def _ignore_spec(folder: Path) -> pathspec.PathSpec:
    """Patterns in `<folder>/.kbignore`, gitignore syntax: what a folder's owner keeps out."""
    ignore_file = folder / IGNORE_FILE
    lines = ignore_file.read_text(encoding="utf-8").splitlines() if ignore_file.is_file() else []
    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def discover(
    paths: list[Path], limits: Limits, names: Mapping[Path, str] | None = None
) -> Iterator[SourceFile | Failure]:
    """Everything under the given files, folders and archives, in a stable order.

    `names` gives uploaded files their own name (the spool path means nothing to users):
    such a file is shown under that name and identified as "upload:<name>", so uploading
    a new version of a write-up replaces the old one. Files in archives are read through
    one open archive at a time (see `_OpenArchive`).
    """
    opened = _OpenArchive()
    for given in paths:
        if not given.exists():
            yield Failure(str(given), "no such file or folder")
            continue
        name = (names or {}).get(given)
        shown = name or given.name
        origin = f"upload:{name}" if name else None
        root = origin or str(given.resolve())
        if given.is_file():
            if _suffix(shown) == ".zip":
                yield from _from_zip(given, shown, root, limits, opened, origin)
            elif _suffix(shown) not in SUPPORTED:
                yield Failure(
                    shown,
                    f"unsupported file type {_suffix(shown) or '(none)'}; "
                    f"supported: {', '.join(SUPPORTED)} and .zip",
                )
            else:
                yield _from_file(given, shown, root, limits, origin)
            continue
        ignored = _ignore_spec(given)
        for folder, dirs, files in os.walk(given):
            here = Path(folder).relative_to(given)
            dirs[:] = sorted(
                d
                for d in dirs
                if not is_hidden(d) and not ignored.match_file((here / d).as_posix() + "/")
            )
            for name in sorted(files):
                if is_hidden(name) or name.endswith(SIDECAR_SUFFIX):
                    continue
                path = Path(folder) / name
                source = path.relative_to(given).as_posix()
                if ignored.match_file(source):
                    continue
                if CONTROL_CHARACTERS.search(source):
                    yield Failure(
                        escape_controls(source),
                        "the name holds control characters (such as a newline); rename it",
                    )
                    continue
                suffix = _suffix(name)
                if suffix == ".zip":
                    yield from _from_zip(path, source, root, limits, opened)
                elif suffix in SUPPORTED:
                    yield _from_file(path, source, root, limits)


# -- a folder's files by name (a watched folder's changes) ---------------------------------
class FolderRules:
    """Which paths under `folder` the walk of `discover` takes: not hidden (no part starting
    with a dot, no skipped folder), not a sidecar, not matched by the folder's `.kbignore`,
    a supported suffix or .zip. `FolderWatcher` asks it of every path an event names, and
    `discover_files` of every path it is given, so that a watched folder holds exactly what
    `kb ingest FOLDER` would. Read `.kbignore` once; build a new one when that file changes.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._ignored = _ignore_spec(folder)

    def admits_dir(self, relative: str) -> bool:
        """Whether the walk enters the folder `relative` (POSIX, relative to the folder)."""
        parts = PurePosixPath(relative).parts
        return not any(is_hidden(part) for part in parts) and not any(
            self._ignored.match_file("/".join(parts[: i + 1]) + "/") for i in range(len(parts))
        )

    def admits(self, relative: str) -> bool:
        """Whether the walk takes the file `relative` (POSIX, relative to the folder)."""
        path = PurePosixPath(relative)
        if not path.parts or path.name.endswith(SIDECAR_SUFFIX):
            return False
        parent = path.parent.as_posix()
        if is_hidden(path.name) or not self.admits_dir("" if parent == "." else parent):
            return False
        if self._ignored.match_file(relative):
            return False
        return _suffix(path.name) in SUPPORTED or _suffix(path.name) == ".zip"


def discover_files(
    folder: Path, relatives: list[str], limits: Limits
) -> Iterator[SourceFile | Failure]:
    """The files `relatives` (POSIX paths relative to `folder`) as the walk of
    `discover([folder])` finds them: the same origin, source and root (so a later
    `ingest_paths([folder], prune=True)` knows them), the same rules (`FolderRules`).

    A relative path naming a folder stands for everything the walk finds in it (a folder
    moved in whole sends one event); one that names nothing, or a file the rules refuse,
    yields nothing.
    """
    rules = FolderRules(folder)
    root = str(folder.resolve())
    opened = _OpenArchive()
    for relative in _expand(folder, relatives, rules):
        path = folder / relative
        if not path.is_file() or not rules.admits(relative):
            continue
        if CONTROL_CHARACTERS.search(relative):
            yield Failure(
                escape_controls(relative),
                "the name holds control characters (such as a newline); rename it",
            )
        elif _suffix(relative) == ".zip":
            yield from _from_zip(path, relative, root, limits, opened)
        else:
            yield _from_file(path, relative, root, limits)


def _expand(folder: Path, relatives: list[str], rules: FolderRules) -> Iterator[str]:
    """Each relative path, a folder's replaced by the files under it the walk would enter."""
    for relative in relatives:
        path = folder / relative
        if not path.is_dir():
            yield relative
            continue
        if relative not in ("", ".") and not rules.admits_dir(relative):
            continue
        for here, dirs, files in os.walk(path):
            inside = Path(here).relative_to(folder).as_posix()
            prefix = "" if inside == "." else inside + "/"
            dirs[:] = sorted(d for d in dirs if rules.admits_dir(prefix + d))
            yield from (prefix + name for name in sorted(files))
