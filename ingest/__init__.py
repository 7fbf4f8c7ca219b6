"""Ingestion: files, folders and archives in; chunked documents with metadata out, into kb."""

from ingest.errors import UnreadableFile
from ingest.parsers import SUPPORTED
from ingest.pipeline import DEFAULT_CHUNK_TOKENS, IngestReport, build_document, ingest_paths
from ingest.sources import SIDECAR_SUFFIX, Failure, Limits, SourceFile, discover

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "Failure",
    "IngestReport",
    "Limits",
    "SIDECAR_SUFFIX",
    "SUPPORTED",
    "SourceFile",
    "UnreadableFile",
    "build_document",
    "discover",
    "ingest_paths",
]
