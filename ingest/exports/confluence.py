"""Confluence space exports (Space tools > Export space > HTML; Atlassian's "Export content
to Word, PDF, HTML and XML", section "Export a space to HTML").

The zip holds one folder named by the space key (`DOCS/`) with `index.html` (the space's
home and its "Available Pages" tree), one HTML file per page (`Page-title_65541.html` in
Confluence Cloud, `65541.html` in older Server exports), `attachments/<page id>/<attachment
id>.<ext>`, `images/` and `styles/`. Each page carries its breadcrumbs (`<ol
id="breadcrumbs">`: the space, then the page's ancestors), its title (`<span
id="title-text">Space name : Page title</span>`), "Created by <span class="author">...,
last modified on Mar 05, 2024" and its body in `<div id="main-content">`; its attachments are
listed in a "Attachments" section as links to their files, with their file names as text.

A page becomes a document whose identity is its page id (`page/<id>`), shown as
`confluence:<KEY>/<title>`, its heading path the breadcrumbs, its content the main content
alone (no breadcrumbs, footer or attachment list) read as a web page, links to other pages
of the space rewritten to the knowledge base's link to that page, written `[text](/documents
/<doc id>)` as Markdown pages keep theirs. An attachment in a format the knowledge base reads
(`SUPPORTED`) becomes a document of its own (`attachment/<id>`), under its page in the
heading path; others (images) are left out.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.exports.base import Archive, Export, ExportItem, ExportRefused, top_folder
from ingest.formats.registry import SUPPORTED

_PAGE_ID = re.compile(r"(?:^|_)(\d+)\.html$")
_MODIFIED = re.compile(r"last (?:modified|updated) (?:by .+? )?on ([A-Z][a-z]{2} \d{1,2}, \d{4})")


def recognise(names: list[str], archive: Archive) -> bool:
    """A Confluence HTML export: `<KEY>/index.html` beside other pages, and the index
    written by Confluence (its "Available Pages" tree or breadcrumbs)."""
    top = top_folder(names)
    index = f"{top}/index.html" if top else "index.html"
    if index not in archive.entries or not top:
        return False
    head = archive.read(index)[:200_000].decode("utf-8", "replace")
    return "breadcrumb" in head or "Available Pages" in head or "confluence" in head.lower()


@dataclass
class _Page:
    name: str  # the entry
    page_id: str
    title: str
    trail: tuple[str, ...]
    author: str | None
    date: str | None
    attachments: dict[str, str]  # entry -> file name shown


def _tree(data: bytes, name: str, archive: Archive) -> Any:
    import lxml.html

    try:
        return lxml.html.document_fromstring(data)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise ExportRefused(
            f"{archive.shown(name)} is not a readable HTML page ({exc}); the export was not "
            "ingested: export it again"
        ) from None


def _text(element: Any) -> str:
    return " ".join("".join(element.itertext()).split())


def _local(href: str, here: str) -> str | None:
    """The archive entry a relative link points at (None for a link elsewhere)."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    path = PurePosixPath(here).parent / unquote(parts.path)
    resolved: list[str] = []
    for part in path.parts:
        if part == "..":
            if resolved:
                resolved.pop()
        elif part != ".":
            resolved.append(part)
    return "/".join(resolved)


def _page(name: str, data: bytes, archive: Archive, space_name: str) -> _Page:
    tree = _tree(data, name, archive)
    match = _PAGE_ID.search(PurePosixPath(name).name)
    page_id = match.group(1) if match else PurePosixPath(name).stem
    title_span = tree.find('.//*[@id="title-text"]')
    title = _text(title_span) if title_span is not None else ""
    if not title:
        title_element = tree.find(".//title")
        title = _text(title_element) if title_element is not None else PurePosixPath(name).stem
    for prefix in {space_name, PurePosixPath(name).parent.name}:  # "Space name : Title"
        if prefix and title.startswith(f"{prefix} : "):
            title = title[len(prefix) + 3 :]
    title = title.strip() or page_id
    trail = tuple(text for a in tree.xpath('//*[@id="breadcrumbs"]//a') if (text := _text(a)))
    author_element = tree.find('.//*[@class="page-metadata"]//*[@class="author"]')
    author = _text(author_element) if author_element is not None else None
    metadata = tree.find('.//*[@class="page-metadata"]')
    date = None
    if metadata is not None:
        found = _MODIFIED.search(_text(metadata))
        if found:
            try:
                date = dt.datetime.strptime(found.group(1), "%b %d, %Y").date().isoformat()
            except ValueError:
                date = None
    attachments: dict[str, str] = {}
    for a in tree.xpath('//a[contains(@href, "attachments/")]'):
        target = _local(a.get("href", ""), name)
        if target and target in archive.entries:
            attachments.setdefault(target, _text(a) or PurePosixPath(target).name)
    return _Page(name, page_id, title, trail, author or None, date, attachments)


