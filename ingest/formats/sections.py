"""Heading sections to chunks, for formats whose headings are not Markdown lines: Word
headings, HTML headings, a PDF's outline.

The rules are Markdown's (`ingest.formats.markdown`): a section too long for the window is split on
its paragraphs; short neighbouring sections under the same top heading are packed up to it,
the headings below the shared ones kept as lines of the text and named in the chunk's
heading ("Setup > Install · Verify"); the chunk opens at its first section and its label
names the first and the last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ingest.chunking import (
    HeadingPath,
    TokenCounter,
    estimate_tokens,
    pack_sections,
    shared_path,
)
from kb.types import ChunkInput, Location

# As in Markdown: sections packed together share their headings down to this level.
MERGE_LEVEL = 1


@dataclass(frozen=True)
class Section:
    """A document's text under one heading path, and where it lies in the file."""

    path: HeadingPath  # (level, title) from the top heading down; () before the first
    paragraphs: tuple[str, ...]  # its text, the heading itself excluded
    anchor: str  # what a link opens it at (a heading's id or slug, "page=3")
    start: int  # the first unit it covers (block, page), 1-based
    end: int  # the last
    opens: bool = True  # False: it goes on from the unit before (a section's next page)

    @property
    def names(self) -> list[str]:
        return [name for _, name in self.path]

    @property
    def key(self) -> HeadingPath:
        return tuple((level, name) for level, name in self.path if level <= MERGE_LEVEL)


def heading_label(run: Sequence[Section]) -> str:
    """`Title > Section` of the first section, `… Last` when several are packed."""
    first, last = run[0], run[-1]
    label = " > ".join(first.names) or "(introduction)"
    if len(run) > 1 and last.names != first.names:
        label += " … " + (last.names[-1] if last.names else "(introduction)")
    return label


def section_chunks(
    sections: Sequence[Section],
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    *,
    unit: str,
    label: Callable[[Sequence[Section]], str] = heading_label,
) -> list[ChunkInput]:
    """Chunks of `sections`; each location's detail names the units it spans
    ({unit: first, "end_" + unit: last}). A chunk of several sections keeps each one's place
    (`kb.types.Place`), labelled by `label([section])` and anchored at the section's anchor."""
    sections = [s for s in sections if any(p.strip() for p in s.paragraphs)]

    def texts_of(run: Sequence[Section], shared: HeadingPath) -> list[str]:
        """Each section's text in the run's body: its heading (below the shared ones) when it
        opens there, then its paragraphs."""
        texts: list[str] = []
        for section in run:
            parts: list[str] = []
            if section.opens and len(section.path) > len(shared):
                parts.append(section.names[-1])
            parts += [p for p in section.paragraphs if p.strip()]
            texts.append("\n\n".join(parts))
        return texts

    def body_of(run: Sequence[Section], shared: HeadingPath) -> str:
        return "\n\n".join(texts_of(run, shared))

    def render(run: Sequence[Section]) -> tuple[str, str]:
        shared = shared_path([s.path for s in run])
        below = dict.fromkeys(s.path[len(shared)][1] for s in run if len(s.path) > len(shared))
        names = [name for _, name in shared] + ([" · ".join(below)] if below else [])
        return " > ".join(names), body_of(run, shared)

    def location(run: Sequence[Section]) -> Location:
        detail = {unit: run[0].start, f"end_{unit}": run[-1].end}
        return Location(label(run), run[0].anchor, detail)

    def texts(run: Sequence[Section]) -> list[str]:
        return texts_of(run, shared_path([s.path for s in run]))

    return pack_sections(
        sections, render, location, lambda s: s.key, budget, count_tokens, texts=texts
    )
