"""Plain text (.txt): optional `---` YAML front matter, then paragraphs packed into chunks."""

from __future__ import annotations

import re

from ingest.chunking import pack
from ingest.metadata import parse_yaml_mapping
from ingest.parsed import Parsed
from kb.types import ChunkInput, Location

_FRONT = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def parse_plaintext(text: str, budget: int) -> Parsed:
    meta: dict[str, object] = {}
    offset_lines = 0
    front = _FRONT.match(text)
    if front:
        meta = parse_yaml_mapping(front.group(1), "the front matter")
        offset_lines = front.group(0).count("\n")
        text = text[front.end() :]
    # Keep each paragraph's first line number, so a chunk can point at "lines 12-30".
    paragraphs: list[tuple[int, str]] = []
    line = offset_lines + 1
    for block in re.split(r"(\n\s*\n)", text):
        if block.strip() and not re.fullmatch(r"\n\s*\n", block):
            paragraphs.append((line + len(block) - len(block.lstrip("\n")), block.strip()))
        line += block.count("\n")
    chunks: list[ChunkInput] = []
    starts = {body: start for start, body in paragraphs}
    for piece in pack([body for _, body in paragraphs], budget):
        first = piece.split("\n\n", 1)[0]
        start = starts.get(first, offset_lines + 1)
        end = start + piece.count("\n")
        label = f"lines {start}-{end}"
        chunks.append(ChunkInput("", piece, Location(label, f"line-{start}", {"line": start})))
    return Parsed("text", chunks, meta, None)