def _content(
    page: _Page, data: bytes, archive: Archive, export: Export, pages: dict[str, _Page]
) -> bytes:
    """The page's main content as a page of its own, its links to other pages rewritten."""
    import lxml.html
    from lxml.html import builder

    tree = _tree(data, page.name, archive)
    main = tree.find('.//*[@id="main-content"]')
    if main is None:
        main = tree.find(".//body")
    if main is None:
        main = builder.DIV()
    for a in main.iter("a"):
        target = _local(a.get("href", ""), page.name)
        if target in pages:
            link = export.doc_link(f"page/{pages[target].page_id}")
        elif target in page.attachments and _readable(page.attachments[target], target):
            link = export.doc_link(f"attachment/{_attachment_id(target)}")
        else:
            continue
        text = _text(a) or pages[target].title if target in pages else _text(a)
        for child in list(a):
            a.remove(child)
        a.text = f"[{text}]({link})"
        a.set("href", link)
    html = builder.HTML(
        builder.HEAD(
            builder.META(charset="utf-8"),
            builder.TITLE(page.title),
            *([builder.META(name="author", content=page.author)] if page.author else []),
        ),
        builder.BODY(builder.H1(page.title), main),
    )
    return bytes(lxml.html.tostring(html, encoding="utf-8", doctype="<!DOCTYPE html>"))


def _readable(shown: str, entry: str) -> bool:
    suffix = PurePosixPath(shown).suffix.lower() or PurePosixPath(entry).suffix.lower()
    return suffix in SUPPORTED


def _attachment_id(entry: str) -> str:
    """`attachments/65541/65544.pdf` -> `65541/65544` (attachment ids are per page)."""
    path = PurePosixPath(entry)
    return f"{path.parent.name}/{path.stem}"


def read(archive: Archive) -> Export:
    """The export's pages and readable attachments (see the module's docstring)."""
    names = archive.names()
    key = top_folder(names)
    index_name = f"{key}/index.html"
    index = _tree(archive.structural(index_name), index_name, archive)
    title_element = index.find(".//title")
    space_name = _text(title_element) if title_element is not None else key
    space_name = space_name.split(" : ")[0].strip() or key
    export = Export("confluence", key, archive.name, space_title=space_name)
    pages: dict[str, _Page] = {}
    for name in names:
        path = PurePosixPath(name)
        if path.suffix.lower() not in (".html", ".htm") or path.parent != PurePosixPath(key):
            continue  # pages sit beside index.html; attachments/ and images/ are below
        if path.name == "index.html":
            continue
        pages[name] = _page(name, archive.structural(name), archive, space_name)
    for name, page in pages.items():
        heading = page.trail or (space_name,)
        meta: dict[str, Any] = {"tags": [f"space:{key}"]}
        if page.author:
            meta["author"] = page.author
        if page.date:
            meta["date"] = page.date

        def content(page: _Page = page) -> bytes:
            return _content(page, archive.structural(page.name), archive, export, pages)

        export.items.append(
            ExportItem(
                key=f"page/{page.page_id}",
                path=page.title,
                title=page.title,
                suffix=".html",
                read=content,
                entry=archive.shown(name),
                trail=heading,
                meta=meta,
                modified=archive.day(name),
            )
        )
        for entry, shown in sorted(page.attachments.items()):
            suffix = PurePosixPath(shown).suffix.lower() or PurePosixPath(entry).suffix.lower()
            if suffix not in SUPPORTED:
                continue  # an image, an archive...: not material the knowledge base reads
            export.items.append(
                ExportItem(
                    key=f"attachment/{_attachment_id(entry)}",
                    path=f"{page.title}/{shown}",
                    title="",
                    suffix=suffix,
                    read=archive.reader(entry),
                    entry=archive.shown(entry),
                    trail=(*heading, page.title),
                    meta={"tags": [f"space:{key}"]},
                    modified=archive.day(entry),
                )
            )
    return export
