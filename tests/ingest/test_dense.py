"""What the dense side embeds of a chunk (ingest.dense, notebook outputs): every word is in the
lexical index, the encoder gets only the text that carries meaning for it."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest.dense as dense_rules
import ingest.formats.notebook as notebook_format
from ingest import ingest_paths
from ingest.formats.notebook import parse_notebook
from kb import ChunkInput, KnowledgeBase, Location
from tests.helpers import code_cell, md_cell, notebook, write

STREAM = "output_type"


def stdout(text: str) -> list[dict[str, str]]:
    return [{STREAM: "stream", "name": "stdout", "text": text}]


def test_a_code_cells_outputs_are_indexed_for_their_words_and_not_embedded() -> None:
    cells = [
        md_cell("# Tuning"),
        code_cell("search.fit(X, y)", stdout("best alpha 0.0421 after 12 folds")),
        md_cell("The grid search settles on a small alpha."),
    ]
    (chunk,) = parse_notebook(notebook(cells), 256).chunks
    assert "best alpha 0.0421" in chunk.body
    assert chunk.dense_text is not None
    assert "search.fit(X, y)" in chunk.dense_text and "0.0421" not in chunk.dense_text
    assert "settles on a small alpha" in chunk.dense_text


def test_a_chunk_of_outputs_alone_is_found_by_its_words_only() -> None:
    long_output = "\n".join(f"epoch {i} loss {1 / (i + 1):.4f}" for i in range(40))
    cells = [code_cell("", stdout(long_output))]
    chunks = parse_notebook(notebook(cells), 64).chunks
    assert len(chunks) > 1
    assert all(chunk.dense_text is None for chunk in chunks)


def test_outputs_are_embedded_when_the_rule_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_format, "EMBED_OUTPUTS", True)
    cells = [code_cell("search.fit(X, y)", stdout("best alpha 0.0421"))]
    (chunk,) = parse_notebook(notebook(cells), 256).chunks
    assert chunk.dense_body is None and chunk.dense_text is not None
    assert "0.0421" in chunk.dense_text


@pytest.mark.parametrize("embed_code", [True, False])
def test_fenced_code_is_left_to_the_words_when_the_rule_says_so(
    monkeypatch: pytest.MonkeyPatch, embed_code: bool
) -> None:
    monkeypatch.setattr(dense_rules, "EMBED_CODE", embed_code)
    body = "Load the adapter first.\n\n```python\nmodel.load_adapter('lora')\n```\n\nThen merge it."
    mixed = ChunkInput("Adapters", body, Location("Adapters", ""))
    only_code = ChunkInput("Adapters", "~~~\nmerge()\n~~~", Location("Adapters", ""))
    if embed_code:
        assert dense_rules.dense_body(mixed) is None
        assert dense_rules.dense_body(only_code) is None
    else:
        assert dense_rules.dense_body(mixed) == "Load the adapter first.\n\nThen merge it."
        assert dense_rules.dense_body(only_code) == ""


def test_an_ingested_notebooks_outputs_are_found_by_lexical_search(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    cells = [
        md_cell("# Serving latency"),
        code_cell("measure(model)", stdout("p95 latency quokkaseconds 41")),
    ]
    write(tmp_path / "nb" / "latency.ipynb", notebook(cells))
    report = ingest_paths(kb, [tmp_path / "nb"])
    assert report.failed == [] and report.pending_embeddings == 0
    hits = kb.search("quokkaseconds", mode="lexical")
    assert [hit.source for hit in hits] == ["latency.ipynb"]
    assert "<mark>quokkaseconds</mark>" in hits[0].snippet
