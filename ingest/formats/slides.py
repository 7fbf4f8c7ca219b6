"""PowerPoint (.pptx): a chunk per slide, with its speaker notes, read one slide at a time.

A slide's chunk holds its title (the chunk's heading), the text of its other shapes in
reading order (top to bottom, then left to right; grouped shapes included), its tables (a
line per row, cells between ` | `) and then its speaker notes after a `Speaker notes:` line,
which the document view shows apart. A slide too long for the window is split, its own text
and its notes separately. Slides are numbered as PowerPoint numbers them, hidden ones
included; a slide with no text at all is skipped. Pictures, charts, SmartArt graphics and
media are not read (their text is not in the slide's shapes).

The package is read here, not by python-pptx, which builds every part of a deck in memory
at once (some 15 times its XML: a 200 MB slide took 2.7 GB). Each slide's XML is streamed
through lxml's iterparse from a stream bounded by the part limit (`office.open_part`): a
paragraph's text is taken as it ends and the paragraph freed, so a slide costs its text plus
the outline of its shapes, whatever its size. What python-pptx does is kept, and a test
checks it against python-pptx on real and generated decks: shapes in the order of their
offsets, a placeholder without its own position at its layout's (or master's), the title
the first placeholder of index 0, notes the notes page's body placeholder, a line break as a
space, a table's every cell.

Location: `slide 7 · Title`, anchor `slide-7`, detail {"slide", "title", "notes"}.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ingest.chunking import TokenCounter, estimate_tokens, piece_cost, split_to_budget
from ingest.errors import UnreadableFile
from ingest.formats.office import (
    CORE,
    OFFICE_DOCUMENT,
    check_package,
    content_type,
    core_properties,
    of_type,
    open_part,
    read_part,
    relationship_targets,
    relationships,
    xml_parser,
)
from ingest.formats.parsed import Parsed
from ingest.reading import DEFAULT_LIMITS, ReadLimits
from kb.types import ChunkInput, Location

NOTES_MARKER = "Speaker notes:"
KIND = "PowerPoint"
_A = "{http://schemas.openxmlformats.org/drawingml/2006/main}"
_P = "{http://schemas.openxmlformats.org/presentationml/2006/main}"
_R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# The main parts python-pptx opens: a presentation, a slide show, a template, with macros.
_PPT_MAIN = re.compile(
    r"^application/vnd\.(openxmlformats-officedocument\.presentationml\."
    r"(presentation|slideshow|template)|ms-powerpoint\.(presentation|slideshow|template)"
    r"\.macroEnabled)\.main\+xml$",
    re.IGNORECASE,
)
_SLIDE = "/slide"  # how relationship types end: a slide, its layout, its master, its notes
_LAYOUT = "/slideLayout"
_MASTER = "/slideMaster"
_NOTES = "/notesSlide"
_SHAPES = {
    f"{_P}sp",
    f"{_P}grpSp",
    f"{_P}graphicFrame",
    f"{_P}cxnSp",
    f"{_P}pic",
    f"{_P}contentPart",
}
# A layout placeholder without a position of its own takes its master's of this type.
_MASTER_TYPE = {
    "body": "body",
    "chart": "body",
    "clipArt": "body",
    "ctrTitle": "title",
    "dgm": "body",
    "dt": "dt",
    "ftr": "ftr",
    "media": "body",
    "obj": "body",
    "pic": "body",
    "sldNum": "sldNum",
    "subTitle": "body",
    "tbl": "body",
    "title": "title",
}


@dataclass
class _Part:
    """A slide-like part as read: its shape tree with every paragraph taken out (`texts`:
    the lines of each text body, by the body element), and its relationships."""

    root: Any
    texts: dict[Any, list[tuple[int, str]]] = field(default_factory=dict)

    def lines(self, body: Any) -> list[tuple[int, str]]:
        """(level, text) of each paragraph of a text body (`a:txBody`/`p:txBody`)."""
        return self.texts.get(body, [])


def _paragraph(element: Any) -> tuple[int, str]:
    """(level, text) of an `a:p`, as python-pptx reads it: runs, fields and line breaks
    (a vertical tab) in order."""
    out = []
    for child in element:
        if child.tag in (f"{_A}r", f"{_A}fld"):
            t = child.find(f"{_A}t")
            out.append((t.text or "") if t is not None else "")
        elif child.tag == f"{_A}br":
            out.append("\v")
    props = element.find(f"{_A}pPr")
    level = props.get("lvl", "0") if props is not None else "0"
    return (int(level) if level.isdigit() else 0), "".join(out)


def _read_part(package: zipfile.ZipFile, part: str, shown: str, limits: ReadLimits) -> _Part:
    """A part streamed within the part limit (`shown`: how a refusal names it), each
    paragraph taken as it ends and freed."""
    from lxml import etree

    stream = open_part(package, part, KIND, limits, shown=shown)
    texts: dict[Any, list[tuple[int, str]]] = {}
    try:
        events = etree.iterparse(
            stream,
            events=("end",),
            tag=f"{_A}p",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
        )
        for _, element in events:
            body = element.getparent()
            if body is not None:
                texts.setdefault(body, []).append(_paragraph(element))
                element.clear()
                body.remove(element)
        root = events.root
    finally:
        stream.close()
    return _Part(root, texts)


def _nv(shape: Any) -> Any:
    """A shape's non-visual properties (`p:nvSpPr`, `p:nvGrpSpPr`, ...), or None."""
    for child in shape:
        if child.tag.startswith(f"{_P}nv"):
            return child
    return None


