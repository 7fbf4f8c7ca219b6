"""Web pages (.html, .htm), saved or exported from a wiki: the main content, by headings.

Main-content extraction is trafilatura's. Among the maintained libraries it is the one that
keeps a page's structure (headings with their level, paragraphs, lists, tables, code) while
dropping navigation, sidebars, footers and cookie banners, and it leads the published
comparisons of extractors (ScrapingHub's article-extraction benchmark; Bevendorff et al.,
SIGIR 2023). readability-lxml drops a heading whose link density is high, and wiki headings
carry "edit" and permalink links; justext classifies paragraphs but loses headings;
selectolax and BeautifulSoup parse, they do not find the main content. lxml (which
trafilatura uses too) reads the page itself: its declared encoding, <title> and <meta>
properties, and the ids of its headings, so that a chunk's anchor opens the page's own
section.

Trafilatura's cost grows faster than the page (a 2 MB page of highlighted code took 15 s
here, an 8 MB one 8 minutes): a page over `MAX_EXTRACTED_ELEMENTS` elements or
`MAX_EXTRACTED_CHARS` characters is read by the structural rule alone, in linear time: the
page's <main> (or <article>, or role="main"), else its <body>, without navigation, headers,
footers, asides, forms and scripts. The same rule reads a page in which trafilatura finds
nothing.

Sections are chunked as Markdown's; location: the heading path, the heading's id as anchor.
Title: the main content's first <h1>, else <title> (without a trailing " - Site name" when
the page names its site), else og:title. Author, date and keywords come from <meta> tags.
Images, scripts, styles, forms and comments are not read.
"""

from __future__ import annotations

import codecs
import copy
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ingest.chunking import TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.markdown import slugify
from ingest.formats.parsed import Parsed
from ingest.formats.sections import Section, section_chunks
from ingest.metadata import document_properties
from ingest.reading import DEFAULT_LIMITS, ReadLimits
from kb.types import ChunkInput

MAX_EXTRACTED_ELEMENTS = 20_000
MAX_EXTRACTED_CHARS = 2_000_000
_HEADING = re.compile(r"^h([1-6])$")
_BOILERPLATE = (
    "script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form",
    "svg", "button", "select", "iframe", "object", "canvas",
)  # fmt: skip
_NOT_CONTENT_ROLES = ("navigation", "banner", "contentinfo", "complementary", "search")
# Blocks: their whole text is one paragraph (HTML's tags, then trafilatura's own).
_BLOCKS = {"p", "li", "pre", "blockquote", "dt", "dd", "figcaption", "caption", "address"}
_BLOCKS |= {"item", "quote", "code"}
_TABLES = {"table"}
_LISTS = {"ul", "ol", "list"}
_ROWS = {"tr", "row"}
_CELLS = {"td", "th", "cell"}
_ITEMS = {"li", "item"}
_PERMALINK = re.compile(r"[¶§🔗]|(?<!\S)#(?!\S)|\[(edit|编辑|編輯)\]", re.IGNORECASE)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_CJK = "\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_CJK_BREAK = re.compile(f"(?<=[{_CJK}])[ \t]*\n\\s*(?=[{_CJK}])")
_LOOKS_HTML = re.compile(r"<(!doctype|html|head|body|title|p|div|h[1-6]|article|main)\b", re.I)


def _decode(data: bytes) -> str:
    """The page's text: by its byte-order mark, its declared charset, UTF-8, or a guess."""
    if not data.strip():
        raise UnreadableFile("the file is empty")
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, "replace")
    if data.startswith(codecs.BOM_UTF16_BE):
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("the file is binary (it contains NUL bytes), not an HTML page")
    declared = _CHARSET.search(data[:4096])
    if declared:
        try:
            return data.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: try the others
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        from trafilatura.utils import decode_file  # its charset detection

        return decode_file(data)


def _words(text: str) -> str:
    """White space collapsed; a line break between two Chinese (or Japanese) characters goes
    altogether, as a browser shows it."""
    return " ".join(_CJK_BREAK.sub("", text).split())


def _heading_text(element: Any) -> str:
    return _words(_PERMALINK.sub(" ", "".join(element.itertext())))


