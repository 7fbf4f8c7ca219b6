"""Checking uploads before a job is accepted: names, types, sizes and the insides of archives.

Everything that can be known without parsing is checked here, synchronously, so that a
client learns at once (a 4xx naming the file) rather than from a failed job later: the count
of files, each file's size and the total, unknown file types, names with control characters,
and for a .zip its entry count, its unpacked size, unsafe paths (absolute or with ``..``),
symbolic links, nested archives and entries of unknown type (the same entry checks as the
command line's, from ``ingest.sources.files``).
A .zip that is a Confluence, Notion or Slack export (``ingest.exports.read_export`` recognises
it) is accepted although it holds entries no format reads (.json, .css, .png): it is checked
as `kb ingest` reads it, whole (its structure read now, so a malformed or hostile export is
refused here naming the entry), and the job ingests it as an export, keeping its space in step.
Files are copied to the job's spool folder under safe names; the names their uploader gave
them are kept apart and shown to users.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ingest import SIDECAR_SUFFIX, SUPPORTED
from ingest.errors import RefusalKind, UploadRefused
from ingest.exports import ExportRefused, NotAnExport, read_archive
from ingest.exports.base import Archive
from ingest.jobs.base import Upload
from ingest.sources.archives import (
    CONTROL_CHARACTERS,
    ArchiveLimits,
    ArchiveProblem,
    ArchiveRefused,
    EntryProblem,
    escape_controls,
)

MB = 1024 * 1024
ARCHIVE = ".zip"
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
_COPY_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    max_files: int
    max_file_bytes: int  # a document, alone or inside an archive (an archive is bounded by
    # the total and by what it unpacks to)
    max_total_bytes: int
    max_zip_entries: int
    max_zip_bytes: int


@dataclass(frozen=True)
class IncomingFile:
    """What the HTTP layer received: the client's file name and a readable stream."""

    filename: str | None
    stream: BinaryIO


def _mb(n: int) -> str:
    return f"{n / MB:.3g} MB"


def _supported_list() -> str:
    return ", ".join((*SUPPORTED, ARCHIVE, SIDECAR_SUFFIX))


def display_name(filename: str | None) -> str:
    """The uploader's file name without any folder part (a browser may send a path)."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name.strip()
    return name


def _kind(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith(SIDECAR_SUFFIX):
        return "sidecar"
    suffix = PurePosixPath(lower).suffix
    if suffix == ARCHIVE:
        return "archive"
    if suffix in SUPPORTED:
        return "document"
    return None


def _safe_name(name: str) -> str:
    cleaned = _UNSAFE.sub("_", name).lstrip(". ") or "file"
    return cleaned[-150:]


_UPLOAD_ADVICE: dict[EntryProblem, str] = {
    "unsafe": "rebuild the archive with relative paths.",
    "control": "rename the entry and upload again.",
    "symlink": "put the file itself in the archive and upload again.",
    "archive": "unpack it and upload its files, or upload it on its own.",
    "too_big": "raise KB_UPLOAD_MAX_FILE_MB, or leave it out.",
}
_ENTRY_REFUSAL: dict[EntryProblem, RefusalKind] = {
    "unsafe": "invalid",
    "control": "invalid",
    "symlink": "invalid",
    "archive": "unsupported",
    "too_big": "too_large",
}
_ARCHIVE_ADVICE: dict[ArchiveProblem, tuple[RefusalKind, str]] = {
    "unreadable": ("invalid", "."),
    "too_many": ("too_large", " (KB_ZIP_MAX_ENTRIES); split it into smaller archives."),
    "too_big": ("too_large", " (KB_ZIP_MAX_UNCOMPRESSED_MB); split it into smaller archives."),
}


def _export_items(archive: Archive) -> int | None:
    """How many documents the export in `archive` holds, None when it is no export; a
    recognised export that is broken (a malformed `channels.json`, a page that is not HTML) is
    refused (422) with its reader's message, which names the entry and what to do."""
    try:
        export = read_archive(archive)
    except NotAnExport:
        return None
    except ExportRefused as exc:
        raise UploadRefused("invalid", f"{exc}.", file=archive.name) from None
    if not export.items:
        raise UploadRefused(
            "invalid",
            f"{archive.name} is a {export.kind.capitalize()} export with no page to ingest: "
            "export the space again with its pages.",
            file=archive.name,
        )
    return len(export.items)


