"""PowerPoint (.pptx), read with python-pptx: a chunk per slide, with its speaker notes.

A slide's chunk holds its title (the chunk's heading), the text of its other shapes in
reading order (top to bottom, then left to right; grouped shapes included), its tables (a
line per row, cells between ` | `) and then its speaker notes after a `Speaker notes:` line,
which the document view shows apart. A slide too long for the window is split, its own text
and its notes separately. Slides are numbered as PowerPoint numbers them, hidden ones
included; a slide with no text at all is skipped. Pictures, charts, SmartArt graphics and
media are not read (their text is not in the slide's shapes).

Location: `slide 7 · Title`, anchor `slide-7`, detail {"slide", "title", "notes"}.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from ingest.chunking import TokenCounter, estimate_tokens, piece_cost, split_to_budget
from ingest.errors import UnreadableFile
from ingest.formats.office import check_package, properties_of
from ingest.formats.parsed import Parsed
from ingest.reading import DEFAULT_LIMITS, ReadLimits
from kb.types import ChunkInput, Location

NOTES_MARKER = "Speaker notes:"


def _shapes(shapes: Any) -> Iterator[Any]:
    """Every shape on a slide, groups opened, in reading order."""

    def position(shape: Any) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    for shape in sorted(shapes, key=position):
        if shape.shape_type is not None and hasattr(shape, "shapes"):  # a group
            yield from _shapes(shape.shapes)
        else:
            yield shape


def _text_frame(frame: Any) -> list[str]:
    lines = []
    for paragraph in frame.paragraphs:
        text = " ".join(paragraph.text.split())
        if text:
            lines.append("  " * paragraph.level + text)
    return lines


def _table(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells = [" ".join(cell.text.split()) for cell in row.cells]
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _slide_text(slide: Any) -> tuple[str, str, str]:
    """(title, text of the other shapes, speaker notes)."""
    title_shape = slide.shapes.title
    title = " ".join(title_shape.text.split()) if title_shape is not None else ""
    lines: list[str] = []
    for shape in _shapes(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        if getattr(shape, "has_table", False):
            lines += _table(shape.table)
        elif getattr(shape, "has_text_frame", False):
            lines += _text_frame(shape.text_frame)
    notes = ""
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        if frame is not None:
            notes = "\n".join(_text_frame(frame))
    return title, "\n".join(lines), notes


def parse_pptx(
    data: bytes,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Parsed:
    """A .pptx file's bytes to a chunk per slide (more for a slide too long for `budget`
    tokens by `count_tokens`), within `limits` (its package, its slides, and the time,
    checked before each slide).

    Returns `Parsed` of type "slides": no `meta`; `title` the first slide title there is;
    `properties` the package's core properties (title, author, created date, keywords);
    `rechunk` cuts the slides already read to another budget. A chunk's heading is its slide's
    title, its `Location` as the module's docstring says (every piece of a split slide shares
    it). Chunks fit the budget (a split piece is given at least 16 tokens) and are the same
    for the same bytes, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    what `office.check_package` refuses (an OLE container such as a password-protected or old
    .ppt file, a damaged zip, one over the package limits, a zip that is no Office package), a
    file python-pptx cannot open, more slides than `limits` allows or reading past its time, and
    no text on any slide.
    """
    check_package(data, "PowerPoint", ".pptx", limits)
    from pptx import Presentation  # imported on first use: `kb` starts faster without it

    try:
        deck = Presentation(io.BytesIO(data))
        count = len(deck.slides)
    except Exception as exc:  # python-pptx raises KeyError, lxml errors... on a damaged file
        raise UnreadableFile(
            f"damaged PowerPoint file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from None
    limits.check_pages(count, "slides")
    deadline = limits.deadline()
    slides: list[tuple[int, str, str, str]] = []
    for number, slide in enumerate(deck.slides, start=1):
        deadline.check(f"slide {number} of {count}")
        title, text, notes = _slide_text(slide)
        if title or text or notes:
            slides.append((number, title, text, notes))
    if not slides:
        raise UnreadableFile(f"no text on any of its {count} slides (pictures are not read)")
    properties = properties_of(deck.core_properties)
    first_title = next((title for _, title, _, _ in slides if title), None)

    def chunks_for(size: int) -> list[ChunkInput]:
        cost = piece_cost(count_tokens)
        fixed = count_tokens("")
        out: list[ChunkInput] = []
        for number, title, text, notes in slides:
            label = f"slide {number}" + (f" · {title}" if title else "")
            detail = {"slide": number, "title": title, "notes": bool(notes)}
            location = Location(label, f"slide-{number}", detail)
            noted = f"{NOTES_MARKER}\n{notes}" if notes else ""
            whole = "\n\n".join(part for part in (text, noted) if part) or title
            room = size - fixed - cost(title)
            if cost(whole) <= room:
                out.append(ChunkInput(title, whole, location))
                continue
            for part, prefix in ((text, ""), (notes, NOTES_MARKER + "\n")):
                if part:
                    room_left = room - cost(prefix)
                    for piece in split_to_budget(part, room_left, cost):
                        out.append(ChunkInput(title, prefix + piece, location))
        return out

    return Parsed(
        "slides",
        chunks_for(budget),
        title=first_title,
        properties=properties,
        rechunk=chunks_for,
    )
