"""Ingestion: files, folders and archives in; chunked documents with metadata out, into kb.

- `sources/` finds the files (`files`: folders, .zip archives, sidecars, `.kbignore`;
  `archives`: the one archive-safety survey); `formats/` turns each file's text or bytes into
  chunks with their exact place, one module per format and the suffix table in
  `formats/registry.py`; `chunking.py` fits text to the model's window, `metadata.py` reads
  front matter, sidecars and document properties, `reading.py` bounds a file's reading, and
  `pipeline.py` stores what changed. `exports/` reads a Confluence, Notion or Slack export
  as the pages of one space, each with a stable id, so a newer export replaces the older.
- `jobs/` (background ingest jobs: the `JobQueue` contract and one module per backend) and
  `uploads.py` (checking and spooling uploads) are the application services that the HTTP
  interface drives.

A new format: a module in `formats/` whose `parse_*` returns `Parsed` (see
`formats/parsed.py`) and one row in `formats/registry.py`; discovery, incremental re-ingest,
sidecars, `.kbignore`, archives and uploads then cover it. A new source: a module in
`sources/`.
"""

from ingest.errors import UnreadableFile
from ingest.formats.registry import SUPPORTED
from ingest.pipeline import DEFAULT_CHUNK_TOKENS, IngestReport, build_document, ingest_paths
from ingest.sources.files import SIDECAR_SUFFIX, Failure, Limits, SourceFile, discover

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
