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

import posixpath
import zipfile
from collections.abc import Callable
from typing import IO, Any, Protocol

from ingest.errors import UnreadableFile
from ingest.metadata import document_properties
from ingest.reading import ReadLimits
from ingest.sources.archives import ArchiveLimits, ArchiveRefused, open_archive, survey

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
# How the relationship types of the main part and of the core properties end.
OFFICE_DOCUMENT = "/officeDocument"
CORE = "/metadata/core-properties"


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


def check_package(
    data: bytes,
    kind: str,
    suffix: str,
    limits: ReadLimits,
    name_part: Callable[[zipfile.ZipFile, str, ReadLimits], str] | None = None,
) -> None:
    """Refuse, with the reason, an Office file that is not a sound zip package within limits;
    `name_part(package, part, limits)` says which part a refusal names, as its reader knows it
    (a deck's slide number), else its name."""
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
            too_big = next((r for r in found.refused if r.kind == "too_big"), None)
            if too_big is not None and too_big is found.refused[0]:
                part = too_big.shown.split("/", 1)[-1]
                shown = name_part(package, part, limits) if name_part is not None else part
                raise UnreadableFile(part_too_big(kind, shown, limits))
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


def part_too_big(kind: str, part: str, limits: ReadLimits) -> str:
    """Why a package with a part over `limits.max_part_bytes` is refused, and what to do."""
    return (
        f"refused as a {kind} file: its part {part} unpacks to more than "
        f"{limits.max_part_bytes:,} bytes, the limit of one part (the size limit of a file, "
        "KB_MAX_FILE_MB): split the document into smaller files and ingest those"
    )


class _BoundedPart:
    """A zip member's stream that counts what it gives and refuses past the part limit
    (`part`: the part as the refusal names it)."""

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


def open_part(
    package: zipfile.ZipFile,
    part: str,
    kind: str,
    limits: ReadLimits,
    *,
    shown: str | None = None,
) -> _BoundedPart:
    """A part of the package as a stream, bounded by `limits.max_part_bytes` while it is read
    (`UnreadableFile` with the reason past it, naming the part as `shown`, else by its name);
    KeyError when the package has no such part."""
    return _BoundedPart(package.open(part), kind, shown or part, limits)


def read_part(package: zipfile.ZipFile, part: str, kind: str, limits: ReadLimits) -> bytes:
    """A whole (small) part, read within the same bound as `open_part`."""
    stream = open_part(package, part, kind, limits)
    try:
        return stream.read()
    finally:
        stream.close()


def xml_parser() -> Any:
    """lxml's parser for a package's parts: no entities resolved, no DTD, no network."""
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def relationship_targets(
    package: zipfile.ZipFile, source: str, kind: str, limits: ReadLimits
) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target part name), of the package (`source` "") or of a
    part; external targets left out, none when the part has no relationships."""
    from lxml import etree

    folder = posixpath.dirname(source)
    name = posixpath.join(folder, "_rels", posixpath.basename(source) + ".rels")
    try:
        root = etree.fromstring(read_part(package, name, kind, limits), xml_parser())
    except KeyError:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for rel in root.iter(f"{_RELS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External" or not target:
            continue
        part = target[1:] if target.startswith("/") else posixpath.join(folder, target)
        out.setdefault(rel.get("Id", ""), (rel.get("Type", ""), posixpath.normpath(part)))
    return out


def relationships(
    package: zipfile.ZipFile, source: str, kind: str, limits: ReadLimits
) -> dict[str, str]:
    """Relationship type -> target part name (the first of each type), as
    `relationship_targets` reads them."""
    out: dict[str, str] = {}
    for type_, part in relationship_targets(package, source, kind, limits).values():
        out.setdefault(type_, part)
    return out


def of_type(found: dict[str, str], ending: str) -> str | None:
    """The part of the first relationship whose type ends with `ending`."""
    return next((p for t, p in found.items() if t.endswith(ending)), None)


def content_type(package: zipfile.ZipFile, part: str, kind: str, limits: ReadLimits) -> str:
    """A part's content type as [Content_Types].xml gives it (an override, else its
    extension's default); "" when neither names it."""
    from lxml import etree

    types = read_part(package, "[Content_Types].xml", kind, limits)
    root = etree.fromstring(types, xml_parser())
    for override in root.iter(f"{_TYPES}Override"):
        if override.get("PartName", "").lstrip("/") == part:
            return override.get("ContentType", "")
    extension = posixpath.splitext(part)[1].lstrip(".").lower()
    for default in root.iter(f"{_TYPES}Default"):
        if default.get("Extension", "").lower() == extension:
            return default.get("ContentType", "")
    return ""


def core_properties(
    package: zipfile.ZipFile, part: str | None, kind: str, limits: ReadLimits
) -> dict[str, Any]:
    """Title, author, date and tags from docProps/core.xml (the same part in every Office
    package; python-docx's reader of it serves both formats); none when it is missing or
    damaged, which costs the properties, not the file."""
    if part is None or part not in package.namelist():
        return {}
    from docx.opc.coreprops import CoreProperties
    from docx.oxml.parser import parse_xml

    try:
        element = parse_xml(read_part(package, part, kind, limits))
    except Exception:  # a damaged properties part costs the properties, not the file
        return {}
    return properties_of(CoreProperties(element))
