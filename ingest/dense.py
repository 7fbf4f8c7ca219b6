"""What the dense side embeds of a chunk: every word is indexed for lexical search, but the
encoder (which bounds an ingest) is given only the text that carries meaning for it.

Formats say what is not prose where they know it (a notebook cell's outputs: see
`ingest.formats.notebook.EMBED_OUTPUTS`); here, for every format, fenced code blocks can be
left to BM25 (`EMBED_CODE`), which finds identifiers better than a sentence encoder does. Both
choices were made on labelled queries by bench/dense_text.py (docs/benchmarks.md).
"""

from __future__ import annotations

import re

from kb import ChunkInput

# Whether fenced code blocks are embedded with the prose around them.
EMBED_CODE = True
# A fenced block: ``` or ~~~ at a line's start, to the same fence or the end of the chunk
# (a block cut by the chunk's end).
FENCED = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)


def dense_body(chunk: ChunkInput) -> str | None:
    """The chunk's `dense_body` under these rules: None to embed its body as it is, "" for
    none (nothing but code: found by its words only), else the text to embed."""
    if EMBED_CODE or chunk.dense_body == "":
        return chunk.dense_body
    body = chunk.body if chunk.dense_body is None else chunk.dense_body
    prose = FENCED.sub("", body)
    if prose == body:
        return chunk.dense_body
    return re.sub(r"\n{3,}", "\n\n", prose).strip()


__all__ = ["EMBED_CODE", "dense_body"]
