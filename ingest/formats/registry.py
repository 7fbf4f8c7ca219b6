"""Which parser reads which file, by extension.

Text formats get the file's text, decoded once here (UTF-8, refused with a reason when it is
binary or another encoding); binary formats get its bytes and read them with their library,
within the file's `ReadLimits`. HTML is read from bytes too: a page declares its own
encoding.

A new format: a module in `ingest/formats/` with a `parse_<format>` of the same shape as
`TextParser` or `BinaryParser` below, plus one row for each of its suffixes in the table.
"""

from __future__ import annotations

from collections.abc import Callable

from ingest.chunking import TokenCounter, estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.chat import parse_text_file
from ingest.formats.markdown import parse_markdown
from ingest.formats.notebook import parse_notebook
from ingest.formats.parsed import Parsed
from ingest.formats.pdf import parse_pdf
from ingest.formats.slides import parse_pptx
from ingest.formats.text import decode_text
from ingest.formats.transcript import parse_transcript
from ingest.formats.webpage import parse_html
from ingest.formats.word import parse_docx
from ingest.reading import ReadLimits

# A text parser takes the text, the budget of a chunk in tokens, and the counter of tokens.
TextParser = Callable[[str, int, TokenCounter], Parsed]
# A binary parser takes the bytes, the budget, the counter and the limits of reading a file.
BinaryParser = Callable[[bytes, int, TokenCounter, ReadLimits], Parsed]

TEXT_PARSERS: dict[str, TextParser] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".ipynb": parse_notebook,
    ".vtt": lambda text, budget, count: parse_transcript(text, budget, "vtt", count),
    ".srt": lambda text, budget, count: parse_transcript(text, budget, "srt", count),
    ".txt": parse_text_file,  # plain text, or a Zoom chat log by its shape
}
BINARY_PARSERS: dict[str, BinaryParser] = {
    ".pptx": parse_pptx,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".html": parse_html,
    ".htm": parse_html,
}
SUPPORTED = (*TEXT_PARSERS, *BINARY_PARSERS)


def parse_bytes(
    data: bytes,
    suffix: str,
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    limits: ReadLimits | None = None,
) -> Parsed:
    """Parse one file's `data` by its `suffix` (any case, with the dot: ".md").

    A binary format's parser gets the bytes and `limits` (`ReadLimits()` when None); a text
    format's gets them decoded by `decode_text`. The parsers cut each chunk's heading and body
    to fit `budget` tokens as `count_tokens` counts them (each says where it cannot), and the
    same bytes, budget and counter give the same chunks.

    Raises `UnreadableFile`, which the batch reports as that file's failure and goes on: for
    an empty file, a suffix with no parser (the message lists `SUPPORTED`), text that is
    binary or not UTF-8, whatever the format's parser refuses, and a file that yields no
    chunks. Any other exception is a parser's bug; the pipeline reports it for that file too.
    """
    suffix = suffix.lower()
    binary = BINARY_PARSERS.get(suffix)
    text = TEXT_PARSERS.get(suffix)
    if binary is not None:
        if not data.strip():
            raise UnreadableFile("the file is empty")
        parsed = binary(data, budget, count_tokens, limits or ReadLimits())
    elif text is not None:
        parsed = text(decode_text(data), budget, count_tokens)
    else:
        raise UnreadableFile(
            f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}"
        )
    if not parsed.chunks:
        raise UnreadableFile("no text to index was found in the file")
    return parsed
