"""Sources that stay in sync: the registry of named sources kept in the store (`base`: the
contract and its value types; `sqlite`, `postgres`: one module per backend, opened by
`api.backends`). The kinds that read them (Git, folders, exports) are ingest's
(`ingest.sources.kinds`); see docs/sources.md."""

from kb.sources.base import (
    CLAIM_SECONDS,
    DefaultRule,
    FileRecord,
    Source,
    SourceError,
    SourceRegistry,
    SourceSpec,
    SourceStatus,
    check_name,
    source_root,
)

__all__ = [
    "CLAIM_SECONDS",
    "DefaultRule",
    "FileRecord",
    "Source",
    "SourceError",
    "SourceRegistry",
    "SourceSpec",
    "SourceStatus",
    "check_name",
    "source_root",
]
