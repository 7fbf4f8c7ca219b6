"""Which parser reads which file: by extension, after the bytes are known to be text."""

from __future__ import annotations

from collections.abc import Callable

from ingest.chunking import TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.markdown import parse_markdown
from ingest.notebook import parse_notebook
from ingest.parsed import Parsed
from ingest.plaintext import parse_plaintext
from ingest.text import decode_text
from ingest.transcript import parse_transcript

# Each parser takes the text, the budget of a chunk in tokens, and the counter of tokens.
PARSERS: dict[str, Callable[[str, int, TokenCounter], Parsed]] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".ipynb": parse_notebook,
    ".vtt": lambda text, budget, count: parse_transcript(text, budget, "vtt", count),
    ".srt": lambda text, budget, count: parse_transcript(text, budget, "srt", count),
    ".txt": parse_plaintext,
}
SUPPORTED = tuple(PARSERS)


def parse_bytes(
    data: bytes, suffix: str, budget: int, count_tokens: TokenCounter = estimate_tokens
) -> Parsed:
    parser = PARSERS.get(suffix.lower())
    if parser is None:
        raise UnreadableFile(
            f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
        )
    parsed = parser(decode_text(data), budget, count_tokens)
    if not parsed.chunks:
        raise UnreadableFile("no text to index was found in the file")
    return parsed