def _anchors(tree: Any) -> dict[str, str]:
    """Each heading's text -> the id a link opens it at: its own, one inside it (MediaWiki's
    span, an <a name>), or that of the section it opens (Sphinx, DocBook)."""
    found: dict[str, str] = {}
    for heading in tree.iter("h1", "h2", "h3", "h4", "h5", "h6"):
        text = _heading_text(heading)
        if not text or text in found:
            continue
        anchor = heading.get("id") or heading.get("name")
        if not anchor:
            inner = heading.xpath(".//*[@id or @name]")
            anchor = inner[0].get("id") or inner[0].get("name") if inner else None
        parent = heading.getparent()
        if not anchor and parent is not None and parent.get("id"):
            first = next((child for child in parent if isinstance(child.tag, str)), None)
            anchor = parent.get("id") if first is heading else None
        if anchor:
            found[text] = anchor
    return found


def _meta(tree: Any, *names: str) -> list[str]:
    values = []
    for element in tree.iter("meta"):
        key = element.get("name") or element.get("property") or element.get("itemprop") or ""
        if key.lower() in names and element.get("content"):
            values.append(_words(element.get("content")))
    return values


def _title(tree: Any, blocks: list[tuple[int, str]]) -> str | None:
    """The content's first <h1>, else <title> without a trailing site name, else og:title."""
    h1 = next((text for level, text in blocks if level == 1), None)
    if h1:
        return h1
    title_element = tree.find(".//title")
    title = _words("".join(title_element.itertext())) if title_element is not None else ""
    for site in _meta(tree, "og:site_name", "application-name"):
        for separator in (" - ", " | ", " – ", " — ", " · "):
            if title.endswith(separator + site):
                title = title[: -len(separator + site)].strip()
    return title or next(iter(_meta(tree, "og:title")), None)


def _properties(tree: Any) -> dict[str, Any]:
    author = _meta(tree, "author", "article:author", "dc.creator", "dcterms.creator")
    date = _meta(tree, "article:published_time", "dcterms.created", "dc.date", "date", "created")
    keywords = _meta(tree, "keywords", "article:tag", "news_keywords")
    return document_properties(
        author=next(iter(author), None),
        created=next(iter(date), None),
        keywords=", ".join(keywords) or None,
    )


def _text(element: Any) -> str:
    """A block's text: code as written, the rest with white space collapsed; a nested list's
    items on lines of their own."""
    if element.tag in ("pre", "code"):
        code = "".join(element.itertext()).strip("\n")
        return "\n".join(line.rstrip() for line in code.split("\n"))
    nested = [child for child in element if child.tag in ("ul", "ol", "list")]
    if not nested:
        return _words("".join(element.itertext()))
    own = _words(
        (element.text or "")
        + "".join(
            "".join(child.itertext()) + (child.tail or "")
            for child in element
            if child not in nested
        )
    )
    lines = [own] if own else []
    for sub in nested:
        lines += ["  - " + _text(item) for item in sub if item.tag in _ITEMS]
    return "\n".join(lines)


def _blocks(root: Any) -> Iterator[tuple[int, str]]:
    """(heading level or 0, text) of each heading and block in document order, from HTML or
    from trafilatura's XML (head rend="h2", list/item, table/row/cell, code, quote)."""
    stack: list[Any] = [root]
    while stack:
        element = stack.pop()
        if isinstance(element, str):  # a container's own text, queued in its place
            if element.strip():
                yield 0, _words(element)
            continue
        tag = element.tag if isinstance(element.tag, str) else ""
        level = _HEADING.match(tag) or (tag == "head" and _HEADING.match(element.get("rend", "")))
        if level:
            text = _heading_text(element)
            if text:
                yield int(level.group(1)), text
        elif tag in _TABLES:  # a line per row, cells between " | "
            rows = [
                [_words("".join(cell.itertext())) for cell in row if cell.tag in _CELLS]
                for row in element.iter(*_ROWS)
            ]
            lines = [" | ".join(cells) for cells in rows if any(cells)]
            if lines:
                yield 0, "\n".join(lines)
        elif tag in _LISTS and all(child.tag in _ITEMS for child in element):
            items = ["- " + _text(item) for item in element]
            if any(item.strip("- ") for item in items):
                yield 0, "\n".join(item for item in items if item.strip("- "))
        elif tag in _BLOCKS:
            text = _text(element)
            if text.strip():
                yield 0, ("- " + text if tag in _ITEMS else text)
        else:  # a container: its text, its children with the text after each, in order
            queued: list[Any] = [element.text or ""] if tag else []
            for child in element:
                queued += [child, child.tail or ""]
            stack.extend(reversed(queued))


