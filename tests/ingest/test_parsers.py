"""Each format is chunked along its own structure and keeps a link back to the exact place."""

from __future__ import annotations

import pytest

from ingest.chunking import estimate_tokens
from ingest.errors import UnreadableFile
from ingest.formats.markdown import parse_markdown
from ingest.formats.notebook import parse_notebook
from ingest.formats.plaintext import parse_plaintext
from ingest.formats.registry import parse_bytes
from ingest.formats.transcript import parse_transcript
from tests.conftest import FIXTURES
from tests.helpers import code_cell, markdown_doc, md_cell, notebook

REAL = FIXTURES / "real"


def test_markdown_sections_keep_heading_path_and_front_matter() -> None:
    text = markdown_doc(
        "Cleaning review text",
        {"Why clean": "Reviews are noisy.", "Emoji": "Map emoji to words."},
        team="nlp",
        skills=["text-preprocessing", "data-cleaning"],
        date="2026-03-14",
    )
    text += "\n### Skin tones\n\nStrip the modifiers.\n"
    parsed = parse_markdown(text, 200)
    assert parsed.meta["team"] == "nlp"
    assert parsed.meta["skills"] == ["text-preprocessing", "data-cleaning"]
    assert parsed.title == "Cleaning review text"
    # Short sections are packed into one chunk (tests/ingest/test_packing.py): it opens at the first
    # section, names the first and last, and keeps each section's heading in its text.
    (chunk,) = parsed.chunks
    assert chunk.location.label == "Cleaning review text > Why clean … Skin tones"
    assert chunk.location.anchor == "why-clean"
    assert chunk.heading == "Cleaning review text > Why clean · Emoji"
    assert "## Emoji" in chunk.body and "### Skin tones" in chunk.body
    assert chunk.body.endswith("Strip the modifiers.")


def test_long_markdown_section_is_split_to_fit_the_window() -> None:
    paragraph = "Gradient clipping keeps updates bounded when losses spike. " * 12
    text = "# Training\n\n## Stability\n\n" + "\n\n".join([paragraph] * 8)
    parsed = parse_markdown(text, 200)
    assert len(parsed.chunks) > 3
    for chunk in parsed.chunks:
        assert chunk.location.label == "Training > Stability"
        assert estimate_tokens(chunk.body) <= 200


def test_markdown_with_broken_front_matter_names_the_fault() -> None:
    with pytest.raises(UnreadableFile, match="front matter is not valid YAML"):
        parse_markdown("---\ntitle: [unclosed\n---\n# Hi\n\ntext\n", 200)


def test_real_d2l_markdown_drops_book_markup() -> None:
    parsed = parse_bytes((REAL / "read-write.md").read_bytes(), ".md", 200)
    assert parsed.title == "File I/O"
    text = "\n".join(c.body for c in parsed.chunks)
    assert ":label:" not in text and "%%tab" not in text
    assert any("Loading and Saving Tensors" in c.location.label for c in parsed.chunks)


def test_notebook_keeps_text_outputs_and_drops_images() -> None:
    cells = [
        md_cell("# TF-IDF baseline"),
        code_cell(
            "print('hello')", [{"output_type": "stream", "name": "stdout", "text": "x" * 5000}]
        ),
        code_cell(
            "plot()",
            [{"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo" * 500}}],
        ),
        md_cell("## Results\n\nF1 went from 0.71 to 0.84."),
    ]
    parsed = parse_notebook(notebook(cells, team="nlp", title="TF-IDF notebook"), 200)
    assert parsed.meta["team"] == "nlp"
    text = "\n".join(c.body for c in parsed.chunks)
    assert "iVBORw0KGgo" not in text
    assert "output truncated" in text
    assert len(text) < 2000
    # The four short cells are packed into one chunk (tests/ingest/test_packing.py).
    assert parsed.chunks[-1].location.label == "cells 1-4"
    assert parsed.chunks[-1].location.anchor == "cell-1"
    assert parsed.chunks[-1].heading == "TF-IDF baseline"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"cells": [', "invalid JSON at line 1"),
        ('{"nbformat": 4}', "no list of cells"),
        ("[1, 2]", "not an object"),
    ],
)
def test_broken_notebooks_are_refused_with_a_reason(content: str, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        parse_notebook(content, 200)


def test_real_notebook_has_cell_ranges_and_no_base64() -> None:
    parsed = parse_bytes((REAL / "extra_ann_architectures.ipynb").read_bytes(), ".ipynb", 200)
    assert parsed.chunks
    assert all(c.location.label.startswith("cell") for c in parsed.chunks)
    assert not any("iVBOR" in c.body for c in parsed.chunks)


ZOOM_VTT = """WEBVTT

NOTE
title: Live session - class imbalance
team: nlp
skills: [model-evaluation]

1
00:00:01.000 --> 00:00:20.000
Priya Raman: Welcome everyone, today we look at skewed labels.

2
00:00:20.000 --> 00:00:45.000
Priya Raman: Most reviews are positive,

3
00:00:45.000 --> 00:01:05.000
Tom Okafor: Should we just resample the minority?

4
00:01:05.000 --> 00:01:30.000
Priya Raman: Resampling works, class weights are cheaper.

5
00:01:30.000 --> 00:01:31.000
(air whooshing)
"""


def test_zoom_vtt_keeps_speakers_times_and_note_metadata() -> None:
    parsed = parse_transcript(ZOOM_VTT, 200, "vtt")
    assert parsed.meta["title"] == "Live session - class imbalance"
    assert parsed.meta["skills"] == ["model-evaluation"]
    # Two short one-minute windows, packed into one chunk (tests/ingest/test_packing.py).
    assert [c.location.label for c in parsed.chunks] == ["00:00:01-00:01:30"]
    first = parsed.chunks[0]
    assert first.location.detail["speakers"] == ["Priya Raman", "Tom Okafor"]
    assert first.location.anchor == "t=1"
    assert first.location.detail["line_starts"] == [1.0, 45.0, 65.0]  # Priya, Tom, Priya
    assert first.body.startswith("Priya Raman: Welcome everyone")
    assert "Tom Okafor: Should we" in first.body
    assert "whooshing" not in "".join(c.body for c in parsed.chunks)


def test_real_srt_with_bom_and_crlf() -> None:
    data = (REAL / "39_memory-mapping-&-streaming.srt").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    parsed = parse_bytes(data, ".srt", 200)
    assert len(parsed.chunks) >= 2
    assert parsed.chunks[0].location.label.startswith("00:00:0")
    for chunk in parsed.chunks:
        detail = chunk.location.detail
        assert detail["end"] - detail["start"] <= 75  # about a minute per window
    assert "whooshing" not in " ".join(c.body for c in parsed.chunks)


def test_plain_text_with_front_matter_points_at_lines() -> None:
    parsed = parse_plaintext("---\nteam: mlops\n---\nFirst para.\n\nSecond para.\n", 200)
    assert parsed.meta == {"team": "mlops"}
    assert parsed.chunks[0].location.label == "lines 4-6"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary"),
        ("café".encode("latin-1"), "not UTF-8"),
    ],
)
def test_unreadable_bytes_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableFile, match=reason):
        parse_bytes(data, ".md", 200)
