"""Hostile Office files made for tests and benchmarks: small zips whose one XML part unpacks
to hundreds of megabytes. Each is written streamed into the zip (a block of paragraphs at a
time), so making one costs a few megabytes of memory however large its part."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_BLOCK = 4096  # paragraphs written per call


def _copy_except(base: bytes, skip: str, out: zipfile.ZipFile) -> None:
    with zipfile.ZipFile(io.BytesIO(base)) as source:
        for info in source.infolist():
            if info.filename != skip:
                out.writestr(info, source.read(info))


def _stream_part(
    out: zipfile.ZipFile, name: str, head: str, item: str, tail: str, size: int
) -> int:
    """Write `head`, `item` repeated until the part reaches `size` bytes, `tail`; returns the
    number of items."""
    block = (item * _BLOCK).encode()
    written = count = 0
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    with out.open(info, "w", force_zip64=True) as part:
        part.write(head.encode())
        while written + len(block) <= size:
            part.write(block)
            written += len(block)
            count += _BLOCK
        part.write(tail.encode())
    return count


def word_file(path: Path, part_bytes: int, text: str = "Rows of the same words again.") -> int:
    """A .docx whose word/document.xml is about `part_bytes` of one-line paragraphs; returns
    how many paragraphs it holds."""
    return word_file_of(path, part_bytes, f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>")


def word_file_of(path: Path, part_bytes: int, item: str) -> int:
    """A .docx whose body is `item` (the XML of some paragraphs) repeated to about
    `part_bytes`, over python-docx's default template (its styles: Heading1, ListBullet...);
    returns how many times `item` is there."""
    import docx

    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        _copy_except(buffer.getvalue(), "word/document.xml", out)
        return _stream_part(
            out,
            "word/document.xml",
            f'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>',
            item,
            "</w:body></w:document>",
            part_bytes,
        )


def slide_file(path: Path, part_bytes: int, text: str = "The same point once more.") -> int:
    """A .pptx of one slide whose ppt/slides/slide1.xml is about `part_bytes`: one text box
    holding that many paragraphs; returns how many."""
    return deck_file(path, 1, part_bytes, text)


def deck_file(
    path: Path, slides: int, part_bytes: int, text: str = "The same point once more."
) -> int:
    """A .pptx of `slides` slides, each ppt/slides/slideN.xml about `part_bytes`: one text
    box holding that many paragraphs; returns how many paragraphs a slide holds."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for _ in range(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[6])
        slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text = "placeholder"
    buffer = io.BytesIO()
    deck.save(buffer)
    names = [f"ppt/slides/slide{n}.xml" for n in range(1, slides + 1)]
    count = 0
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
        xmls = {name: source.read(name).decode() for name in names}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source:
            for info in source.infolist():
                if info.filename not in xmls:
                    out.writestr(info, source.read(info))
        for name, xml in xmls.items():
            start = xml.index("<a:p>", xml.index("placeholder") - 200)
            end = xml.index("</a:p>", start) + len("</a:p>")
            count = _stream_part(
                out,
                name,
                xml[:start],
                f"<a:p><a:r><a:t>{text}</a:t></a:r></a:p>",
                xml[end:],
                part_bytes,
            )
    return count
