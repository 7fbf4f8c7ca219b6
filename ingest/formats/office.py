"""What PowerPoint (.pptx) and Word (.docx) files share: each is a zip package of XML parts.

Before python-pptx or python-docx opens one, the package is surveyed by `ingest.sources.archives`
with the archive limits that .zip uploads have (entries, what they unpack to, unsafe paths, links),
so a zip bomb with an Office name is refused like any other; and no part may unpack to more
than `ReadLimits.max_part_bytes` (a file's size limit), since a library parses a part whole,
at some 15 times its size in memory (a 200 MB document.xml took python-docx 3.6 GB). Parts
read by this package's own code go through `read_part`/`open_part`, which count the bytes
as they come and stop at the same limit, whatever the zip's directory claims. A
password-protected Office file is not a zip at all but an OLE container (as are the old binary
.doc and .ppt): it is named as such. The document properties (docProps/core.xml) give
title, author, created date and keywords.
"""

from __future__ import annotations

import zipfile
from typing import IO, Any, Protocol

from ingest.errors import UnreadableFile
from ingest.metadata import document_properties
from ingest.reading import ReadLimits
from ingest.sources.archives import ArchiveLimits, ArchiveRefused, open_archive, survey

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class CoreProperties(Protocol):
    """docProps/core.xml as python-pptx and python-docx both read it."""

    @property
    def title(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def created(self) -> Any: ...
    @property
    def keywords(self) -> str: ...


def check_package(data: bytes, kind: str, suffix: str, limits: ReadLimits) -> None:
    """Refuse, with the reason, an Office file that is not a sound zip package within limits."""
    if data[:8] == _OLE_MAGIC:
        raise UnreadableFile(
            f"it is not a {kind} {suffix} package but an OLE container: a password-protected "
            f"file (Office encrypts that way) or an old binary {suffix[:-1]} renamed; remove "
            f"the password or save it as {suffix} again, then ingest that"
        )
    try:
        with open_archive(data, "the package") as package:
            found = survey(
                package,
                "the package",
                ArchiveLimits(
                    limits.max_package_entries, limits.max_package_bytes, limits.max_part_bytes
                ),
            )
            names = set(package.namelist())
    except ArchiveRefused as exc:
        if exc.kind == "unreadable":
            raise UnreadableFile(
                f"damaged {kind} file: it is not a readable zip package ({suffix} files are zips)"
            ) from None
        raise UnreadableFile(f"refused as a {kind} file: {exc.message}") from None
    if found.refused:
        first = found.refused[0]
        if first.kind == "too_big":
            raise UnreadableFile(part_too_big(kind, first.shown.split("/", 1)[-1], limits))
        raise UnreadableFile(f"refused as a {kind} file: {first.shown}: {first.reason}")
    if "[Content_Types].xml" not in names:
        raise UnreadableFile(
            f"damaged {kind} file: the zip has no [Content_Types].xml, so it is not an Office "
            "package"
        )


def properties_of(core: CoreProperties) -> dict[str, Any]:
    """Title, author, date and tags from the package's core properties, where set."""
    try:
        return document_properties(
            title=core.title, author=core.author, created=core.created, keywords=core.keywords
        )
    except (ValueError, TypeError, AttributeError):  # a malformed date or property part
        return {}


def part_too_big(kind: str, part: str, limits: ReadLimits) -> str:
    """Why a package with a part over `limits.max_part_bytes` is refused, and what to do."""
    return (
        f"refused as a {kind} file: its part {part} unpacks to more than "
        f"{limits.max_part_bytes:,} bytes, the limit of one part (the size limit of a file, "
        "KB_MAX_FILE_MB): split the document into smaller files and ingest those"
    )


class _BoundedPart:
    """A zip member's stream that counts what it gives and refuses past the part limit."""

    def __init__(self, stream: IO[bytes], kind: str, part: str, limits: ReadLimits) -> None:
        self._stream = stream
        self._kind = kind
        self._part = part
        self._limits = limits
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        left = self._limits.max_part_bytes - self.read_bytes
        data = self._stream.read(left + 1 if size < 0 else min(size, left + 1))
        self.read_bytes += len(data)
        if self.read_bytes > self._limits.max_part_bytes:
            raise UnreadableFile(part_too_big(self._kind, self._part, self._limits))
        return data

    def close(self) -> None:
        self._stream.close()


def open_part(package: zipfile.ZipFile, part: str, kind: str, limits: ReadLimits) -> _BoundedPart:
    """A part of the package as a stream, bounded by `limits.max_part_bytes` while it is read
    (`UnreadableFile` with the reason past it); KeyError when the package has no such part."""
    return _BoundedPart(package.open(part), kind, part, limits)


def read_part(package: zipfile.ZipFile, part: str, kind: str, limits: ReadLimits) -> bytes:
    """A whole (small) part, read within the same bound as `open_part`."""
    stream = open_part(package, part, kind, limits)
    try:
        return stream.read()
    finally:
        stream.close()