def _placeholder(shape: Any) -> Any:
    nv = _nv(shape)
    return nv.find(f"{_P}nvPr/{_P}ph") if nv is not None else None


def _shape_id(shape: Any) -> str | None:
    nv = _nv(shape)
    found = nv.find(f"{_P}cNvPr") if nv is not None else None
    return found.get("id") if found is not None else None


def _offset(shape: Any) -> tuple[int, int] | None:
    """(top, left) of a shape's own `a:off`, None when it has none."""
    if shape.tag == f"{_P}graphicFrame":
        off = shape.find(f"{_P}xfrm/{_A}off")
    elif shape.tag == f"{_P}grpSp":
        off = shape.find(f"{_P}grpSpPr/{_A}xfrm/{_A}off")
    else:
        off = shape.find(f"{_P}spPr/{_A}xfrm/{_A}off")
    if off is None:
        return None
    try:
        return int(off.get("y", "0")), int(off.get("x", "0"))
    except ValueError:
        return None


def _tree(part: _Part) -> Any:
    found = part.root.find(f"{_P}cSld/{_P}spTree")
    return found if found is not None else []


def _shapes_of(container: Any) -> list[Any]:
    return [child for child in container if child.tag in _SHAPES]


def _placeholders(part: _Part) -> Iterator[tuple[Any, str, str]]:
    """(shape, type, idx) of each placeholder at the top of a part's shape tree."""
    for shape in _shapes_of(_tree(part)):
        ph = _placeholder(shape)
        if ph is not None:
            yield shape, ph.get("type", "obj"), ph.get("idx", "0")


@dataclass
class _Layout:
    """Where a layout's placeholders are, by idx, their own position or their master's."""

    by_idx: dict[str, tuple[int, int] | None]


_Masters = dict[str, dict[str, tuple[int, int] | None]]  # master part -> type -> position


def _layout(package: zipfile.ZipFile, part: str, limits: ReadLimits, masters: _Masters) -> _Layout:
    """A layout's placeholder positions (its master's read once per deck, into `masters`)."""
    layout = _read_part(package, part, f"{part} (a slide layout)", limits)
    master = of_type(relationships(package, part, KIND, limits), _MASTER)
    if master is not None and master not in masters:
        read = _read_part(package, master, f"{master} (a slide master)", limits)
        first: dict[str, tuple[int, int] | None] = {}
        for shape, type_, _ in _placeholders(read):
            first.setdefault(type_, _offset(shape))
        masters[master] = first
    by_type = masters.get(master or "", {})
    by_idx: dict[str, tuple[int, int] | None] = {}
    for shape, type_, idx in _placeholders(layout):
        if idx in by_idx:
            continue
        own = _offset(shape)
        by_idx[idx] = own if own is not None else by_type.get(_MASTER_TYPE.get(type_, ""))
    return _Layout(by_idx)