def _structural(tree: Any) -> Any:
    """The page's main element without its boilerplate (a copy)."""
    page = copy.deepcopy(tree)
    for element in list(page.iter(*_BOILERPLATE)):
        element.drop_tree()
    for role in _NOT_CONTENT_ROLES:
        for element in page.xpath(f"//*[@role='{role}']"):
            element.drop_tree()
    for path in ("//main", "//article", "//*[@role='main']", "//body"):
        found = page.xpath(path)
        if len(found) == 1:
            return found[0]
    return page


@cache
def _extraction_config() -> Any:
    """trafilatura's settings, with its minimum sizes lowered: a short wiki page is content,
    not a page to fall back to all of its text for (which would keep the navigation)."""
    from trafilatura.settings import use_config

    config = use_config()
    config.set("DEFAULT", "MIN_EXTRACTED_SIZE", "1")
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "1")
    return config


def _main_content(tree: Any, size: int) -> Any:
    elements = sum(1 for _ in tree.iter())
    if elements <= MAX_EXTRACTED_ELEMENTS and size <= MAX_EXTRACTED_CHARS:
        import trafilatura  # imported on first use: `kb` starts faster without it

        extracted = trafilatura.bare_extraction(
            copy.deepcopy(tree),
            output_format="python",
            favor_recall=True,
            include_comments=False,
            include_tables=True,
            include_formatting=True,
            include_images=False,
            include_links=False,
            config=_extraction_config(),
        )
        body = getattr(extracted, "body", None)
        if body is not None and "".join(body.itertext()).strip():
            if _headings(body) or len(_headings(structural := _structural(tree))) < 2:
                return body
            return structural  # trafilatura lost the headings (it does on some old markup)
    return _structural(tree)


def _headings(root: Any) -> list[Any]:
    return [
        element
        for element in root.iter()
        if isinstance(element.tag, str)
        and (_HEADING.match(element.tag) or _HEADING.match(element.get("rend", "") or ""))
    ]


def _parsed(text: str) -> Any | None:
    """The page's tree, or None when libxml2 stopped before the end of it (a fatal error:
    markup nested deeper than its limit of 256 elements, whose text it silently drops)."""
    import lxml.html
    from lxml import etree

    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
    try:
        tree = lxml.html.document_fromstring(text.encode("utf-8", "replace"), parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise UnreadableFile(f"the HTML cannot be parsed ({exc})") from None
    if any(error.level_name == "FATAL" for error in parser.error_log):
        return None
    return tree


# Elements nested deeper than this lose their tags (their text stays) in `flattened`: under
# libxml2's limit of 256, with room for the elements its parser adds (html, body).
MAX_DEPTH = 200
_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())
_RAW = frozenset({"script", "style", "template", "noscript", "textarea", "title"})


