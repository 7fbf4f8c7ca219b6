"""Exports of whole spaces: a Confluence space (HTML), a Notion page tree (Markdown & CSV), a
Slack workspace (JSON), each recognised by its shape and read as pages with stable
identities rather than as a plain zip of files.

- `read_export(path)` -> `Export` (`kind`, `space`, `items`), or `ExportRefused` for a
  hostile or broken export, `NotAnExport` for a zip that is none of the three;
- `read_archive(archive)`: the same, of a zip already opened and surveyed (`base.Archive`);
- `export_files(export)`: its items as the pipeline's `SourceFile`s, stored under the
  export's root (`confluence:DOCS`), with `synced` set: once every item is read, documents
  under that root that the export no longer holds are removed (`ingest_paths`);
- `discover_with_exports(paths, limits, names)`: `discover`, with each given .zip that is
  an export read as one. A zip found inside a folder stays a plain zip of files.

One module per kind (`confluence`, `notion`, `slack`), each with `recognise(names, archive)`
and `read(archive)`; `base` holds what they share. A new kind is a module with those two and
an entry in `_READERS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath

from ingest.exports import confluence, notion, slack
from ingest.exports.base import (
    EXPORT_KINDS,
    Archive,
    Export,
    ExportItem,
    ExportKind,
    ExportRefused,
    ReadyParse,
)
from ingest.sources.archives import ArchiveLimits, ArchiveRefused
from ingest.sources.files import Failure, Limits, SourceFile, discover


class NotAnExport(ValueError):
    """The zip is not an export this service recognises; ingest it as a plain zip."""


_READERS: dict[ExportKind, tuple[Callable[[list[str], Archive], bool], Callable[..., Export]]] = {
    "slack": (slack.recognise, slack.read),
    "confluence": (confluence.recognise, confluence.read),
    "notion": (notion.recognise, notion.read),
}
# How a document's source is shown: `confluence:DOCS/Setup guide` names the space key; a
# Notion page's path starts at its top-level page, a Slack thread's at its channel.
_SHOWN_SPACE: dict[ExportKind, bool] = {"confluence": True, "notion": False, "slack": False}


def _archive(path: Path, name: str | None, limits: Limits | None) -> Archive:
    limits = limits or Limits()
    return Archive(
        path,
        name or path.name,
        ArchiveLimits(limits.max_zip_entries, limits.max_zip_bytes, limits.max_file_bytes),
    )


def _kind(archive: Archive) -> ExportKind | None:
    names = archive.names()
    for kind, (recognise, _) in _READERS.items():
        if recognise(names, archive):
            return kind
    return None


def recognise(
    path: Path, *, name: str | None = None, limits: Limits | None = None
) -> ExportKind | None:
    """The kind of export the zip at `path` is, or None (not one, or not a readable zip)."""
    try:
        return _kind(_archive(path, name, limits))
    except ArchiveRefused:
        return None


def read_export(
    path: Path,
    *,
    name: str | None = None,
    limits: Limits | None = None,
    space: str | None = None,
) -> Export:
    """The export in the zip at `path` (shown as `name`, within `limits`), its items listed.

    Its items' contents are read when asked for (`ExportItem.read`); the pages' structure
    (titles, the tree, a Slack channel's messages) is read here, so a malformed structural
    entry refuses the export now. `space` overrides the space's name (see `Export.space`;
    a Notion export of several top-level pages is named by a hash of their ids otherwise).

    Raises `ArchiveRefused` for a zip that is unreadable, too big or holds too many
    entries; `ExportRefused` for an export with a refused entry (unsafe path, link, nested
    archive, an entry over the size limit) or a structural entry it cannot read (malformed
    or hostile JSON, a page that is not HTML), naming the entry; `NotAnExport` for a zip
    that is none of Confluence, Notion, Slack.
    """
    return read_archive(_archive(path, name, limits), space=space)


def read_archive(archive: Archive, *, space: str | None = None) -> Export:
    """`read_export` of a zip already opened and surveyed (an `Archive`: what an upload's
    check holds, so that the zip is opened once there); the same errors but `ArchiveRefused`."""
    kind = _kind(archive)
    if kind is None:
        raise NotAnExport(
            f"{archive.name} is not a Confluence, Notion or Slack export; ingest it as a zip "
            "of files"
        )
    archive.refuse_if_hostile(kind)
    reader = _READERS[kind][1]
    try:
        export = reader(archive, space=space) if kind == "notion" else reader(archive)
    except RecursionError:
        raise ExportRefused(
            f"{archive.name} is nested too deeply to read; the export was not ingested"
        ) from None
    if space is not None and kind != "notion":
        export.space = space
    return export


def _sidecar(meta: Mapping[str, object]) -> Callable[[], bytes | None]:
    # JSON is YAML: the pipeline reads it as any sidecar (weaker than the page's own metadata)
    data = json.dumps(dict(meta), ensure_ascii=False, sort_keys=True).encode() if meta else None
    return lambda: data


def export_files(export: Export) -> list[SourceFile]:
    """The export's items as `SourceFile`s for the pipeline: identity `<kind>:<space>/<key>`,
    shown as `<kind>:<path>` (`confluence:DOCS/Setup guide`, `slack:#general/thread-<ts>`),
    all under the root `<kind>:<space>`, `synced` (the root is this export, whole)."""
    files = []
    for item in export.items:
        shown = f"{export.space}/{item.path}" if _SHOWN_SPACE[export.kind] else item.path
        files.append(
            SourceFile(
                origin=export.origin(item.key),
                source=f"{export.kind}:{shown}",
                root=export.root,
                suffix=item.suffix,
                size=0,
                read=item.read,
                read_sidecar=_sidecar(
                    {"title": item.title, **item.meta} if item.title else item.meta
                ),
                modified=item.modified,
                trail=item.trail,
                parse=item.parse,
                synced=True,
            )
        )
    return files


def discover_with_exports(
    paths: list[Path], limits: Limits, names: Mapping[Path, str] | None = None
) -> Iterator[SourceFile | Failure]:
    """`discover(paths, limits, names)`, except that a given .zip which is an export is read
    as one (`export_files`); a refused export is one failure naming the archive's entry."""
    for given in paths:
        shown = (names or {}).get(given) or given.name
        if given.is_file() and PurePosixPath(shown).suffix.lower() == ".zip":
            try:
                yield from export_files(read_export(given, name=shown, limits=limits))
                continue
            except ExportRefused as exc:
                yield Failure(shown, str(exc))
                continue
            except (NotAnExport, ArchiveRefused):
                pass  # a plain zip of files (or one that discovery refuses, and says why)
        yield from discover([given], limits, names)


__all__ = [
    "EXPORT_KINDS",
    "Export",
    "ExportItem",
    "ExportKind",
    "ExportRefused",
    "NotAnExport",
    "ReadyParse",
    "discover_with_exports",
    "export_files",
    "read_archive",
    "read_export",
    "recognise",
]
