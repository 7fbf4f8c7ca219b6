"""Ingestion is incremental, idempotent, and never loses what is stored to a bad file."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import asdict
from pathlib import Path

from ingest import Limits, ingest_paths
from kb import KnowledgeBase, SearchFilters
from tests.conftest import FIXTURES
from tests.helpers import markdown_doc, write


def small_corpus(folder: Path) -> Path:
    write(
        folder / "nlp" / "cleaning.md",
        markdown_doc(
            "Cleaning review text",
            {"Emoji": "Map emoji to sentiment words before tokenising reviews."},
            team="nlp",
            course="nlp-sentiment",
            skills=["text-preprocessing"],
        ),
    )
    write(
        folder / "mlops" / "drift.md",
        markdown_doc(
            "Watching for drift",
            {"Alerts": "Compare the live feature distribution with training data weekly."},
        ),
    )
    write(folder / "notes.txt", "LoRA adapters train a few million parameters only.\n")
    return folder


def test_ingest_then_reingest_embeds_nothing_new(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    first = ingest_paths(kb, [corpus])
    assert (first.added, first.updated, first.unchanged, first.failed) == (3, 0, 0, [])
    assert first.embedded == first.chunks > 0
    again = ingest_paths(kb, [corpus])
    assert (again.added, again.updated, again.unchanged, again.embedded) == (0, 0, 3, 0)


def test_source_is_relative_to_the_folder_given(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus])
    assert sorted(d.source for d in kb.list_documents()) == [
        "mlops/drift.md",
        "nlp/cleaning.md",
        "notes.txt",
    ]


def test_changed_file_replaces_its_chunks(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus])
    write(
        corpus / "notes.txt",
        "LoRA adapters train a few million parameters only.\n\n"
        "Quantised base weights let a 7B model fit on one GPU.\n",
    )
    report = ingest_paths(kb, [corpus])
    assert (report.updated, report.unchanged) == (1, 2)
    [doc] = kb.find_documents("notes.txt")
    [chunk] = kb.get_chunks(doc.doc_id)
    assert "Quantised" in chunk.body
    hits = kb.search("quantised weights fit one GPU", k=3, mode="lexical")
    assert [h.source for h in hits] == ["notes.txt"]
    assert kb.stats()["chunks"] == 3


def test_front_matter_overrides_run_defaults(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus], team="support-ai", course="llm-finetuning")
    by_source = {d.source: d for d in kb.list_documents()}
    assert by_source["nlp/cleaning.md"].team == "nlp"
    assert by_source["nlp/cleaning.md"].course == "nlp-sentiment"
    assert by_source["mlops/drift.md"].team == "support-ai"
    assert by_source["notes.txt"].course == "llm-finetuning"


def test_sidecar_metadata_for_srt(kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "talks"
    folder.mkdir()
    srt = FIXTURES / "real" / "39_memory-mapping-&-streaming.srt"
    (folder / srt.name).write_bytes(srt.read_bytes())
    write(folder / (srt.name + ".meta.yaml"), "title: Streaming datasets\nteam: mlops\n")
    ingest_paths(kb, [folder])
    [doc] = kb.list_documents()
    assert (doc.title, doc.team, doc.type) == ("Streaming datasets", "mlops", "transcript")
    assert doc.source == "39_memory-mapping-&-streaming.srt"


def test_prune_removes_documents_whose_files_vanished(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus])
    (corpus / "notes.txt").unlink()
    kept = ingest_paths(kb, [corpus])
    assert kept.removed == 0 and kb.stats()["documents"] == 3
    pruned = ingest_paths(kb, [corpus], prune=True)
    assert pruned.removed == 1
    assert sorted(d.source for d in kb.list_documents()) == ["mlops/drift.md", "nlp/cleaning.md"]
    assert not kb.search("LoRA adapters million parameters", k=5, mode="lexical")


def test_bad_files_are_reported_and_the_rest_stored(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus])
    bad = corpus / "bad"
    write(bad / "empty.md", "")
    write(bad / "broken.ipynb", '{"cells": [')
    (bad / "latin1.txt").write_bytes("Résumé of the café session".encode("latin-1"))
    (bad / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (bad / "huge.txt").write_text("word " * 50_000)
    write(corpus / "new.md", "# Calibration\n\nReliability diagrams show over-confidence.\n")
    report = ingest_paths(kb, [corpus], limits=Limits(max_file_bytes=100_000))
    reasons = {f["path"]: f["error"] for f in report.failed}
    assert set(reasons) == {
        "bad/empty.md",
        "bad/broken.ipynb",
        "bad/latin1.txt",
        "bad/image.md",
        "bad/huge.txt",
    }
    assert "empty" in reasons["bad/empty.md"]
    assert "invalid JSON" in reasons["bad/broken.ipynb"]
    assert "not UTF-8" in reasons["bad/latin1.txt"]
    assert "binary" in reasons["bad/image.md"]
    assert "over the limit" in reasons["bad/huge.txt"]
    assert (report.added, report.unchanged) == (1, 3)
    assert kb.stats()["documents"] == 4


def test_broken_update_keeps_the_stored_version(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    ingest_paths(kb, [corpus])
    (corpus / "notes.txt").write_bytes(b"\x00\x01binary now")
    report = ingest_paths(kb, [corpus])
    assert [f["path"] for f in report.failed] == ["notes.txt"]
    assert kb.search("LoRA adapters", k=1, mode="lexical")[0].source == "notes.txt"


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, text in entries.items():
            zf.writestr(name, text)
    return buffer.getvalue()


def test_zip_archives_are_ingested_and_traversal_refused(kb: KnowledgeBase, tmp_path: Path) -> None:
    archive = tmp_path / "writeups.zip"
    archive.write_bytes(
        _zip(
            {
                "2026-04/retro.md": "# Retro\n\nWe shipped the churn model after the MLOps course.",
                "../../etc/evil.md": "# Evil\n\nNope.",
                "__MACOSX/._retro.md": "junk",
                "image.png": "not indexed",
            }
        )
    )
    report = ingest_paths(kb, [archive], team="mlops")
    assert report.added == 1
    assert [f["path"] for f in report.failed] == ["writeups.zip/../../etc/evil.md"]
    assert "unsafe path" in report.failed[0]["error"]
    [doc] = kb.list_documents()
    assert doc.source == "writeups.zip/2026-04/retro.md"
    assert doc.team == "mlops"


def test_missing_path_and_unknown_type_are_failures(kb: KnowledgeBase, tmp_path: Path) -> None:
    keynote = write(tmp_path / "slides.key", "KEYNOTE")
    report = ingest_paths(kb, [tmp_path / "nope", keynote])
    assert [f["path"] for f in report.failed] == [str(tmp_path / "nope"), "slides.key"]
    assert "unsupported file type .key" in report.failed[1]["error"]


def test_report_json_has_the_contract_fields(kb: KnowledgeBase, tmp_path: Path) -> None:
    report = ingest_paths(kb, [small_corpus(tmp_path / "c")])
    payload = json.loads(json.dumps(asdict(report.summary())))
    for key in ("added", "updated", "unchanged", "removed", "failed"):
        assert key in payload


def test_delete_document_removes_it_from_search(kb: KnowledgeBase, tmp_path: Path) -> None:
    ingest_paths(kb, [small_corpus(tmp_path / "c")])
    [doc] = kb.find_documents("nlp/cleaning.md")
    kb.delete(doc.doc_id)
    assert kb.get_document(doc.doc_id) is None
    hits = kb.search("emoji sentiment words", k=5, filters=SearchFilters())
    assert "nlp/cleaning.md" not in [h.source for h in hits]


def test_uploads_keep_their_own_name_and_replace_earlier_versions(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    """The API spools uploads under temporary paths; users see the name they uploaded."""
    for attempt, text in enumerate(["# Retro\n\nFirst draft.", "# Retro\n\nFinal version."]):
        spooled = write(tmp_path / f"spool-{attempt}" / "f0001.md", text)
        report = ingest_paths(kb, [spooled], names={spooled: "retro.md"})
        assert report.failed == []
    [doc] = kb.list_documents()
    assert doc.source == "retro.md"
    assert "Final version" in kb.get_chunks(doc.doc_id)[0].body


def test_kbignore_keeps_files_out(kb: KnowledgeBase, tmp_path: Path) -> None:
    corpus = small_corpus(tmp_path / "corpus")
    write(corpus / "README.md", "# About this folder\n\nNot training material.")
    write(corpus / "drafts" / "wip.md", "# WIP\n\nUnfinished.")
    write(corpus / ".kbignore", "README.md\ndrafts/\n")
    ingest_paths(kb, [corpus])
    assert sorted(d.source for d in kb.list_documents()) == [
        "mlops/drift.md",
        "nlp/cleaning.md",
        "notes.txt",
    ]


def test_text_shared_by_two_files_is_embedded_and_counted_once(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    same = "---\ntitle: Checklist\n---\nPin the tokenizer version with the model.\n"
    write(tmp_path / "c" / "a.txt", same)
    write(tmp_path / "c" / "b.txt", same)
    report = ingest_paths(kb, [tmp_path / "c"])
    assert (report.added, report.chunks, report.embedded) == (2, 2, 1)


def test_batches_encoded_while_others_are_stored_give_the_same_store(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    same = "---\ntitle: Checklist\n---\nPin the tokenizer version with the model.\n"
    for name in ("a", "b", "c", "d", "e"):  # one chunk each: five batches of one
        write(tmp_path / "c" / f"{name}.txt", same if name in "ae" else f"Notes {name} on drift.\n")
    report = ingest_paths(kb, [tmp_path / "c"], batch_chunks=1)
    # "e" repeats "a" four batches later, after "a" was stored: reused, not embedded again
    assert (report.added, report.chunks, report.embedded) == (5, 5, 4)
    assert [d["source"] for d in report.documents] == ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"]
    assert len(kb.index) == kb.stats()["chunks"] == 5
    assert kb.search("tokenizer version", k=1)[0].source in {"a.txt", "e.txt"}


def test_a_repeat_in_the_very_next_batch_reuses_its_vector(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    same = "---\ntitle: Checklist\n---\nPin the tokenizer version with the model.\n"
    write(tmp_path / "c" / "a.txt", same)
    write(tmp_path / "c" / "b.txt", same)  # encoded while "a" is not yet stored
    report = ingest_paths(kb, [tmp_path / "c"], batch_chunks=1)
    assert (report.added, report.chunks, report.embedded) == (2, 2, 1)