def flattened(text: str) -> str:
    """The page with every element nested deeper than `MAX_DEPTH` unwrapped: its tags go (a
    space in their place, so words never run together), its text stays where it was, and
    scripts and styles at that depth go with their content. Read in one pass by the
    standard library's tokenizer, without a tree, so depth costs nothing: a page of 200,000
    nested <div>s keeps every word below them."""
    from html import escape
    from html.parser import HTMLParser

    out: list[str] = []
    stack: list[tuple[str, bool]] = []  # open elements: (tag, its tags kept)
    dropped_raw = 0  # open scripts and styles whose content is left out

    def attributes(attrs: list[tuple[str, str | None]]) -> str:
        return "".join(
            f" {name}" if value is None else f' {name}="{escape(value, quote=True)}"'
            for name, value in attrs
        )

    class Flattener(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            nonlocal dropped_raw
            kept = len(stack) < MAX_DEPTH
            if kept:
                out.append(f"<{tag}{attributes(attrs)}>")
            else:
                out.append(" ")
                if tag in _RAW:
                    dropped_raw += 1
            if tag not in _VOID:
                stack.append((tag, kept))

        def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            out.append(f"<{tag}{attributes(attrs)}>" if len(stack) < MAX_DEPTH else " ")

        def handle_endtag(self, tag: str) -> None:
            nonlocal dropped_raw
            if not any(open_tag == tag for open_tag, _ in stack):
                return  # a stray end tag: browsers ignore it too
            while stack:
                open_tag, kept = stack.pop()
                out.append(f"</{open_tag}>" if kept else " ")
                if not kept and open_tag in _RAW:
                    dropped_raw -= 1
                if open_tag == tag:
                    break

        def handle_data(self, data: str) -> None:
            if not dropped_raw:
                out.append(escape(data, quote=False))

        def handle_decl(self, decl: str) -> None:
            out.append(f"<!{decl}>")

    reader = Flattener(convert_charrefs=True)
    reader.feed(text)
    reader.close()
    out += [f"</{tag}>" for tag, kept in reversed(stack) if kept]
    return "".join(out)


def parse_html(
    data: bytes,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> Parsed:
    """An HTML page's bytes (decoded here, by its BOM, its declared charset, UTF-8 or a guess)
    to chunks of its main content's heading sections of at most `budget` tokens by
    `count_tokens`. `limits` is taken for the registry's shape and not used: a large page is
    bounded by `MAX_EXTRACTED_ELEMENTS` and `MAX_EXTRACTED_CHARS` instead.

    Returns `Parsed` of type "webpage": no `meta`; `title` and `properties` (author, date,
    keywords from <meta>) as the module's docstring says; `rechunk` cuts the sections already
    read to another budget. A chunk's heading is its heading path, its `Location` labelled by
    the path, anchored at the heading's own id (else its slug), with detail {"block",
    "end_block"}: the 1-based headings and blocks of the main content it spans. Chunks fit the
    budget (a split piece is given at least 16 tokens) and are the same for the same bytes,
    budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, for
    an empty file, NUL bytes (a binary), no HTML tag in the first 100,000 characters, markup
    lxml cannot parse (or stops parsing before its end even with the page's depth capped:
    nothing is stored incomplete), and no text in the main content. A page nested deeper
    than libxml2 reads (256 elements) is read with its depth capped (`flattened`): its text
    at any depth is kept.
    """
    text = _decode(data)
    if not _LOOKS_HTML.search(text[:100_000]):
        raise UnreadableFile("no HTML markup in it (no <html>, <body>, <p>... tag): not a web page")

    tree = _parsed(text)
    if tree is None:  # libxml2 stops at its depth limit: the same page, its depth capped
        tree = _parsed(flattened(text))
        if tree is None:
            raise UnreadableFile(
                "the HTML parser stopped before the end of the page (its markup is beyond "
                "repair): save the page again from a browser, then ingest that"
            )
    for element in tree.iter():  # line breaks between Chinese characters, as browsers do
        if element.text and "\n" in element.text:
            element.text = _CJK_BREAK.sub("", element.text)
        if element.tail and "\n" in element.tail:
            element.tail = _CJK_BREAK.sub("", element.tail)
    anchors = _anchors(tree)
    blocks = list(_blocks(_main_content(tree, len(text))))
    title = _title(tree, blocks)

    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    start = 1
    for number, (level, block) in enumerate(blocks, start=1):
        if not level:
            paragraphs.append(block)
            continue
        if paragraphs:
            anchor = anchors.get(path[-1][1], slugify(path[-1][1])) if path else ""
            sections.append(Section(tuple(path), tuple(paragraphs), anchor, start, number - 1))
        paragraphs = []
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, block))
        start = number
    if paragraphs:
        anchor = anchors.get(path[-1][1], slugify(path[-1][1])) if path else ""
        sections.append(Section(tuple(path), tuple(paragraphs), anchor, start, len(blocks)))
    if not sections:
        raise UnreadableFile("no text in the page's main content")

    def chunks_for(size: int) -> list[ChunkInput]:
        return section_chunks(sections, size, count_tokens, unit="block")

    return Parsed(
        "webpage",
        chunks_for(budget),
        title=title,
        properties=_properties(tree),
        rechunk=chunks_for,
    )
