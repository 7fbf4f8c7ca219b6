"""Markdown: YAML front matter as metadata, one chunk per heading section (split if long).

Sections are cut on the source lines markdown-it reports for each heading, so the chunk
text is the author's own Markdown (code, tables, lists) rather than a re-rendering.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from ingest.chunking import estimate_tokens, split_to_budget
from ingest.metadata import parse_yaml_mapping
from ingest.parsed import Parsed
from kb.types import ChunkInput, Location

_PARSER = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)
# Lines that are markup of a book toolchain (d2l's `:label:`, `:numref:` on its own line,
# `%%tab` markers) or HTML comments: noise for search.
_NOISE_LINE = re.compile(r"^\s*(:\w+:`[^`]*`|%%tab.*|<!--.*-->)\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


def slugify(heading: str) -> str:
    """GitHub-style anchor: lower case, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).strip()
    return re.sub(r"\s+", "-", slug)


def _clean(body: str) -> str:
    lines = [line for line in body.split("\n") if not _NOISE_LINE.match(line)]
    text = _IMAGE.sub(lambda m: m.group(1), "\n".join(lines))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_markdown(text: str, budget: int) -> Parsed:
    tokens = _PARSER.parse(text)
    lines = text.split("\n")
    meta: dict[str, object] = {}
    body_start = 0
    headings: list[tuple[int, int, int, str]] = []  # (start line, end line, level, text)
    for i, token in enumerate(tokens):
        if token.type == "front_matter":
            meta = parse_yaml_mapping(token.content, "the front matter")
            body_start = token.map[1] if token.map else 0
        elif token.type == "heading_open" and token.map:
            inline = tokens[i + 1]
            title = inline.content.strip()
            headings.append((token.map[0], token.map[1], int(token.tag[1]), title))

    chunks: list[ChunkInput] = []
    path: list[tuple[int, str]] = []
    first_h1 = next((h[3] for h in headings if h[2] == 1), None)

    def emit(start: int, end: int) -> None:
        body = _clean("\n".join(lines[start:end]))
        if not body:
            return
        names = [name for _, name in path]
        heading = " > ".join(names)
        label = heading or "(introduction)"
        anchor = slugify(names[-1]) if names else ""
        line_range = {"line": start + 1, "end_line": end}
        for piece in split_to_budget(body, budget - estimate_tokens(heading)):
            chunks.append(ChunkInput(heading, piece, Location(label, anchor, line_range)))

    cursor = body_start
    for start, end, level, title in headings:
        emit(cursor, start)
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
        cursor = end
    emit(cursor, len(lines))
    return Parsed("markdown", chunks, meta, first_h1)
