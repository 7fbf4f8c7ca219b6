"""A web page's text is kept at any depth: libxml2 stops reading at 256 nested elements and
dropped everything after that point without a word; the page is now read with its depth
capped instead, and one that still cannot be read whole is refused with the reason."""

from __future__ import annotations

import pytest

from ingest.errors import UnreadableFile
from ingest.formats import webpage
from ingest.formats.webpage import MAX_DEPTH, flattened, parse_html


def deep_page(depth: int) -> str:
    return (
        "<!DOCTYPE html><html><head><title>Deep page</title></head><body>"
        "<h1>Nesting</h1><p>Before the nest.</p>"
        + "<div class='x'>" * depth
        + "<p>Words at the bottom &amp; below.</p><script>var hidden = 1;</script>"
        + "</div>" * depth
        + "<h2>After</h2><p>After the nest.</p></body></html>"
    )


def test_text_under_200000_nested_divs_is_kept() -> None:
    """2 MB of <div>s nested 200,000 deep: the words at the bottom and those after the nest
    are all stored (they were silently dropped), the headings still cut sections, and the
    script at that depth is still not read as text (no "hidden" in the body above)."""
    page = deep_page(200_000)
    assert len(page) > 2_000_000
    parsed = parse_html(page.encode(), 200)
    assert [chunk.body for chunk in parsed.chunks] == [
        "Before the nest.\n\nWords at the bottom & below.\n\nAfter\n\nAfter the nest."
    ]  # the two sections packed into one chunk, "After" as its sub-heading
    assert parsed.chunks[0].location.detail == {"block": 1, "end_block": 5}


def test_a_page_within_the_parsers_depth_is_read_as_it_always_was() -> None:
    """Capping the depth is only the fallback: a page libxml2 reads whole is not touched."""
    assert parse_html(deep_page(100).encode(), 200).chunks[0].body == (
        "Before the nest.\n\nWords at the bottom & below.\n\nAfter\n\nAfter the nest."
    )


def test_flattening_keeps_every_word_and_caps_the_depth() -> None:
    """Tags deeper than MAX_DEPTH go, a space in their place; text and escapes stay."""
    page = "<body>" + "<div>" * (MAX_DEPTH + 5) + "a<b>b</b>c&lt;" + "</div>" * (MAX_DEPTH + 5)
    flat = flattened(page)
    assert flat.count("<div>") == MAX_DEPTH - 1
    assert "a b c&lt;" in flat


def test_a_page_the_parser_cannot_finish_even_flattened_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never stored incomplete: if the capped page still stops the parser, the file is
    refused with the reason and what to do."""
    monkeypatch.setattr(webpage, "flattened", lambda text: text)
    with pytest.raises(UnreadableFile, match="stopped before the end of the page"):
        parse_html(deep_page(300).encode(), 200)
