"""Markdown: YAML front matter as metadata, chunks of heading sections.

A long section is split to the budget; short neighbouring sections under the same H1 are
packed together up to it, their own headings kept as lines of the text and named in the
chunk's heading; such a chunk opens at its first section and names the first and last.

Sections are cut on the source lines markdown-it reports for each heading, so the chunk
text is the author's own Markdown (code, tables, lists) rather than a re-rendering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from ingest.chunking import (
    HeadingPath,
    TokenCounter,
    estimate_tokens,
    pack_sections,
    shared_path,
)
from ingest.formats.parsed import Parsed
from ingest.metadata import parse_yaml_mapping
from kb.types import Location

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


# Sections packed together share their headings down to this level: 1 packs the H2 sections
# of one H1 (a page's topics) together, 2 would keep each H2 apart. Measured on the labelled
# sample queries at 256 tokens: level 1 gave 261 chunks and hybrid nDCG@10 0.788, level 2
# gave 352 chunks and 0.784.
MERGE_LEVEL = 1


@dataclass(frozen=True)
class _Section:
    path: tuple[tuple[int, str], ...]  # (level, title) from the H1 down
    head: int  # line of its heading (== start for the introduction)
    start: int  # first line after the heading
    end: int  # line after its last

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.path]

    @property
    def key(self) -> tuple[tuple[int, str], ...]:
        return tuple((level, name) for level, name in self.path if level <= MERGE_LEVEL)


def _heading_of(shared: HeadingPath, run: Sequence[_Section]) -> str:
    """The headings a run shares, then the sections below them ("Setup > Install · Verify"):
    headings weigh double in lexical search, and a packed chunk keeps that for each part."""
    below = dict.fromkeys(s.path[len(shared)][1] for s in run if len(s.path) > len(shared))
    return " > ".join([name for _, name in shared] + ([" · ".join(below)] if below else []))


def parse_markdown(text: str, budget: int, count_tokens: TokenCounter = estimate_tokens) -> Parsed:
    """A Markdown file's decoded `text` to chunks of at most `budget` tokens by `count_tokens`.

    Returns `Parsed` of type "markdown": `meta` is the YAML front matter (keys lower-cased),
    `title` the first H1 (None without one), no properties and no `rechunk` (reading again is
    cheap). Each chunk's heading is its heading path (`Setup > Install · Verify` for sections
    packed together), its body the author's Markdown less book-toolchain markup, HTML comments
    and image syntax (an image's alt text stays); its `Location` is labelled by the path (`A >
    B`, `A > B … C` when packed, `(introduction)` before the first heading), anchored at the
    first section's heading slug, with detail {"line", "end_line"}: the 1-based lines from below
    the first heading to the run's end. Chunks fit the budget (a split piece is given at least
    16 tokens, so a heading that fills the budget overflows it) and are the same for the same
    text, budget and counter. A chunk of several sections keeps each one's place (from its
    heading line), labelled by its own path and anchored at its own heading's slug.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, when
    the front matter is not a YAML mapping. A file of headings alone gives no chunks
    (`parse_bytes` refuses it).
    """
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
    first_h1 = next((h[3] for h in headings if h[2] == 1), None)

    sections: list[_Section] = []
    path: list[tuple[int, str]] = []
    head = cursor = body_start
    for start, end, level, title in headings:
        sections.append(_Section(tuple(path), head, cursor, start))
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, title))
        head, cursor = start, end
    sections.append(_Section(tuple(path), head, cursor, len(lines)))
    sections = [s for s in sections if _clean("\n".join(lines[s.start : s.end]))]

    def render(run: Sequence[_Section]) -> tuple[str, str]:
        """(heading, body) of a run: the headings all share, and the text from the first
        section on, with the headings below the shared ones kept as lines of the body."""
        shared = shared_path([s.path for s in run])
        first = run[0].head if len(run[0].path) > len(shared) else run[0].start
        body = _clean("\n".join(lines[first : run[-1].end]))
        return _heading_of(shared, run), body

    def location(run: Sequence[_Section]) -> Location:
        first, last = run[0], run[-1]
        label = " > ".join(first.names) or "(introduction)"
        if len(run) > 1:
            label += " … " + (last.names[-1] if last.names else "(introduction)")
        anchor = slugify(first.names[-1]) if first.names else ""
        return Location(label, anchor, {"line": first.start + 1, "end_line": last.end})

    def texts(run: Sequence[_Section]) -> list[str]:
        """Each section's text in its run's body: the first from where `render` begins, the
        others from their heading line (the body holds every line after its first)."""
        shared = shared_path([s.path for s in run])
        first = run[0].head if len(run[0].path) > len(shared) else run[0].start
        return [_clean("\n".join(lines[first : run[0].end]))] + [
            _clean("\n".join(lines[s.head : s.end])) for s in run[1:]
        ]

    chunks = pack_sections(
        sections, render, location, lambda s: s.key, budget, count_tokens, texts=texts
    )
    return Parsed("markdown", chunks, meta, first_h1)
