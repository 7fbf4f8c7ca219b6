"""Kinds of sources: `base` (the `SourceKind` contract, `Changes`), one module per kind, and
`KINDS`, the one table the sync, the CLI and the HTTP service read. A new kind is a module
here and one entry below (docs/sources.md)."""

from ingest.sources.kinds.base import Changes, PathFilter, SourceKind, SyncContext
from ingest.sources.kinds.export import ExportKind
from ingest.sources.kinds.folder import FolderKind
from ingest.sources.kinds.git import GitKind

KINDS: dict[str, SourceKind] = {
    GitKind.name: GitKind(),
    FolderKind.name: FolderKind(),
    ExportKind.name: ExportKind(),
}

__all__ = ["KINDS", "Changes", "PathFilter", "SourceKind", "SyncContext"]
