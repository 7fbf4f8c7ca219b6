"""Plain text (.txt): optional `---` YAML front matter, then paragraphs packed into chunks."""

from __future__ import annotations

import re

from ingest.chunking import TokenCounter, estimate_tokens, pack, piece_cost
from ingest.formats.parsed import Parsed
from ingest.metadata import parse_yaml_mapping
from kb.types import ChunkInput, Location

FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def parse_plaintext(text: str, budget: int, count_tokens: TokenCounter = estimate_tokens) -> Parsed:
    """A plain text file's decoded `text` to chunks of at most `budget` tokens by
    `count_tokens`: its paragraphs (split on blank lines) packed in order, a paragraph too
    long for the budget split by sentences, lines, words, then characters.

    Returns `Parsed` of type "text": `meta` is the `---` front matter (keys lower-cased), no
    title, no properties, no `rechunk`. Chunks have no heading; a chunk's `Location` is
    `lines 12-30`, anchor `line-12`, detail {"line"}: its first paragraph's line in the file
    (front matter counted), the end that plus the chunk's own line breaks. The pieces of a
    split paragraph are all placed at the first line after the front matter.
    Chunks are the same for the same text, budget and counter.

    Raises `UnreadableFile`, the reason the batch reports as it skips the file and goes on, only
    when the front matter is not a YAML mapping; a file of front matter alone gives no chunks
    (`parse_bytes` refuses it).
    """
    meta: dict[str, object] = {}
    offset_lines = 0
    front = FRONT_MATTER.match(text)
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
    room = budget - count_tokens("")
    for piece in pack([body for _, body in paragraphs], room, cost=piece_cost(count_tokens)):
        first = piece.split("\n\n", 1)[0]
        start = starts.get(first, offset_lines + 1)
        end = start + piece.count("\n")
        label = f"lines {start}-{end}"
        chunks.append(ChunkInput("", piece, Location(label, f"line-{start}", {"line": start})))
    return Parsed("text", chunks, meta, None)
