"""Bounds on reading one file, so that one file never stalls a batch.

A binary format's parser gets a `ReadLimits`: how many pages (PDF) or slides (PowerPoint) it
reads at most, how long it may take (checked between pages, slides and blocks: one call into
a library is not interrupted), and what an Office file, a zip package, may unpack to (the
archive limits of `ingest.sources.archives`, as for .zip uploads), each of its XML parts no
more than a file may be (`max_part_bytes`: a 600 KB .docx whose document.xml unpacks to
200 MB is refused before any library parses it, and the bytes are counted again as they are
read). A file over a limit is skipped
whole with the limit named, like a file over the size limit: nothing half-read is stored.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ingest.errors import UnreadableFile

MAX_PAGES = 1000
# pypdf reads a page of a typical (TeX-made) handout in 0.05-0.15 s on this project's 2-core
# machines: 120 s is about 800 such pages. A file that has not been read by then is skipped.
MAX_READ_SECONDS = 120.0


@dataclass(frozen=True)
class ReadLimits:
    max_pages: int = MAX_PAGES  # PDF pages, PowerPoint slides
    max_seconds: float = MAX_READ_SECONDS
    max_package_entries: int = 10_000  # the parts of a .pptx/.docx (a zip)
    max_package_bytes: int = 1024 * 1024 * 1024  # what those parts unpack to
    # what one part may unpack to: the size limit of a file (ingest.sources.files.Limits)
    max_part_bytes: int = 25 * 1024 * 1024

    def deadline(self) -> Deadline:
        return Deadline(self.max_seconds)

    def check_pages(self, count: int, unit: str) -> None:
        if count > self.max_pages:
            raise UnreadableFile(
                f"it has {count:,} {unit}, over the limit of {self.max_pages:,} {unit} a file: "
                "split it into parts and ingest those"
            )


class Deadline:
    """The time left to read one file; `check` says where reading stopped when it is over."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def check(self, where: str) -> None:
        if time.monotonic() > self._end:
            raise UnreadableFile(
                f"reading it took over {self.seconds:g} s, the limit a file (stopped at "
                f"{where}): split it into parts and ingest those"
            )


DEFAULT_LIMITS = ReadLimits()
