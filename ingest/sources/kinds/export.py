"""The `export` kind: a Confluence space, a Notion workspace or a Slack workspace, kept in step
from its export archives (ingest.exports reads all three).

The location is an export `.zip`, or a folder that newer exports are dropped into (the newest
`.zip` by modification time is read). A sync reads the export whole and returns every page
with `complete=True`: pages changed since the last export are read again, new ones added, and
those the newer export no longer holds removed; an archive unchanged since the last sync (same
name, size and modification time) costs a `stat`. A hostile or broken export fails the sync
with the entry named, and the documents of the last good export stay.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ingest.exports import NotAnExport, export_files, read_export
from ingest.exports.base import ExportRefused
from ingest.sources.archives import ArchiveRefused
from ingest.sources.kinds.base import Changes, SyncContext
from kb.sources import SourceError, SourceSpec


def newest_export(location: str) -> Path:
    """The archive a sync reads: `location` itself, or the newest `.zip` in that folder."""
    path = Path(location)
    if path.is_file():
        return path
    if path.is_dir():
        archives = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".zip"]
        if archives:
            return max(archives, key=lambda p: (p.stat().st_mtime, p.name))
        raise SourceError(
            f"No .zip export in {location} yet: drop the Confluence, Notion or Slack export "
            "there (the newest is read)."
        )
    raise SourceError(
        f"{location} is gone (or not mounted): its documents are kept until it is back, or "
        "remove the source."
    )


class ExportKind:
    name = "export"

    def check(self, spec: SourceSpec) -> SourceSpec:
        location = Path(spec.location).expanduser()
        if not location.exists():
            raise SourceError(
                f"{spec.location} does not exist: give an export .zip, or a folder exports "
                "are dropped into."
            )
        resolved = replace(spec, location=str(location.resolve()))
        if location.is_file():
            self._read(newest_export(resolved.location), None)  # an export, or say why not
        return resolved

    def _read(self, archive: Path, context: SyncContext | None) -> Any:
        try:
            return read_export(archive, limits=context.limits if context else None)
        except NotAnExport:
            raise SourceError(
                f"{archive.name} is not a Confluence (HTML), Notion (Markdown & CSV) or Slack "
                "export: export the space again in one of those formats."
            ) from None
        except (ExportRefused, ArchiveRefused) as exc:
            raise SourceError(f"{archive.name} was refused: {exc}") from None

    def sync(
        self, spec: SourceSpec, last_state: Mapping[str, Any], context: SyncContext
    ) -> Changes:
        archive = newest_export(spec.location)
        seen = archive.stat()
        state = {"archive": archive.name, "size": seen.st_size, "mtime": seen.st_mtime_ns}
        if last_state and all(last_state.get(key) == value for key, value in state.items()):
            return Changes(state=dict(last_state))  # the same export: nothing to read
        export = self._read(archive, context)
        return Changes(
            state={**state, "kind": export.kind, "space": export.space},
            files=export_files(export),
            complete=True,
        )
