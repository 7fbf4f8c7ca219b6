"""Chunks that use the model's window: small neighbours under one heading path are packed
together, never across documents, and each chunk still opens at its exact place."""

from __future__ import annotations

from pathlib import Path

from ingest import ingest_paths
from ingest.chunking import estimate_tokens
from ingest.formats.markdown import parse_markdown
from ingest.formats.notebook import parse_notebook
from ingest.formats.transcript import parse_transcript
from ingest.pipeline import Defaults, build_document
from ingest.sources.files import Limits, SourceFile, discover
from kb import KnowledgeBase, SentenceTransformerEmbedder
from tests.conftest import SAMPLE
from tests.fakes import HashingEmbedder
from tests.helpers import code_cell, md_cell, notebook, write

SETUP = """# Adapters

Why adapters matter.

## Setup

### Install

Run pip install peft.

### Verify

Import it and print the version.

## Training

### Rank

Start with rank 8.
"""


def test_short_sections_under_one_heading_are_packed_and_open_at_the_first() -> None:
    (chunk,) = parse_markdown(SETUP, 200).chunks
    assert "Why adapters matter." in chunk.body and "Start with rank 8." in chunk.body
    assert "### Verify" in chunk.body  # each section's heading stays in the text
    assert chunk.heading == "Adapters > Setup · Training"  # shared path, then the parts
    assert chunk.location.label == "Adapters … Rank"
    assert chunk.location.anchor == "adapters"  # opens at its first section
    assert chunk.location.detail == {"line": 2, "end_line": 20}  # all the sections' lines


def test_a_run_opens_at_its_first_section_and_names_the_last() -> None:
    filler = "Adapters train a few million weights and leave the base model frozen. " * 14
    chunks = parse_markdown(SETUP.replace("Why adapters matter.", filler), 200).chunks
    setup = next(c for c in chunks if "Install" in c.body)
    assert "Run pip install peft." in setup.body and "Verify" in setup.body
    assert setup.heading.startswith("Adapters > Setup")
    assert setup.location.label.startswith("Adapters > Setup > Install … ")
    assert setup.location.anchor == "install"
    assert setup.location.detail["line"] == 8
    assert "Adapters train" not in setup.body  # the long introduction stands alone


def test_sections_of_two_documents_h1s_are_never_packed_together() -> None:
    text = "# Adapters\n\nRank 8.\n\n# Quantisation\n\nUse int8.\n"
    chunks = parse_markdown(text, 200).chunks
    assert [c.location.label for c in chunks] == ["Adapters", "Quantisation"]


def test_a_single_section_keeps_its_own_label_and_anchor() -> None:
    (chunk,) = parse_markdown("# Adapters\n\n## Setup\n\nRun pip install peft.\n", 200).chunks
    assert (chunk.heading, chunk.location.label) == ("Adapters > Setup", "Adapters > Setup")
    assert chunk.location.anchor == "setup"
    assert chunk.body == "Run pip install peft."


def test_a_long_section_is_still_split_and_not_merged_with_its_neighbours() -> None:
    paragraph = "Gradient clipping keeps updates bounded when losses spike. " * 12
    text = (
        "# Training\n\n## Stability\n\n### Clipping\n\n"
        + "\n\n".join([paragraph] * 6)
        + "\n\n### Warm-up\n\nRamp the learning rate over 500 steps.\n"
    )
    chunks = parse_markdown(text, 200).chunks
    clipping = [c for c in chunks if c.location.label == "Training > Stability > Clipping"]
    assert len(clipping) > 2
    assert all(estimate_tokens(c.heading + "\n" + c.body) <= 200 for c in chunks)
    assert all("Warm-up" not in c.body for c in clipping)
    assert chunks[-1].location.label == "Training > Stability > Warm-up"


def test_a_run_of_cells_gives_its_full_cell_range() -> None:
    cells = [
        md_cell("# Baseline\n\nA TF-IDF baseline."),
        code_cell("vectorizer = TfidfVectorizer()"),
        code_cell("model.fit(X, y)"),
        md_cell("## Results"),
        code_cell("print(f1)", [{"output_type": "stream", "name": "stdout", "text": "0.84"}]),
        code_cell("x = 1\n" * 400),  # too long for the budget: split, and alone
        code_cell("print('done')"),
    ]
    chunks = parse_notebook(notebook(cells), 200).chunks
    first = chunks[0]
    assert first.location.label == "cells 1-5"
    assert first.location.anchor == "cell-1"
    assert first.location.detail == {"cell": 1, "end_cell": 5}
    assert first.heading == "Baseline"  # the heading path the cells share
    assert "TfidfVectorizer" in first.body and "## Results" in first.body and "0.84" in first.body
    long = [c for c in chunks if c.location.label == "cell 6"]
    assert len(long) > 1
    assert chunks[-1].location.label == "cell 7"


VTT = """WEBVTT

00:00:01.000 --> 00:00:30.000
Priya Raman: Welcome, today we look at skewed labels.

00:00:30.000 --> 00:01:05.000
Tom Okafor: Should we resample the minority?

00:01:05.000 --> 00:01:40.000
Priya Raman: Class weights are cheaper.

00:01:40.000 --> 00:02:20.000
Priya Raman: And threshold tuning is cheaper still.
"""


