"""Office files are read as streams within limits: a small .docx or .pptx whose XML unpacks
to hundreds of megabytes is refused, with the reason, before any library builds it in
memory; a long document is read one block at a time, its styles resolved once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.errors import UnreadableFile
from ingest.formats.registry import parse_bytes
from ingest.reading import ReadLimits
from ingest.sources.files import Limits
from tests.hostile_office import slide_file, word_file, word_file_of

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]
# Parsing in a fresh interpreter, which prints its own peak resident memory in MB (VmHWM: the
# peak of this program's memory; getrusage's ru_maxrss can carry a forking parent's peak).
PEAK = """
import sys
from pathlib import Path
from ingest.formats.registry import parse_bytes
from ingest.reading import ReadLimits
path, part_mb = Path(sys.argv[1]), int(sys.argv[2])
try:
    parsed = parse_bytes(path.read_bytes(), path.suffix, 200, limits=ReadLimits(
        max_part_bytes=part_mb * 1024 * 1024, max_seconds=600))
    print("read", len(parsed.chunks))
except Exception as exc:
    print("refused", exc)
with open("/proc/self/status") as status:
    print(next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) // 1024)
"""


def peak_of(path: Path, part_mb: int) -> tuple[str, int]:
    """(what parsing said, peak memory in MB) of `path`, parsed in its own process."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK, str(path), str(part_mb)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    said, peak = done.stdout.strip().rsplit("\n", 1)
    return said, int(peak)


@pytest.mark.parametrize(
    ("suffix", "make", "part"),
    [
        (".docx", word_file, "word/document.xml"),
        (".pptx", slide_file, "ppt/slides/slide1.xml (slide 1 of 1)"),  # the slide named
    ],
)
def test_a_small_file_whose_part_unpacks_to_200_mb_is_refused_in_little_memory(
    tmp_path: Path, suffix: str, make: object, part: str
) -> None:
    """The tester's files: a .docx of 600 KB whose document.xml unpacks to 200 MB (it took
    3.6 GB to read whole) and a .pptx with a 200 MB slide (2.7 GB). Each part may unpack to
    no more than a file may be (25 MB by default), so both are refused, naming the part, the
    limit and what to do, in the memory of an interpreter that has barely started."""
    path = tmp_path / f"bomb{suffix}"
    make(path, 200 * MB)  # type: ignore[operator]
    assert path.stat().st_size < MB
    said, peak = peak_of(path, 25)
    assert said.startswith("refused refused as a ")
    assert f"its part {part} unpacks to more than 26,214,400 bytes" in said
    assert "split the document into smaller files" in said
    assert peak < 120, f"peak {peak} MB"


def test_a_long_body_within_the_limit_is_read_one_block_at_a_time(tmp_path: Path) -> None:
    """Raise the part limit and the same kind of file is read, streamed: 40 MB of XML (some
    675,000 paragraphs) peaks at a fraction of what a whole tree of it takes (about 15 times
    the XML), the paragraphs themselves being most of what is held."""
    path = tmp_path / "long.docx"
    count = word_file(path, 40 * MB)
    said, peak = peak_of(path, 64)
    assert said.startswith("read ")
    assert peak < 400, f"peak {peak} MB for {count:,} paragraphs"


def test_a_40000_paragraph_document_with_styles_reads_well_within_the_time_limit(
    tmp_path: Path,
) -> None:
    """Each style is resolved once per document (python-docx walked every style for every
    paragraph, three times, about 1.3 ms each): 40,000 paragraphs of headings, list items and
    text read in seconds, not the minutes of the 120 s limit, with their structure kept."""
    item = (
        '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>Part</w:t></w:r></w:p>'
        + '<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Step</w:t></w:r></w:p>'
        + '<w:p><w:pPr><w:pStyle w:val="ListBullet"/></w:pPr><w:r><w:t>item</w:t></w:r></w:p>'
        + "<w:p><w:r><w:t>Plain words of the step.</w:t></w:r></w:p>" * 7
    )
    path = tmp_path / "styled.docx"
    repeats = word_file_of(path, len(item) * 4096 + 100, item)
    assert repeats * 10 >= 40_000
    started = time.monotonic()
    parsed = parse_bytes(path.read_bytes(), ".docx", 200)
    assert time.monotonic() - started < 30
    first = parsed.chunks[0]
    assert first.heading == "Part > Step"
    assert first.body.startswith("- item\n\nPlain words of the step.")


def test_the_part_limit_is_the_file_size_limit_and_counts_while_reading(tmp_path: Path) -> None:
    """The ingest's file-size limit bounds each part (KB_MAX_FILE_MB); the stream is counted
    as it is read too, so a part is never read past the limit whatever its zip entry says."""
    assert Limits(max_file_bytes=5 * MB).reading().max_part_bytes == 5 * MB
    path = tmp_path / "w.docx"
    word_file(path, 2 * MB)
    data = path.read_bytes()
    assert parse_bytes(data, ".docx", 200, limits=ReadLimits(max_part_bytes=3 * MB)).chunks
    with pytest.raises(UnreadableFile, match="its part word/document.xml unpacks to more than"):
        parse_bytes(data, ".docx", 200, limits=ReadLimits(max_part_bytes=MB))

    import zipfile

    from ingest.formats.office import read_part

    with zipfile.ZipFile(path) as package, pytest.raises(UnreadableFile, match="1,000 bytes"):
        read_part(package, "word/document.xml", "Word", ReadLimits(max_part_bytes=1000))
