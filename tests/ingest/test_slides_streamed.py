"""PowerPoint decks read one slide at a time, each slide's XML streamed: the same text as
python-pptx reads (it is the oracle here, on real and generated decks), in memory bounded by
the part limit whatever the deck's size, and a slide over the limit refused by its number."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ingest.errors import UnreadableFile
from ingest.formats.slides import NOTES_MARKER, parse_pptx
from ingest.reading import ReadLimits
from tests.hostile_office import deck_file, slide_file

ROOT = Path(__file__).resolve().parents[2]
REAL = [
    ROOT / "data" / "sample" / "formats" / "prompt-injection-guardrails.pptx",
    ROOT / "data" / "sample" / "sessions" / "2026-04-14-labelling-guidelines.pptx",
]
MB = 1024 * 1024


def oracle(data: bytes) -> list[tuple[str, str]]:
    """(heading, body) of each slide's chunk as python-pptx reads the deck (what the reader
    did before it streamed): shapes sorted by python-pptx's top and left (placeholders
    inheriting their layout's), groups opened, tables, notes."""
    from pptx import Presentation

    def shapes(found: Any) -> Any:
        for shape in sorted(found, key=lambda s: (s.top or 0, s.left or 0)):
            if shape.shape_type is not None and hasattr(shape, "shapes"):
                yield from shapes(shape.shapes)
            else:
                yield shape

    def frame(text_frame: Any) -> list[str]:
        lines = []
        for paragraph in text_frame.paragraphs:
            text = " ".join(paragraph.text.split())
            if text:
                lines.append("  " * paragraph.level + text)
        return lines

    out = []
    for slide in Presentation(io.BytesIO(data)).slides:
        title_shape = slide.shapes.title
        title = " ".join(title_shape.text.split()) if title_shape is not None else ""
        lines: list[str] = []
        for shape in shapes(slide.shapes):
            if title_shape is not None and shape.shape_id == title_shape.shape_id:
                continue
            if getattr(shape, "has_table", False):
                for row in shape.table.rows:
                    cells = [" ".join(cell.text.split()) for cell in row.cells]
                    if any(cells):
                        lines.append(" | ".join(cells))
            elif getattr(shape, "has_text_frame", False):
                lines += frame(shape.text_frame)
        notes = ""
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            notes = "\n".join(frame(slide.notes_slide.notes_text_frame))
        text = "\n".join(lines)
        if title or text or notes:
            noted = f"{NOTES_MARKER}\n{notes}" if notes else ""
            out.append((title, "\n\n".join(p for p in (text, noted) if p) or title))
    return out


