"""Word (.docx), read with python-docx: heading sections, as Markdown's, and tables as text.

The body's paragraphs and tables are read in document order. A paragraph styled `Heading N`
(or a style based on one, or given an outline level) opens a section, so a chunk's location
is its heading path (`Summary > Results`) with the heading's slug as anchor; the `Title`
paragraph names the document when its properties do not. List items keep a `- `, a table
becomes a line per row with its cells between ` | ` (merged cells once). Headers, footers,
footnotes, comments, text boxes and pictures are not read.

Location detail: {"block", "end_block"}, the 1-based paragraphs and tables the chunk spans.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ingest.chunking import HeadingPath, TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.markdown import slugify
from ingest.formats.office import check_package, properties_of
from ingest.formats.parsed import Parsed
from ingest.formats.sections import Section, section_chunks
from ingest.reading import DEFAULT_LIMITS, ReadLimits
from kb.types import ChunkInput

_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_BLOCKS_PER_CHECK = 200  # how often the time limit is looked at


def _heading_level(paragraph: Any) -> int | None:
    """1-9 for a heading (by its style, a style it is based on, or an outline level)."""
    style = paragraph.style
    while style is not None:
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            return int(match.group(1))
        style = style.base_style
    level = paragraph._p.find(f"{_W}pPr/{_W}outlineLvl")  # direct formatting
    if level is not None:
        value = level.get(f"{_W}val", "")
        if value.isdigit() and int(value) < 9:
            return int(value) + 1
    return None


def _is_list_item(paragraph: Any) -> bool:
    if paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None:
        return True
    name = (paragraph.style.name or "") if paragraph.style is not None else ""
    return name.lower().startswith("list")


def _table_lines(table: Any) -> list[str]:
    lines = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:  # a merged cell comes once per grid column it spans
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def parse_docx(
    data: bytes,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Parsed:
    """A .docx file's bytes to chunks of heading sections of at most `budget` tokens by
    `count_tokens`, within `limits` (its package, and the time, checked every 200 paragraphs
    and tables; Word files have no page limit).

    Returns `Parsed` of type "word": no `meta`; `title` the `Title` paragraph, else the top
    heading of the first section that lies under one; `properties` the package's core properties
    (title, author, created date, keywords); `rechunk` cuts the sections already read to another
    budget. A chunk's heading is its heading path (`Setup > Install · Verify` when packed), its
    `Location` labelled by the path, anchored at the heading's slug, with the detail the
    module's docstring names. Chunks fit the budget (a split piece is given at least 16 tokens)
    and are the same for the same bytes, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    what `office.check_package` refuses (an OLE container such as a password-protected or old
    .doc file, a damaged zip, one over the package limits, a zip that is no Office package), a
    file python-docx cannot open, reading past the time limit, and no text in the body.
    """
    check_package(data, "Word", ".docx", limits)
    import docx  # imported on first use: `kb` starts faster without it
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors...
        raise UnreadableFile(
            f"damaged Word file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from None
    deadline = limits.deadline()
    title: str | None = None
    path: list[tuple[int, str]] = []
    sections: list[Section] = []
    paragraphs: list[str] = []
    start = 1

    def close(end: int, opens: HeadingPath) -> None:
        if paragraphs:
            anchor = slugify(opens[-1][1]) if opens else ""
            sections.append(Section(opens, tuple(paragraphs), anchor, start, end))
        paragraphs.clear()

    for number, block in enumerate(blocks, start=1):
        if number % _BLOCKS_PER_CHECK == 0:
            deadline.check(f"paragraph or table {number} of {len(blocks)}")
        if isinstance(block, Table):
            lines = _table_lines(block)
            if lines:
                paragraphs.append("\n".join(lines))
            continue
        text = " ".join(block.text.split())
        if not text:
            continue
        style = (block.style.name or "") if block.style is not None else ""
        if style.lower() == "title":
            title = title or text
            continue
        level = _heading_level(block)
        if level is None:
            paragraphs.append(f"- {text}" if _is_list_item(block) else text)
            continue
        close(number - 1, tuple(path))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, text))
        start = number  # a heading with nothing below it opens no section of its own
    close(len(blocks), tuple(path))
    if not sections:
        raise UnreadableFile(
            "no text in the document's body (headers, text boxes and pictures are not read)"
        )
    properties = properties_of(document.core_properties)
    first_heading = next((s.path[0][1] for s in sections if s.path), None)

    def chunks_for(size: int) -> list[ChunkInput]:
        return section_chunks(sections, size, count_tokens, unit="block")

    return Parsed(
        "word",
        chunks_for(budget),
        title=title or first_heading,
        properties=properties,
        rechunk=chunks_for,
    )