def test_short_transcript_windows_are_packed_into_one_time_range() -> None:
    chunks = parse_transcript(VTT, 200, "vtt").chunks
    assert len(chunks) == 1  # three one-minute windows, short enough for one chunk
    chunk = chunks[0]
    assert chunk.location.label == "00:00:01-00:02:20"
    assert chunk.location.anchor == "t=1"
    detail = chunk.location.detail
    assert (detail["start"], detail["end"]) == (1.0, 140.0)
    assert detail["speakers"] == ["Priya Raman", "Tom Okafor"]
    # One line per turn, each stamped with when it begins (the document view shows them).
    assert chunk.body.split("\n") == [
        "Priya Raman: Welcome, today we look at skewed labels.",
        "Tom Okafor: Should we resample the minority?",
        "Priya Raman: Class weights are cheaper. And threshold tuning is cheaper still.",
    ]
    assert detail["line_starts"] == [1.0, 30.0, 65.0]


def test_windows_are_packed_only_up_to_the_budget() -> None:
    long_vtt = "WEBVTT\n\n" + "".join(
        f"00:{m:02d}:00.000 --> 00:{m:02d}:50.000\nAna Ruiz: "
        + "Monitoring drift needs a baseline window. " * 6
        + "\n\n"
        for m in range(10)
    )
    chunks = parse_transcript(long_vtt, 200, "vtt").chunks
    assert 1 < len(chunks) < 10
    ends = [c.location.detail["end"] for c in chunks]
    starts = [c.location.detail["start"] for c in chunks]
    assert starts[1:] == [e + 10.0 for e in ends[:-1]]  # consecutive, nothing lost
    assert all(estimate_tokens(c.body) <= 200 for c in chunks)


def test_chunks_never_span_two_documents(kb: KnowledgeBase, tmp_path: Path) -> None:
    write(tmp_path / "c" / "a.md", "# Drift\n\nAlpha drift notes.\n")
    write(tmp_path / "c" / "b.md", "# Lora\n\nBeta lora notes.\n")
    report = ingest_paths(kb, [tmp_path / "c"])
    assert report.chunks == 2
    for doc in kb.list_documents():
        texts = " ".join(c.body for c in kb.get_chunks(doc.doc_id))
        assert ("Alpha" in texts) != ("Beta" in texts)


def test_ingest_counts_with_the_embedders_tokenizer(kb: KnowledgeBase, tmp_path: Path) -> None:
    counted: list[str] = []

    def count(text: str) -> int:
        counted.append(text)
        return estimate_tokens(text) + 2

    write(tmp_path / "c" / "a.md", SETUP)
    ingest_paths(kb, [tmp_path / "c"], count_tokens=count)
    assert counted  # the given counter, not the estimate, sized the chunks


def test_no_chunk_exceeds_the_models_window_by_its_own_tokenizer(
    embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    write(
        tmp_path / "zh" / "zh.md", "# 优化\n\n## 动量\n\n" + "梯度下降在狭窄的山谷中来回振荡。" * 80
    )
    write(tmp_path / "zh" / "long.md", "# Notes\n\n" + "https://example.com/" + "a" * 3000)
    window = embedder.max_tokens
    files = list(discover([SAMPLE, tmp_path / "zh"], Limits(), None))
    sources = [f for f in files if isinstance(f, SourceFile)]
    assert len(sources) > 40
    for file in sources:
        data, sidecar = file.read(), file.read_sidecar()
        doc = build_document(file, data, sidecar, "x", Defaults(), 256, embedder.count_tokens)
        for chunk in doc.chunks:
            assert embedder.count_tokens(chunk.embedding_text) <= window, (file.source, chunk)


def test_the_document_api_returns_packed_chunks_with_usable_places(
    fake_embedder: HashingEmbedder, tmp_path: Path
) -> None:
    from tests.api_helpers import auth, ingest, running_client

    files = {
        "adapters.md": SETUP,
        "session.vtt": VTT,
        "baseline.ipynb": notebook(
            [md_cell("# Baseline"), code_cell("fit()"), code_cell("score()")]
        ),
    }
    with running_client(tmp_path, fake_embedder) as client:
        job = ingest(client, files)
        assert job["state"] == "done", job
        listed = client.get("/documents", headers=auth("admin")).json()["documents"]
        by_source = {d["source"]: d["doc_id"] for d in listed}
        views = {
            source: client.get(f"/documents/{doc_id}", headers=auth("admin")).json()["chunks"]
            for source, doc_id in by_source.items()
        }
    (setup,) = views["adapters.md"]
    assert (setup["anchor"], setup["location"]) == ("adapters", "Adapters … Rank")
    assert setup["detail"] == {"line": 2, "end_line": 20}
    (session,) = views["session.vtt"]
    assert (session["detail"]["start"], session["detail"]["end"]) == (1.0, 140.0)
    assert len(session["detail"]["line_starts"]) == len(session["text"].split("\n"))
    (cells,) = views["baseline.ipynb"]
    assert (cells["location"], cells["anchor"]) == ("cells 1-3", "cell-1")
    assert cells["detail"] == {"cell": 1, "end_cell": 3}
