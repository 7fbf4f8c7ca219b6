"""Archive safety, once: every .zip the service opens (a CLI ingest, an upload, a catalogue
upload) is surveyed here before any entry is read.

`survey` refuses a whole archive that is unreadable, holds too many entries or unpacks to too
much (a zip bomb), and sorts its entries into those to take and those refused with a reason:
paths that would land outside the folder (absolute, `..`, a drive), names with control
characters, symbolic links, nested archives and entries over the per-entry size. Hidden
entries (`.DS_Store`, `__MACOSX/`) are skipped, unless unsafe. Each caller turns refusals
into its own answer: a failure line (CLI), a 4xx (uploads), a catalogue fault.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

ARCHIVE_SUFFIX = ".zip"
SKIPPED_DIRS = frozenset({"__MACOSX", ".ipynb_checkpoints", "__pycache__", "node_modules"})
# C0 and C1 controls, DEL, line/paragraph separators and bidirectional overrides: a name with
# one of them would break or disguise a line of `kb docs` (and of any log that names it).
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

EntryProblem = Literal["unsafe", "control", "symlink", "archive", "too_big"]
ArchiveProblem = Literal["unreadable", "too_many", "too_big"]


@dataclass(frozen=True)
class ArchiveLimits:
    max_entries: int
    max_unpacked_bytes: int
    max_entry_bytes: int | None = None  # None: bounded by the whole archive's limit only


class ArchiveRefused(Exception):
    """The whole archive is refused; `kind` says why, for the caller's advice."""

    def __init__(self, kind: ArchiveProblem, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Entry:
    info: zipfile.ZipInfo
    path: PurePosixPath  # with forward slashes
    shown: str  # "<archive>/<path>", control characters escaped


@dataclass(frozen=True)
class RefusedEntry:
    shown: str
    kind: EntryProblem
    reason: str  # what is wrong, without advice (callers add their own)


@dataclass
class Survey:
    entries: list[Entry] = field(default_factory=list)
    refused: list[RefusedEntry] = field(default_factory=list)


def escape_controls(name: str) -> str:
    """The name with its control characters written as escapes (a newline as ``\\n``)."""
    return CONTROL_CHARACTERS.sub(lambda m: m.group().encode("unicode_escape").decode(), name)


def unsafe_path(name: str) -> bool:
    """An archive entry name that would land outside the folder it is unpacked in."""
    raw = name.replace("\\", "/")
    entry = PurePosixPath(raw)
    return (
        raw.startswith("/")
        or entry.is_absolute()
        or ".." in entry.parts
        or bool(entry.parts and ":" in entry.parts[0])
    )


def is_symlink(info: zipfile.ZipInfo) -> bool:
    """A symbolic link stored by a Unix zip tool (its target path is the entry's content)."""
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def is_hidden(part: str) -> bool:
    return part.startswith(".") or part in SKIPPED_DIRS


def open_archive(source: Path | bytes, name: str) -> zipfile.ZipFile:
    """The archive opened for reading, or ArchiveRefused('unreadable')."""
    try:
        return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ArchiveRefused(
            "unreadable", f"{name} is not a readable .zip archive ({exc})"
        ) from None


def entry_problem(info: zipfile.ZipInfo) -> tuple[EntryProblem, str] | None:
    """Why an entry is refused outright, as a kind and a reason, or None."""
    if unsafe_path(info.filename):
        return "unsafe", "unsafe path inside the archive (absolute or with '..')"
    if CONTROL_CHARACTERS.search(info.filename):
        return "control", "the entry's name holds control characters (such as a newline)"
    if is_symlink(info):
        return "symlink", "a symbolic link inside the archive (links are not followed)"
    if PurePosixPath(info.filename).suffix.lower() == ARCHIVE_SUFFIX:
        return "archive", "an archive inside the archive (nested archives are not opened)"
    return None


def survey(archive: zipfile.ZipFile, name: str, limits: ArchiveLimits) -> Survey:
    """The entries to take and those refused; ArchiveRefused when the whole archive is."""
    infos = [info for info in archive.infolist() if not info.is_dir()]
    if len(infos) > limits.max_entries:
        raise ArchiveRefused(
            "too_many",
            f"{name} has {len(infos):,} entries, over the limit of {limits.max_entries:,}",
        )
    unpacked = sum(info.file_size for info in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise ArchiveRefused(
            "too_big",
            f"{name} unpacks to {unpacked:,} bytes, over the limit of "
            f"{limits.max_unpacked_bytes:,}",
        )
    result = Survey()
    for info in infos:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        shown = f"{name}/{escape_controls(str(path))}"
        unsafe = unsafe_path(info.filename)
        if any(is_hidden(part) for part in path.parts) and not unsafe:
            continue
        problem = entry_problem(info)
        if problem is None and limits.max_entry_bytes is not None:
            if info.file_size > limits.max_entry_bytes:
                problem = (
                    "too_big",
                    f"the file is {info.file_size:,} bytes, over the limit of "
                    f"{limits.max_entry_bytes:,}",
                )
        if problem is not None:
            result.refused.append(RefusedEntry(shown, *problem))
        else:
            result.entries.append(Entry(info, path, shown))
    return result
