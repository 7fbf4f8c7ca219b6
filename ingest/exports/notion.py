"""Notion exports (Settings > Export content, or a page's "..." > Export, as "Markdown & CSV";
Notion's help page "Export your content").

Every page is a Markdown file named `Title <32-hex id>.md` that opens with `# Title`; a page's
children, and the files attached to it, sit in the folder of the same name (`Title <id>/`),
so the folders are the page tree. A database is a CSV file (`Name <id>.csv`, and in newer
exports `Name <id>_all.csv` with every view's rows) whose row pages sit in `Name <id>/`.
Links between pages are relative, URL-encoded paths (`Child%20<id>.md`). Some exports put
everything in one folder (`Export-<uuid>/`); that folder is looked through. Newer exports of
a large workspace hold further zips (`Export-...-Part-1.zip`): nested archives are never
opened, so unpack the outer one and ingest each part.

A page becomes a document whose identity is its id (`page/<id>`), shown as
`notion:<space>/<title>` with the id stripped, its heading path the titles of the pages above
it; links to pages and attachments of the export are rewritten to the knowledge base's link
to them (`/documents/<doc id>`), other links kept. A database becomes a document of its rows
(a section per row, its columns as lines). An attached file in a readable format is a
document of its own under its page.

The space is the id of the export's top-level page; an export of several top-level pages
(a whole workspace) is named by a hash of their ids, so export the same set again (or give
the space's name, `read_export(..., space=...)`) for a newer export to replace it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from ingest.errors import UnreadableFile
from ingest.exports.base import Archive, Export, ExportItem, top_folder
from ingest.formats.registry import SUPPORTED

_ID = re.compile(r"^(?P<title>.*?)\s*(?P<id>[0-9a-f]{32})(?P<all>_all)?$")
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<href>[^)\s]+)\)")


def split_id(name: str) -> tuple[str, str | None]:
    """`Setup guide 0123...cdef` -> ("Setup guide", "0123...cdef"); a name without an id
    suffix comes back whole, with None."""
    match = _ID.match(name)
    if not match:
        return name, None
    return match.group("title").strip() or match.group("id"), match.group("id")


def _pages(names: list[str]) -> list[str]:
    return [n for n in names if PurePosixPath(n).suffix.lower() in (".md", ".csv")]


def recognise(names: list[str], archive: Archive) -> bool:
    """A Notion export: Markdown (or CSV) files, most of them named `Title <32-hex id>`."""
    pages = _pages(names)
    with_ids = [n for n in pages if split_id(PurePosixPath(n).stem)[1]]
    return bool(with_ids) and len(with_ids) * 2 >= len(pages)


def _resolve(href: str, here: PurePosixPath) -> str | None:
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    resolved: list[str] = []
    for part in (here.parent / unquote(parts.path)).parts:
        if part == "..":
            if resolved:
                resolved.pop()
        elif part != ".":
            resolved.append(part)
    return "/".join(resolved)


def _csv_markdown(title: str, data: bytes, shown: str) -> bytes:
    """A database's rows as Markdown: a section per row, each column a line."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFile(f"{shown} is not a readable CSV database ({exc})") from None
    lines = [f"# {title}", ""]
    if rows:
        header, *body = rows
        for row in body:
            if not any(cell.strip() for cell in row):
                continue
            lines += [f"## {row[0].strip() or title}", ""]
            lines += [
                f"- {column}: {cell}"
                for column, cell in zip(header[1:], row[1:], strict=False)
                if cell.strip()
            ]
            lines.append("")
    return "\n".join(lines).encode("utf-8")