def _text_of(part: _Part, shape: Any) -> list[str]:
    body = shape.find(f"{_P}txBody")
    lines = []
    for level, text in part.lines(body) if body is not None else []:
        text = " ".join(text.split())
        if text:
            lines.append("  " * level + text)
    return lines


def _table(part: _Part, frame: Any) -> list[str] | None:
    table = frame.find(f"{_A}graphic/{_A}graphicData/{_A}tbl")
    if table is None:
        return None
    rows = []
    for row in table.iterchildren(f"{_A}tr"):
        cells = []
        for cell in row.iterchildren(f"{_A}tc"):
            body = cell.find(f"{_A}txBody")
            text = "\n".join(t for _, t in part.lines(body)) if body is not None else ""
            cells.append(" ".join(text.split()))
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


def _reading_order(shapes: list[Any], layout: _Layout | None) -> Iterator[Any]:
    """Every shape, groups opened, in reading order (top, then left; a placeholder without a
    position of its own at its layout's)."""

    def position(shape: Any) -> tuple[int, int]:
        own = _offset(shape)
        if own is None and layout is not None:
            ph = _placeholder(shape)
            if ph is not None:
                own = layout.by_idx.get(ph.get("idx", "0"))
        return own or (0, 0)

    for shape in sorted(shapes, key=position):
        if shape.tag == f"{_P}grpSp":
            yield from _reading_order(_shapes_of(shape), None)
        else:
            yield shape


def _slide_text(part: _Part, layout: _Layout | None, notes: _Part | None) -> tuple[str, str, str]:
    """(title, text of the other shapes, speaker notes) of a slide read by `_read_part`."""
    top = _shapes_of(_tree(part))
    title_shape = next(
        (s for s in top if (ph := _placeholder(s)) is not None and ph.get("idx", "0") == "0"),
        None,
    )
    title = ""
    if title_shape is not None and (body := title_shape.find(f"{_P}txBody")) is not None:
        title = " ".join("\n".join(text for _, text in part.lines(body)).split())
    title_id = _shape_id(title_shape) if title_shape is not None else None
    lines: list[str] = []
    for shape in _reading_order(top, layout):
        if title_shape is not None and _shape_id(shape) == title_id:
            continue
        if shape.tag == f"{_P}graphicFrame":
            lines += _table(part, shape) or []
        elif shape.tag == f"{_P}sp":
            lines += _text_of(part, shape)
    said = ""
    if notes is not None:
        body = next((s for s, type_, _ in _placeholders(notes) if type_ == "body"), None)
        if body is not None:
            said = "\n".join(_text_of(notes, body))
    return title, "\n".join(lines), said


def _slide_parts(package: zipfile.ZipFile, limits: ReadLimits) -> list[str]:
    """The slides' part names in the deck's order (hidden ones included)."""
    from lxml import etree

    main = of_type(relationships(package, "", KIND, limits), OFFICE_DOCUMENT)
    if main is None or main not in package.namelist():
        raise UnreadableFile(
            "damaged PowerPoint file: its package names no presentation part (ppt/presentation.xml)"
        )
    kind = content_type(package, main, KIND, limits)
    if not _PPT_MAIN.match(kind):
        raise UnreadableFile(
            f"it is not a PowerPoint deck: its main part is {kind or 'of no known type'}; "
            "save it as .pptx from PowerPoint, or give it the suffix of what it is"
        )
    targets = relationship_targets(package, main, KIND, limits)
    root = etree.fromstring(read_part(package, main, KIND, limits), xml_parser())
    out: list[str] = []
    for slide in root.iterfind(f"{_P}sldIdLst/{_P}sldId"):
        rel = targets.get(slide.get(f"{_R}id", ""))
        if rel is None or not rel[0].endswith(_SLIDE) or rel[1] not in package.namelist():
            raise UnreadableFile(
                f"damaged PowerPoint file: slide {len(out) + 1} names no slide part of the package"
            )
        out.append(rel[1])
    return out