def tricky_deck() -> bytes:
    """Layouts whose placeholders take their position from the layout or master, a subtitle,
    a group holding a group, a table with a merged cell, levels and line breaks, notes, a
    hidden slide, a slide with no text, shapes added out of reading order."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[0])  # title slide
    first.shapes.title.text = "Evaluation  clinic"
    first.placeholders[1].text = "Spring\vcohort"
    content = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    body = content.placeholders[1].text_frame
    body.text = "Recall at k"
    for level, text in ((1, "on labelled queries"), (2, "held out by hash"), (0, "nDCG")):
        paragraph = body.add_paragraph()
        paragraph.text, paragraph.level = text, level
    content.shapes.title.text = "Metrics"
    low = content.shapes.add_textbox(Inches(1), Inches(6), Inches(3), Inches(1))
    low.text = "A footnote written first, placed last"
    high = content.shapes.add_textbox(Inches(5), Inches(0.2), Inches(3), Inches(1))
    high.text = "A banner above the title"
    content.notes_slide.notes_text_frame.text = "Say why recall first.\nThen nDCG."
    grouped = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    grouped.shapes.title.text = "Grouped"
    outer = grouped.shapes.add_group_shape()
    outer.shapes.add_textbox(Inches(4), Inches(4), Inches(2), Inches(1)).text = "outer low"
    inner = outer.shapes.add_group_shape()
    inner.shapes.add_textbox(Inches(1), Inches(2), Inches(2), Inches(1)).text = "inner high"
    table = grouped.shapes.add_table(2, 3, Inches(1), Inches(5), Inches(6), Inches(1)).table
    table.cell(0, 0).merge(table.cell(0, 1))
    table.cell(0, 0).text = "merged head"
    table.cell(0, 2).text = "third"
    table.cell(1, 1).text = "middle\nof two lines"
    hidden = deck.slides.add_slide(deck.slide_layouts[3])  # two content
    hidden.shapes.title.text = "Hidden but numbered"
    hidden.placeholders[1].text = "left column"
    hidden.placeholders[2].text = "right column"
    hidden._element.set("show", "0")
    deck.slides.add_slide(deck.slide_layouts[6])  # blank, no text: skipped
    comparison = deck.slides.add_slide(deck.slide_layouts[4])
    for shape in comparison.placeholders:
        shape.text = f"placeholder {shape.placeholder_format.idx}"
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def chunks(data: bytes, **limits: Any) -> list[tuple[str, str]]:
    parsed = parse_pptx(data, 100_000, limits=ReadLimits(**limits))
    return [(chunk.heading, chunk.body) for chunk in parsed.chunks]


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_decks_read_as_python_pptx_reads_them(path: Path) -> None:
    data = path.read_bytes()
    assert chunks(data) == oracle(data)


def test_a_generated_deck_of_every_shape_kind_reads_as_python_pptx_reads_it() -> None:
    data = tricky_deck()
    expected = oracle(data)
    assert chunks(data) == expected
    bodies = dict(expected)
    assert bodies["Metrics"].startswith("A banner above the title\nRecall at k\n  on labelled")
    assert "Hidden but numbered" in bodies
    parsed = parse_pptx(data, 100_000)
    assert [c.location.detail["slide"] for c in parsed.chunks] == [1, 2, 3, 4, 6]


def test_a_slide_over_the_part_limit_is_refused_by_its_number_and_nothing_is_kept(
    tmp_path: Path,
) -> None:
    """The zip's directory says the slide is too big: refused before anything is read,
    naming the slide as PowerPoint numbers it; the file is skipped whole (the batch goes on)."""
    path = tmp_path / "deck.pptx"
    slide_file(path, 3 * MB)
    with pytest.raises(UnreadableFile) as refused:
        chunks(path.read_bytes(), max_part_bytes=MB)
    message = str(refused.value)
    assert "its part ppt/slides/slide1.xml (slide 1 of 1) unpacks to more than 1,048,576" in message
    assert "split the document into smaller files" in message


def test_a_slide_is_counted_while_it_is_streamed(tmp_path: Path) -> None:
    """Past the directory's check, each slide's bytes are counted again as they are read
    (whatever its zip entry says): the stream stops at the limit, the slide named."""
    from ingest.formats.slides import _read_part

    path = tmp_path / "deck.pptx"
    slide_file(path, 3 * MB)
    with zipfile.ZipFile(path) as package:
        assert package.getinfo("ppt/slides/slide1.xml").file_size > 2 * MB
        with pytest.raises(UnreadableFile) as refused:
            _read_part(package, "ppt/slides/slide1.xml", "slide 1", ReadLimits(max_part_bytes=MB))
    assert "its part slide 1 unpacks to more than 1,048,576 bytes" in str(refused.value)


def test_a_deck_of_many_large_slides_is_read_in_the_memory_of_one(tmp_path: Path) -> None:
    """Twelve slides of 2 MB each (24 MB of XML, each slide within the part limit):
    python-pptx built all of them at once (some 15 times the XML, about 400 MB); read one
    slide at a time the peak stays near what an interpreter with the readers loaded takes
    (about 60 MB) plus the chunks. Measured in a fresh interpreter (bench/office_memory.py
    has the figures for larger decks)."""
    from tests.ingest.test_office_limits import peak_of

    path = tmp_path / "twelve.pptx"
    deck_file(path, 12, 2 * MB)
    said, peak = peak_of(path, 25)
    assert said.startswith("read "), said
    assert peak < 150, f"peak {peak} MB"
