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
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ingest.chunking import HeadingPath, TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.markdown import slugify
from ingest.formats.office import (
    CORE,
    OFFICE_DOCUMENT,
    check_package,
    content_type,
    core_properties,
    of_type,
    open_part,
    read_part,
    relationships,
    xml_parser,
)
from ingest.formats.parsed import Parsed
from ingest.formats.sections import Section, section_chunks
from ingest.reading import DEFAULT_LIMITS, Deadline, ReadLimits
from kb.types import ChunkInput

_HEADING_STYLE = re.compile(r"^heading (\d)$", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_STYLES = "/styles"  # how the relationship's type ends
# The main parts python-docx opens: a document, and the same with macros or as a template.
_WORD_MAIN = re.compile(
    r"^application/vnd\.(openxmlformats-officedocument\.wordprocessingml\.(document|template)"
    r"|ms-word\.(document|template)\.macroEnabled)(\.main)?\+xml$",
    re.IGNORECASE,
)
_BLOCKS_PER_CHECK = 200  # how often the time limit is looked at


@dataclass(frozen=True)
class _Style:
    """What a paragraph style means here: its heading level (by its name, or a style it is
    based on: `Heading N`), whether it is the `Title` style, whether its name starts "List"."""

    heading: int | None
    title: bool
    listed: bool


_PLAIN = _Style(None, False, False)


def _styles(
    package: zipfile.ZipFile, part: str | None, limits: ReadLimits
) -> dict[str | None, _Style]:
    """Every paragraph style of the document, resolved once: style id -> `_Style`, and None
    -> the default paragraph style (what an unstyled paragraph has). python-docx looks a
    paragraph's style up by walking every style (about 1.3 ms each, three times a paragraph:
    40,000 paragraphs took minutes); this is one pass over styles.xml."""
    from lxml import etree

    if part is None:
        return {}
    try:
        root = etree.fromstring(read_part(package, part, "Word", limits), xml_parser())
    except KeyError:
        return {}
    names: dict[str, str] = {}
    bases: dict[str, str] = {}
    kinds: dict[str, str] = {}
    default: str | None = None
    for style in root.iter(f"{_W}style"):
        ident = style.get(f"{_W}styleId")
        if ident is None or ident in names:
            continue
        name = style.find(f"{_W}name")
        names[ident] = (name.get(f"{_W}val") if name is not None else None) or ""
        based = style.find(f"{_W}basedOn")
        if based is not None and based.get(f"{_W}val"):
            bases[ident] = based.get(f"{_W}val", "")
        kinds[ident] = style.get(f"{_W}type", "paragraph")
        if kinds[ident] == "paragraph" and style.get(f"{_W}default") in ("1", "true", "on"):
            default = ident  # the last such style, as python-docx and Word take it

    def heading(ident: str) -> int | None:
        seen: set[str] = set()
        at: str | None = ident
        while at is not None and at in names and at not in seen:
            seen.add(at)
            match = _HEADING_STYLE.match(names[at])
            if match:
                return int(match.group(1))
            at = bases.get(at)
        return None

    out: dict[str | None, _Style] = {
        ident: _Style(heading(ident), name.lower() == "title", name.lower().startswith("list"))
        for ident, name in names.items()
        if kinds[ident] == "paragraph"
    }
    out[None] = out.get(default, _PLAIN) if default is not None else _PLAIN
    return out


def _run_text(run: Any) -> str:
    """A run's text as python-docx gives it: breaks and tabs as whitespace, a page break as
    nothing, a non-breaking hyphen as '-'."""
    out = []
    for child in run:
        tag = child.tag
        if tag == f"{_W}t":
            out.append(child.text or "")
        elif tag in (f"{_W}tab", f"{_W}ptab"):
            out.append("\t")
        elif tag == f"{_W}cr":
            out.append("\n")
        elif tag == f"{_W}br":
            out.append("\n" if child.get(f"{_W}type", "textWrapping") == "textWrapping" else "")
        elif tag == f"{_W}noBreakHyphen":
            out.append("-")
    return "".join(out)


def _paragraph_text(paragraph: Any) -> str:
    """The text of a paragraph's runs and hyperlinks (not of deleted or moved text)."""
    out = []
    for child in paragraph:
        if child.tag == f"{_W}r":
            out.append(_run_text(child))
        elif child.tag == f"{_W}hyperlink":
            out += [_run_text(run) for run in child.iterchildren(f"{_W}r")]
    return "".join(out)


def _paragraph_style(paragraph: Any, styles: dict[str | None, _Style]) -> _Style:
    found = paragraph.find(f"{_W}pPr/{_W}pStyle")
    ident = found.get(f"{_W}val") if found is not None else None
    return styles.get(ident, styles.get(None, _PLAIN))


def _heading_level(paragraph: Any, style: _Style) -> int | None:
    """1-9 for a heading (by its style, a style it is based on, or an outline level)."""
    if style.heading is not None:
        return style.heading
    level = paragraph.find(f"{_W}pPr/{_W}outlineLvl")  # direct formatting
    if level is not None:
        value = level.get(f"{_W}val", "")
        if value.isdigit() and int(value) < 9:
            return int(value) + 1
    return None


def _is_list_item(paragraph: Any, style: _Style) -> bool:
    return paragraph.find(f"{_W}pPr/{_W}numPr") is not None or style.listed


def _table_lines(element: Any) -> list[str]:
    """A table (one body element, bounded by the part limit) as a line per row, its cells as
    python-docx reads them (a merged cell once per row)."""
    from docx.oxml.parser import parse_xml
    from docx.table import Table
    from lxml import etree

    table = Table(parse_xml(etree.tostring(element)), None)  # type: ignore[arg-type]
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


def _blocks(stream: Any) -> Iterator[Any]:
    """The body's paragraphs and tables in order, each whole and then freed: lxml's iterparse
    over the part's stream, so memory holds one block at a time however long the body."""
    from lxml import etree

    body = f"{_W}body"
    events = etree.iterparse(
        stream,
        events=("end",),
        tag=(f"{_W}p", f"{_W}tbl"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
    )
    for _, element in events:
        parent = element.getparent()
        if parent is None or parent.tag != body:
            continue  # inside a table: read with it
        yield element
        element.clear()
        while element.getprevious() is not None:
            del parent[0]


_Block = tuple[str, _Style, int | None, bool] | list[str]  # a paragraph, or a table's lines


def _read_body(stream: Any, styles: dict[str | None, _Style], deadline: Deadline) -> list[_Block]:
    """The body's blocks in order, as little as each needs: a paragraph's text (whitespace
    collapsed), style, heading level and whether it is a list item; a table's lines. The
    time limit is looked at every 200 blocks."""
    out: list[_Block] = []
    for number, element in enumerate(_blocks(stream), start=1):
        if number % _BLOCKS_PER_CHECK == 0:
            deadline.check(f"paragraph or table {number}")
        if element.tag == f"{_W}tbl":
            out.append(_table_lines(element))
            continue
        style = _paragraph_style(element, styles)
        text = " ".join(_paragraph_text(element).split())
        out.append((text, style, _heading_level(element, style), _is_list_item(element, style)))
    return out


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
    from lxml import etree

    deadline = limits.deadline()
    package = zipfile.ZipFile(io.BytesIO(data))  # check_package has opened it already
    try:
        main = of_type(relationships(package, "", "Word", limits), OFFICE_DOCUMENT)
        if main is None or main not in package.namelist():
            raise UnreadableFile(
                "damaged Word file: its package names no main document part (word/document.xml)"
            )
        kind = content_type(package, main, "Word", limits)
        if not _WORD_MAIN.match(kind):
            raise UnreadableFile(
                f"it is not a Word document: its main part is {kind or 'of no known type'}; "
                "save it as .docx from Word, or give it the suffix of what it is"
            )
        styles = _styles(
            package, of_type(relationships(package, main, "Word", limits), _STYLES), limits
        )
        core = of_type(relationships(package, "", "Word", limits), CORE)
        properties = core_properties(package, core, "Word", limits)
        stream = open_part(package, main, "Word", limits)
        try:
            blocks = _read_body(stream, styles, deadline)
        finally:
            stream.close()
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        raise UnreadableFile(
            f"damaged Word file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from None
    finally:
        package.close()
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
        if isinstance(block, list):  # a table's lines
            if block:
                paragraphs.append("\n".join(block))
            continue
        text, style, level, listed = block
        if not text:
            continue
        if style.title:
            title = title or text
            continue
        if level is None:
            paragraphs.append(f"- {text}" if listed else text)
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
