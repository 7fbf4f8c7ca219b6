"""PDF, read with pypdf: the text layer page by page, cut at the headings of its outline.

Each page's text is read (lines repeated at the top or bottom of most pages, running heads
and page numbers, are dropped). Where the PDF has an outline (bookmarks), each entry's
heading is looked for on its page and the text is cut there, so a chunk belongs to one
section and its heading is the outline path; without one, pages are the sections. Short
neighbouring pieces under the same top entry are packed up to the window, long ones split.

Location: `page 12` (`pages 12-13` when packed), then ` · ` and the outline path where there
is one; anchor `page=12` (what PDF viewers open at); detail {"page", "end_page"}.

Refused with the reason: a file that is not a PDF or is damaged, a PDF that needs a password
(one encrypted only against editing or printing opens with the empty password and is read),
a PDF without a text layer (scanned: OCR is not done), one over the page limit or the time
limit (`ingest.reading`). Pictures, and the text inside them, are not read; nor are forms'
field values, annotations or attachments.

pypdf is pure Python: a damaged or hostile file raises an exception, which costs that file,
where a native library's crash would end the whole batch. pypdfium2 read the text layers of
two TeX-made manuals here 15 times faster (0.01 s a page against 0.14 s), but runs PDFium in
this process; the time limit bounds pypdf's slowness instead.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from ingest.chunking import TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.parsed import Parsed
from ingest.formats.sections import Section, heading_label, section_chunks
from ingest.metadata import document_properties
from ingest.reading import DEFAULT_LIMITS, ReadLimits
from kb.types import ChunkInput

_WORD = re.compile(r"\w")


def _short(exc: Exception) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}"


def _outline(reader: Any) -> list[tuple[int, int, str]]:
    """(page index, level, title) of every outline entry whose page is known, in page order."""
    entries: list[tuple[int, int, str]] = []

    def walk(items: Sequence[Any], level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = " ".join(str(item.title or "").split())
            except Exception:  # a broken destination: that entry is left out
                continue
            if title and page is not None and page >= 0:
                entries.append((page, level, title))

    try:
        walk(reader.outline, 1)
    except Exception:  # a broken outline: pages alone
        return []
    return sorted(entries, key=lambda entry: entry[0])  # stable: the outline's order per page


def _running_lines(pages: list[list[str]]) -> set[str]:
    """First and last lines that recur on most pages (running heads, page numbers), with
    digits masked so that "Page 3" and "Page 4" count as one."""
    if len(pages) < 4:
        return set()
    counts: Counter[str] = Counter()
    for lines in pages:
        ends = {_mask(line) for line in (lines[:1] + lines[-1:]) if line.strip()}
        counts.update(ends)
    return {line for line, n in counts.items() if n * 2 >= len(pages)}


def _mask(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split()))


def _page_texts(raw: list[str]) -> list[str]:
    pages = [[line.rstrip() for line in text.replace("\x00", "").splitlines()] for text in raw]
    running = _running_lines(pages)
    out = []
    for lines in pages:
        if lines and _mask(lines[0]) in running:
            lines = lines[1:]
        if lines and _mask(lines[-1]) in running:
            lines = lines[:-1]
        out.append("\n".join(lines).strip())
    return out


def _find(title: str, text: str, start: int) -> re.Match[str] | None:
    """The heading's words on the page, from `start`, spaces and case aside."""
    words = title.split()
    if not words:
        return None
    pattern = r"\s*".join(re.escape(word) for word in words)
    return re.compile(pattern, re.IGNORECASE).search(text, start)


def _sections(texts: list[str], outline: list[tuple[int, int, str]]) -> list[Section]:
    by_page: dict[int, list[tuple[int, str]]] = {}
    for page, level, title in outline:
        by_page.setdefault(page, []).append((level, title))
    path: list[tuple[int, str]] = []
    sections: list[Section] = []
    for index, text in enumerate(texts):
        number = index + 1
        cursor, opens = 0, False
        for level, title in by_page.get(index, []):
            match = _find(title, text, cursor)
            cut, after = (match.start(), match.end()) if match else (cursor, cursor)
            piece = text[cursor:cut].strip()
            sections.append(Section(tuple(path), (piece,), f"page={number}", number, number, opens))
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, title))
            cursor, opens = after, True
        piece = text[cursor:].strip()
        sections.append(Section(tuple(path), (piece,), f"page={number}", number, number, opens))
    return sections


def _label(run: Sequence[Section]) -> str:
    first, last = run[0].start, run[-1].end
    where = f"page {first}" if first == last else f"pages {first}-{last}"
    return f"{where} · {heading_label(run)}" if run[0].path else where


def _properties(reader: Any) -> dict[str, Any]:
    try:
        info = reader.metadata
        if info is None:
            return {}
        try:
            created = info.creation_date
        except Exception:  # a malformed date string
            created = None
        return document_properties(
            title=info.title, author=info.author, created=created, keywords=info.get("/Keywords")
        )
    except Exception:  # a damaged information dictionary: no properties
        return {}


def parse_pdf(
    data: bytes,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Parsed:
    """A PDF's bytes to chunks of its text layer of at most `budget` tokens by `count_tokens`,
    within `limits` (its pages, and the time, checked before each page).

    Returns `Parsed` of type "pdf": no `meta` and no title of its own; `properties` the title,
    author, creation date and keywords of its information dictionary (none when that is
    damaged); `rechunk` cuts the pages already read to another budget. A chunk's heading is
    its outline path (empty without an outline) and its `Location` as the module's docstring
    says. A page whose text cannot be extracted counts as empty. Chunks fit the budget (a
    split piece is given at least 16 tokens) and are the same for the same bytes, budget and
    counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    bytes without `%PDF-` in their first 1024, a damaged file or one where no page can be read,
    a password needed to open it, no pages, more pages than `limits` allows or reading past its
    time, and no text layer on any page (a scan).
    """
    if b"%PDF-" not in data[:1024]:
        raise UnreadableFile("not a PDF: the file does not begin with %PDF-")
    from pypdf import PdfReader  # imported on first use: `kb` starts faster without it

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile(
                "the PDF is protected by a password: save a copy without the password "
                "(or ask its author for one) and ingest that"
            )
        count = len(reader.pages)
    except UnreadableFile:
        raise
    except Exception as exc:  # pypdf's PdfReadError, or anything a damaged file provokes
        raise UnreadableFile(f"damaged PDF, it cannot be read ({_short(exc)})") from None
    if count == 0:
        raise UnreadableFile("the PDF has no pages")
    limits.check_pages(count, "pages")
    deadline = limits.deadline()
    raw: list[str] = []
    failures: list[str] = []
    for index in range(count):
        deadline.check(f"page {index + 1} of {count}")
        try:
            raw.append(reader.pages[index].extract_text() or "")
        except Exception as exc:  # one damaged page costs that page
            failures.append(_short(exc))
            raw.append("")
    if len(failures) == count:
        raise UnreadableFile(f"damaged PDF, no page can be read ({failures[0]})")
    texts = _page_texts(raw)
    if not any(_WORD.search(text) for text in texts):
        raise UnreadableFile(
            f"no text layer on any of its {count} pages: it looks scanned (pages stored as "
            "pictures). OCR is not done here: run it through OCR first (ocrmypdf, for one) "
            "and ingest the result"
        )
    sections = _sections(texts, _outline(reader))

    def chunks_for(size: int) -> list[ChunkInput]:
        return section_chunks(sections, size, count_tokens, unit="page", label=_label)

    return Parsed("pdf", chunks_for(budget), properties=_properties(reader), rechunk=chunks_for)