def _slide_name(package: zipfile.ZipFile, part: str, limits: ReadLimits) -> str:
    """A part as a refusal names it: with its slide's number (as PowerPoint numbers them)
    when it is a slide."""
    try:
        parts = _slide_parts(package, limits)
    except Exception:  # a message's detail: never a reason to fail
        return part
    return f"{part} (slide {parts.index(part) + 1} of {len(parts)})" if part in parts else part


def parse_pptx(
    data: bytes,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Parsed:
    """A .pptx file's bytes to a chunk per slide (more for a slide too long for `budget`
    tokens by `count_tokens`), within `limits` (its package and each part, its slides, and the
    time, checked before each slide); one slide's parts are in memory at a time, each
    streamed (the module's docstring says how).

    Returns `Parsed` of type "slides": no `meta`; `title` the first slide title there is;
    `properties` the package's core properties (title, author, created date, keywords);
    `rechunk` cuts the slides already read to another budget. A chunk's heading is its slide's
    title, its `Location` as the module's docstring says (every piece of a split slide shares
    it). Chunks fit the budget (a split piece is given at least 16 tokens) and are the same
    for the same bytes, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file (whole: nothing
    of a deck with one slide too big is stored) and goes on, for what `office.check_package`
    refuses (an OLE container such as a password-protected or old .ppt file, a damaged zip,
    one over the package limits, a part over the part limit: the slide is named, a zip that is
    no Office package), a package that is no presentation or whose XML is damaged, more slides
    than `limits` allows or reading past its time, and no text on any slide.
    """
    check_package(data, KIND, ".pptx", limits, name_part=_slide_name)
    from lxml import etree

    deadline = limits.deadline()
    package = zipfile.ZipFile(io.BytesIO(data))  # check_package has opened it already
    slides: list[tuple[int, str, str, str]] = []
    try:
        parts = _slide_parts(package, limits)
        count = len(parts)
        limits.check_pages(count, "slides")
        layouts: dict[str, _Layout] = {}
        masters: _Masters = {}
        for number, part in enumerate(parts, start=1):
            deadline.check(f"slide {number} of {count}")
            what = f"slide {number} of {count}"
            read = _read_part(package, part, f"{part} ({what})", limits)
            rels = relationships(package, part, KIND, limits)
            layout_part = of_type(rels, _LAYOUT)
            layout = None
            if layout_part is not None and layout_part in package.namelist():
                if layout_part not in layouts:
                    layouts[layout_part] = _layout(package, layout_part, limits, masters)
                layout = layouts[layout_part]
            notes_part = of_type(rels, _NOTES)
            notes = None
            if notes_part is not None and notes_part in package.namelist():
                notes = _read_part(
                    package, notes_part, f"{notes_part} (the notes of {what})", limits
                )
            title, text, said = _slide_text(read, layout, notes)
            del read, notes  # one slide at a time
            if title or text or said:
                slides.append((number, title, text, said))
        core = of_type(relationships(package, "", KIND, limits), CORE)
        properties = core_properties(package, core, KIND, limits)
    except (etree.XMLSyntaxError, zipfile.BadZipFile, KeyError, ValueError, EOFError) as exc:
        raise UnreadableFile(
            f"damaged PowerPoint file ({type(exc).__name__}: {' '.join(str(exc).split())[:160]})"
        ) from None
    finally:
        package.close()
    if not slides:
        raise UnreadableFile(f"no text on any of its {count} slides (pictures are not read)")
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
