"""What PowerPoint (.pptx) and Word (.docx) files share: each is a zip package of XML parts.

Before python-pptx or python-docx opens one, the package is surveyed by `ingest.sources.archives`
with the archive limits that .zip uploads have (entries, what they unpack to, unsafe paths, links),
so a zip bomb with an Office name is refused like any other. A password-protected Office file
is not a zip at all but an OLE container (as are the old binary .doc and .ppt): it is named as
such. The document properties (docProps/core.xml) give title, author, created date and
keywords.
"""

from __future__ import annotations

from typing import Any, Protocol

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
                ArchiveLimits(limits.max_package_entries, limits.max_package_bytes),
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
