"""Every link lands on its own place: a chunk packed from small pieces (PDF pages, chat
messages, transcript cues, notebook cells, heading sections) keeps where each piece begins,
and a hit points at the piece that matches the query, not at the chunk's first, on SQLite.

Each test writes one small real file whose pieces all fit one chunk, searches for words
that only a later piece holds, and reads the hit's location and anchor (the piece's) and its
chunk_location (the whole chunk's range)."""

from __future__ import annotations

import io
from pathlib import Path

from ingest import ingest_paths
from kb import Hit, KnowledgeBase
from tests.helpers import md_cell, notebook, write


def only_hit(kb: KnowledgeBase, folder: Path, query: str) -> Hit:
    report = ingest_paths(kb, [folder])
    assert not report.failed, report.failed
    hits = kb.search(query, k=1)
    assert hits, f"nothing found for {query!r}"
    return hits[0]


def test_a_pdf_hit_points_at_the_page_of_the_matching_sentence(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", "", 11)
    for text in (
        "Release checklist. Freeze the branch and tag the build.",
        "Roll back by pointing the router at the previous canary weights.",
        "Write the incident note for the weekly review.",
    ):
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "release.pdf").write_bytes(bytes(pdf.output()))

    hit = only_hit(kb, tmp_path / "docs", "router previous canary weights")
    assert hit.chunk_location == "pages 1-3"  # the three pages are one chunk...
    assert (hit.location, hit.anchor) == ("page 2", "page=2")  # ...and the match is on page 2


def test_a_chat_hit_points_at_the_message_forty_minutes_in(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    write(
        tmp_path / "docs" / "session-chat.txt",
        "00:01:10 From Mei Lin to Everyone: welcome, the slides are in the shared folder\n"
        "00:12:45 From Tom Baker to Everyone: can we get the recording later?\n"
        "00:40:02 From Ana Ruiz to Everyone: the eval harness flags label leakage in fold three\n",
    )
    hit = only_hit(kb, tmp_path / "docs", "label leakage fold")
    assert hit.chunk_location == "00:01:10-00:40:02"
    assert (hit.location, hit.anchor) == ("00:40:02", "t=2402")


def test_a_transcript_hit_points_at_its_cue(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(
        tmp_path / "docs" / "lecture.vtt",
        "WEBVTT\n\n"
        "00:00:05.000 --> 00:00:09.000\nMei Lin: Today we look at embeddings.\n\n"
        "00:01:30.000 --> 00:01:34.000\nMei Lin: First the tokenizer and its vocabulary.\n\n"
        "00:03:20.000 --> 00:03:26.000\nTom Baker: How does quantization change recall?\n",
    )
    hit = only_hit(kb, tmp_path / "docs", "quantization recall")
    assert hit.chunk_location == "00:00:05-00:03:26"
    assert (hit.location, hit.anchor) == ("00:03:20-00:03:26", "t=200")


def test_a_notebook_hit_points_at_its_cell(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(
        tmp_path / "docs" / "tuning.ipynb",
        notebook(
            [
                md_cell("# Fine-tuning\n\nWe adapt a small model."),
                md_cell("Load the dataset and split it."),
                md_cell("Set lora_alpha to twice the rank for stable gradients."),
                md_cell("Evaluate on the held-out split."),
            ]
        ),
    )
    hit = only_hit(kb, tmp_path / "docs", "lora_alpha stable gradients")
    assert hit.chunk_location == "cells 1-4"
    assert (hit.location, hit.anchor) == ("cell 3", "cell-3")


def test_a_markdown_hit_points_at_its_section(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(
        tmp_path / "docs" / "serving.md",
        "# Serving\n\nHow we serve models.\n\n"
        "## Batching\n\nRequests are grouped every ten milliseconds.\n\n"
        "## Autoscaling\n\nReplicas follow the queue depth of the GPU workers.\n",
    )
    hit = only_hit(kb, tmp_path / "docs", "queue depth replicas")
    assert hit.chunk_location == "Serving … Autoscaling"
    assert (hit.location, hit.anchor) == ("Serving > Autoscaling", "autoscaling")


def test_a_word_hit_points_at_its_heading(kb: KnowledgeBase, tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_heading("Workshop summary", level=1)
    document.add_paragraph("Twelve people from three teams came.")
    document.add_heading("Decisions", level=2)
    document.add_paragraph("We keep the feature store in one region.")
    document.add_heading("向量召回", level=2)
    document.add_paragraph("召回率在量化之后下降了两个百分点。")
    buffer = io.BytesIO()
    document.save(buffer)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "summary.docx").write_bytes(buffer.getvalue())

    hit = only_hit(kb, tmp_path / "docs", "量化 召回率")
    assert hit.chunk_location == "Workshop summary … 向量召回"
    assert (hit.location, hit.anchor) == ("Workshop summary > 向量召回", "向量召回")


def test_a_web_page_hit_points_at_its_heading_id(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(
        tmp_path / "docs" / "runbook.html",
        "<html><head><title>GPU runbook</title></head><body><main>"
        "<h1 id='gpu'>GPU runbook</h1><p>What to do when a training job fails.</p>"
        "<h2 id='oom'>Out of memory</h2><p>Halve the batch size and enable checkpointing.</p>"
        "<h2 id='nccl'>NCCL timeouts</h2><p>Check the interconnect and raise the timeout.</p>"
        "</main></body></html>",
    )
    hit = only_hit(kb, tmp_path / "docs", "interconnect timeout")
    assert hit.chunk_location == "GPU runbook … NCCL timeouts"
    assert (hit.location, hit.anchor) == ("GPU runbook > NCCL timeouts", "nccl")


def test_a_slide_hit_points_at_its_slide(kb: KnowledgeBase, tmp_path: Path) -> None:
    from pptx import Presentation

    deck = Presentation()
    for title, text in (
        ("Threats", "Prompt injection through retrieved pages."),
        ("Defences", "An allow-list of tools and a refund cap."),
    ):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = text
    buffer = io.BytesIO()
    deck.save(buffer)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guardrails.pptx").write_bytes(buffer.getvalue())

    hit = only_hit(kb, tmp_path / "docs", "allow-list refund cap")
    assert (hit.location, hit.anchor) == ("slide 2 · Defences", "slide-2")  # a chunk a slide
    assert hit.chunk_location == hit.location


def test_a_chunk_split_again_by_the_pipeline_keeps_its_pieces_places() -> None:
    """The pipeline's safety net (a chunk over the model's window cut on its paragraphs):
    each part keeps the place it starts in, at 0, and the places that begin inside it."""
    from ingest.chunking import find_places, split_places
    from kb.types import Location

    one, two, three = (Location(f"page {n}", f"page={n}") for n in (1, 2, 3))
    texts = ["Freeze the branch.", "Tag the build.", "Roll back the canary."]
    body = "\n\n".join(texts)
    places = find_places(body, list(zip(texts, (one, two, three), strict=True)))
    assert [p.start for p in places] == [0, body.index("Tag"), body.index("Roll")]

    parts = ["Freeze the branch.\n\nTag the", "build.\n\nRoll back the canary."]
    first, second = split_places(body, parts, places)
    assert [(p.start, p.location) for p in first] == [(0, one), (parts[0].index("Tag"), two)]
    assert [(p.start, p.location) for p in second] == [(0, two), (parts[1].index("Roll"), three)]
