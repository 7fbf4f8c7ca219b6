"""Ingestion: files, folders and archives in; chunked documents with metadata out, into kb.

- `sources.py` walks folders and archives (`archives.py`: the one archive-safety survey);
  `parsers.py` maps a file suffix to its parser; one module per format (`markdown.py`,
  `notebook.py`, `transcript.py`, `plaintext.py`, `chat.py`, `slides.py`, `pdf.py`,
  `word.py`, `webpage.py`) turns text or bytes into chunks with their exact place (`sections.py`
  packs heading sections, `office.py` checks Office zips, `reading.py` bounds a file's
  reading); `metadata.py` reads front matter, sidecars and document properties; `pipeline.py`
  stores what changed.
- `jobs.py` (background ingest jobs) and `uploads.py` (checking and spooling uploads) are
  the application services that the HTTP interface drives.

A new format: a parser module returning `Parsed` (see `parsed.py`) and one line in
`parsers.py`; discovery, incremental re-ingest, sidecars, `.kbignore`, archives and uploads
then cover it.
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