def check_archive(path: Path, name: str, limits: UploadLimits) -> int:
    """Refuse an archive that is unreadable, too big, unsafe or holds unknown types; return
    how many documents it holds (hidden entries and sidecars are not documents). An export
    may hold entries of any type (its structure and assets); its documents are its items, as
    the job will read them. The zip is opened once."""
    try:
        archive = Archive(
            path,
            name,
            ArchiveLimits(limits.max_zip_entries, limits.max_zip_bytes, limits.max_file_bytes),
        )
    except ArchiveRefused as exc:
        kind, advice = _ARCHIVE_ADVICE[exc.kind]
        raise UploadRefused(kind, exc.message + advice, file=name) from None
    with archive:
        if archive.refused:  # unsafe, links, nested archives, too big: export or not
            first = archive.refused[0]
            raise UploadRefused(
                _ENTRY_REFUSAL[first.kind],
                f"{first.shown}: {first.reason}; {_UPLOAD_ADVICE[first.kind]}",
                file=first.shown,
            )
        items = _export_items(archive)
        if items is not None:
            return items
        entries = list(archive.entries.values())
    documents = 0
    for entry in entries:
        what = _kind(entry.path.name)
        if what is None or what == "archive":
            raise UploadRefused(
                "unsupported",
                f"{entry.shown}: unsupported file type inside the archive; supported: "
                f"{', '.join((*SUPPORTED, SIDECAR_SUFFIX))}. Remove it and upload again.",
                file=entry.shown,
            )
        if what == "document":
            documents += 1
    if documents == 0:
        raise UploadRefused(
            "invalid",
            f"{name} holds no document to ingest (supported: {_supported_list()}).",
            file=name,
        )
    return documents


def spool_uploads(
    files: list[IncomingFile], dest: Path, limits: UploadLimits
) -> tuple[list[Upload], int]:
    """Check and copy the files into `dest`; return the uploads to ingest (sidecars travel
    beside their file) and the number of documents expected. Raises UploadRefused, leaving `dest`
    for the caller to remove."""
    if not files:
        raise UploadRefused("invalid", "No file was sent: add one or more 'files' parts.")
    if len(files) > limits.max_files:
        raise UploadRefused(
            "too_large",
            f"{len(files)} files in one request, over the limit of {limits.max_files} "
            "(KB_UPLOAD_MAX_FILES): send a .zip, or several requests.",
        )
    names: dict[str, str] = {}  # safe name (lower case) -> given name
    safe_names: set[str] = set()
    plan: list[tuple[str, str, str, IncomingFile]] = []
    for item in files:
        name = display_name(item.filename)
        if not name:
            raise UploadRefused("invalid", "A file part has no file name: give each file its name.")
        if CONTROL_CHARACTERS.search(name):
            shown = escape_controls(name)
            raise UploadRefused(
                "invalid",
                f"{shown}: the file name holds control characters (such as a newline); "
                "rename the file and upload again.",
                file=shown,
            )
        kind = _kind(name)
        if kind is None:
            raise UploadRefused(
                "unsupported",
                f"{name}: unsupported file type; supported: {_supported_list()}.",
                file=name,
            )
        safe = _safe_name(name)
        if safe.lower() in names:
            raise UploadRefused(
                "invalid",
                f"{name}: two files in this upload have the same name "
                f"({names[safe.lower()]!r}); rename one.",
                file=name,
            )
        names[safe.lower()] = name
        safe_names.add(safe)
        plan.append((name, safe, kind, item))
    for name, safe, kind, _ in plan:
        if kind == "sidecar":
            if safe[: -len(SIDECAR_SUFFIX)] not in safe_names:
                raise UploadRefused(
                    "invalid",
                    f"{name} is a metadata sidecar without its file "
                    f"({name[: -len(SIDECAR_SUFFIX)]}) in the same upload.",
                    file=name,
                )
    dest.mkdir(parents=True, exist_ok=True)
    total = 0
    uploads: list[Upload] = []
    expected = 0
    for name, safe, kind, item in plan:
        target = dest / safe
        size = 0
        with target.open("wb") as out:
            while chunk := item.stream.read(_COPY_CHUNK):
                size += len(chunk)
                total += len(chunk)
                if size > limits.max_file_bytes and kind != "archive":
                    raise UploadRefused(
                        "too_large",
                        f"{name} is over the per-file limit of {_mb(limits.max_file_bytes)} "
                        "(KB_UPLOAD_MAX_FILE_MB).",
                        file=name,
                    )
                if total > limits.max_total_bytes:
                    raise UploadRefused(
                        "too_large",
                        f"The upload is over the total limit of {_mb(limits.max_total_bytes)} "
                        f"(KB_UPLOAD_MAX_TOTAL_MB), reached at {name}: send fewer files per "
                        "request.",
                        file=name,
                    )
                out.write(chunk)
        if kind == "archive":
            expected += check_archive(target, name, limits)
        if kind == "sidecar":
            continue
        if kind == "document":
            expected += 1
        uploads.append(Upload(name=name, size=size, path=str(target)))
    return uploads, expected


def discard(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
