"""Bytes to text: refuse binaries and non-UTF-8 with a reason, tolerate BOMs and CRLF."""

from __future__ import annotations

from ingest.errors import UnreadableFile


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without BOM), normalise line endings; refuse what is not text."""
    if not data.strip():
        raise UnreadableFile("the file is empty")
    if b"\x00" in data[:8192]:
        raise UnreadableFile("the file is binary (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"the file is not UTF-8 text (invalid byte at offset {exc.start}); re-save it as UTF-8"
        ) from exc
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise UnreadableFile("the file holds only white space")
    return text