def read(archive: Archive, space: str | None = None) -> Export:
    """The export's pages, databases and readable attachments (see the module's docstring)."""
    names = archive.names()
    wrapper = top_folder(names)
    if wrapper and split_id(wrapper)[1]:
        wrapper = ""  # the one folder is a page's own, not an export's wrapper
    base = PurePosixPath(wrapper) if wrapper else PurePosixPath()

    def inner(name: str) -> PurePosixPath:
        return PurePosixPath(name).relative_to(base) if wrapper else PurePosixPath(name)

    # each page or database: entry -> (id, title); a CSV's `_all` twin wins over it
    pages: dict[str, tuple[str, str]] = {}
    databases: dict[str, str] = {}  # id -> entry
    for name in _pages(names):
        title, page_id = split_id(PurePosixPath(name).stem)
        if page_id is None:
            continue
        if name.lower().endswith(".csv"):
            if page_id in databases and not name.endswith("_all.csv"):
                continue
            if page_id in databases:
                del pages[databases[page_id]]
            databases[page_id] = name
        pages[name] = (page_id, title)
    folders = {  # a page's folder (its children, its files) -> its title
        str(PurePosixPath(name).with_suffix("")).removesuffix("_all"): title
        for name, (_, title) in pages.items()
    }
    roots = sorted(pid for name, (pid, _) in pages.items() if len(inner(name).parts) == 1)
    if space is None:
        space = (
            roots[0] if len(roots) == 1 else hashlib.sha1(" ".join(roots).encode()).hexdigest()[:12]
        )
    top_titles = [title for name, (_, title) in pages.items() if len(inner(name).parts) == 1]
    export = Export("notion", space, archive.name, space_title=", ".join(sorted(top_titles)))

    def trail(name: str) -> tuple[str, ...]:
        above: list[str] = []
        folder = PurePosixPath(name).parent
        while str(folder) not in ("", ".") and folder != base:
            above.append(folders.get(str(folder), split_id(folder.name)[0]))
            folder = folder.parent
        return tuple(reversed(above))

    attachments: dict[str, str] = {}  # entry -> key
    for name in names:
        suffix = PurePosixPath(name).suffix.lower()
        if name in pages or suffix not in SUPPORTED or suffix == ".csv":
            continue
        if split_id(PurePosixPath(name).stem)[1] and suffix == ".md":
            continue  # a page whose id was seen twice
        owner = split_id(PurePosixPath(name).parent.name)[1]  # the page it is attached to
        attachments[name] = (
            f"file/{owner}/{PurePosixPath(name).name}" if owner else f"file/{inner(name)}"
        )
    links = {name: f"page/{pid}" for name, (pid, _) in pages.items()} | attachments

    def rewrite(text: str, here: str) -> str:
        def one(match: re.Match[str]) -> str:
            if match.group("bang"):
                return match.group(0)  # an image: its alt text is what is read
            target = _resolve(match.group("href"), PurePosixPath(here))
            key = links.get(target) if target else None
            if key is None and target and target.endswith(".csv"):
                key = links.get(target.removesuffix(".csv") + "_all.csv")
            if key is None:
                return match.group(0)
            return f"[{match.group('text')}]({export.doc_link(key)})"

        return _LINK.sub(one, text)

    for name, (page_id, title) in sorted(pages.items(), key=lambda kv: str(inner(kv[0]))):
        shown = archive.shown(name)
        if name.lower().endswith(".csv"):

            def content(name: str = name, title: str = title, shown: str = shown) -> bytes:
                return _csv_markdown(title, archive.read(name), shown)

        else:

            def content(name: str = name, title: str = title, shown: str = shown) -> bytes:
                text = archive.read(name).decode("utf-8-sig", "replace")
                return rewrite(text, name).encode("utf-8")

        page_trail = trail(name)
        export.items.append(
            ExportItem(
                key=f"page/{page_id}",
                path="/".join((*page_trail, title)),
                title=title,
                suffix=".md",
                read=content,
                entry=shown,
                trail=page_trail,
                modified=archive.day(name),
            )
        )
    for name, key in sorted(attachments.items()):
        file_trail = trail(name)
        export.items.append(
            ExportItem(
                key=key,
                path="/".join((*file_trail, PurePosixPath(name).name)),
                title="",
                suffix=PurePosixPath(name).suffix.lower(),
                read=archive.reader(name),
                entry=archive.shown(name),
                trail=file_trail,
                modified=archive.day(name),
            )
        )
    return export
