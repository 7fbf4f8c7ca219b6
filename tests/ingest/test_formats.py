"""Slides, PDFs, Word files, web pages and Zoom chat logs: chunked along their own structure,
each chunk pointing at its place, document properties as metadata, bad files named with the
reason while the rest of the batch is stored; in archives, uploads and re-ingests alike."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ingest import Limits, ingest_paths
from ingest import pipeline as pipeline_module
from ingest.errors import UnreadableFile
from ingest.formats.chat import is_chat_log
from ingest.formats.parsed import Parsed
from ingest.formats.registry import parse_bytes
from ingest.formats.slides import NOTES_MARKER
from ingest.reading import ReadLimits
from kb import Embedder, KnowledgeBase
from tests.api_helpers import auth, ingest, running_client, zip_bytes
from tests.conftest import FIXTURES, SAMPLE
from tests.helpers import write

FORMATS = SAMPLE / "formats"
REAL = FIXTURES / "real"
DECK = FORMATS / "prompt-injection-guardrails.pptx"
HANDOUT = FORMATS / "shadow-and-canary-releases.pdf"
SUMMARY = FORMATS / "feature-platform-workshop-summary-zh.docx"
WIKI = FORMATS / "wiki-runbook-gpu-out-of-memory.html"
WIKI_ZH = FORMATS / "wiki-vector-recall-evaluation-zh.htm"
CHAT = FORMATS / "error-analysis-session-chat.txt"


def parse(path: Path, budget: int = 200, limits: ReadLimits | None = None) -> Parsed:
    return parse_bytes(path.read_bytes(), path.suffix, budget, limits=limits)


def text_of(parsed: Parsed) -> str:
    return "\n".join(chunk.body for chunk in parsed.chunks)


# -- each format: its chunks, their places, its properties --------------------------------------
def test_a_deck_is_a_chunk_per_slide_with_its_table_and_speaker_notes() -> None:
    parsed = parse(DECK)
    assert [c.location.detail["slide"] for c in parsed.chunks] == [1, 2, 3, 4, 5, 6]
    table = parsed.chunks[3]
    assert table.location.label == "slide 4 · Defences that worked for us"
    assert table.location.anchor == "slide-4"
    assert table.heading == "Defences that worked for us"
    assert "Tool allow-list and refund cap | actions | 6%" in table.body
    slide, notes = table.body.split(f"\n\n{NOTES_MARKER}\n")
    assert "attack prompts" in notes and "attack prompts" not in slide
    assert parsed.title == "Prompt injection in the support assistant"  # the first slide's
    assert parsed.properties == {
        "title": "Prompt injection in the support assistant",
        "author": "Noor Haddad",
        "date": "2026-06-01",
        "tags": ["prompt injection", "RAG", "guardrails", "red teaming"],
    }


def test_a_long_slide_is_split_keeping_its_notes_apart() -> None:
    parsed = parse(DECK, budget=40)
    second = [c for c in parsed.chunks if c.location.detail["slide"] == 2]
    assert len(second) > 2
    assert all(c.location.label == "slide 2 · What prompt injection is" for c in second)
    noted = [c for c in second if c.body.startswith(NOTES_MARKER)]
    assert noted and all(NOTES_MARKER not in c.body for c in second if c not in noted)


def test_a_pdf_is_read_by_page_and_cut_at_its_outline_headings() -> None:
    parsed = parse(HANDOUT)
    labels = [c.location.label for c in parsed.chunks]
    assert "page 2 · 2 Shadow mode … 2.1 What to compare" in labels
    rollback = next(c for c in parsed.chunks if "Rollback checklist" in c.location.label)
    assert rollback.location.anchor == "page=3"
    assert rollback.location.detail == {"page": 3, "end_page": 3}
    assert rollback.heading == "3 Canary releases > 3.2 Rollback checklist"
    assert rollback.body.startswith("Keep the previous model version loaded")
    assert parsed.properties["title"] == "Shadow and canary releases for models"
    assert parsed.properties["author"] == "Sam Novak"
    assert parsed.properties["date"] == "2026-06-01"
    assert "rollback" in parsed.properties["tags"]


def test_a_word_file_has_heading_sections_lists_and_tables_in_chinese() -> None:
    parsed = parse(SUMMARY)
    by_label = {c.location.label: c for c in parsed.chunks}
    skew = by_label["我们做了什么 > 训练与服务偏差的检查"]
    assert skew.heading == "我们做了什么 > 训练与服务偏差的检查"
    assert "- 商品价格分桶：线上漏掉了促销价，已修复" in skew.body
    assert skew.location.anchor == "训练与服务偏差的检查"
    assert set(skew.location.detail) == {"block", "end_block"}
    assert "存在偏差的特征数 | 14 | 2" in by_label["结果"].body
    assert parsed.title == "特征平台工作坊总结"  # the Title paragraph
    assert parsed.properties["author"] == "Aiko Tanaka"
    assert parsed.properties["tags"] == ["特征平台", "训练与服务偏差", "point-in-time join"]


def test_a_saved_wiki_page_keeps_its_content_and_drops_the_navigation_around_it() -> None:
    parsed = parse(WIKI)
    text = text_of(parsed)
    for boilerplate in ("cookies", "Recently updated", "Log in", "Related pages", "Internal use"):
        assert boilerplate not in text
    assert "Halve the per-device batch size" in text
    assert "8 | 2 | 16 | 27 GB" in text  # a table row
    assert "- Load the frozen base model in 4-bit" in text
    anchors = {c.location.anchor for c in parsed.chunks}
    assert {"runbook-gpu-oom", "micro-batch", "shrink-the-model-state"} <= anchors  # page's ids
    checkpointing = next(c for c in parsed.chunks if "Gradient checkpointing" in c.heading)
    assert checkpointing.heading.startswith(
        "Runbook: GPU out of memory while fine-tuning > Shrink the activations"
    )
    assert parsed.title == "Runbook: GPU out of memory while fine-tuning"
    assert parsed.properties == {
        "author": "Liam Chen",
        "date": "2026-05-18",
        "tags": ["CUDA OOM", "gradient checkpointing", "gradient accumulation"],
    }


def test_a_chinese_page_joins_its_wrapped_lines_as_a_browser_does() -> None:
    parsed = parse(WIKI_ZH)
    assert "需要量化它到底漏了多少，以及漏掉的结果" in text_of(parsed)
    assert "编辑" not in " ".join(c.heading for c in parsed.chunks)  # "[编辑]" links dropped
    assert parsed.title == "向量检索的召回率评估"


def test_a_zoom_chat_log_is_read_in_time_windows_without_private_messages() -> None:
    parsed = parse(CHAT)
    assert parsed.type == "chat"
    first = parsed.chunks[0]
    assert first.location.label.startswith("10:02:11-")
    assert first.location.anchor == "t=36131"
    assert "Daniel Kowalski" in first.location.detail["speakers"]
    text = text_of(parsed)
    assert "leave ten minutes early" not in text  # sent privately
    assert "Reacted to" not in text
    # a message continued on an indented line is one message
    assert "by count x cost, not by count. One false positive" in text
    assert not is_chat_log("Notes from the session.\n\n10:02:11 From Priya to Everyone: hi\n")
    assert parse_bytes(b"Meeting notes\n\nWe met.\n", ".txt", 200).type == "text"


def test_the_older_zoom_layout_is_read_too() -> None:
    old = "00:00:10\t From  Mei Lin : first question\n00:01:30\t From  Tom : an answer\n"
    parsed = parse_bytes(old.encode(), ".txt", 200)
    assert parsed.type == "chat"
    assert parsed.chunks[0].body == "Mei Lin: first question\nTom: an answer"


# -- bad input: named with the reason, the rest of the batch stored -----------------------------
def _pdf_bytes(writer: PdfWriter) -> bytes:
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _encrypted(user_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(HANDOUT))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="AES-128")
    return _pdf_bytes(writer)


def _blank_pages(n: int) -> bytes:
    writer = PdfWriter()
    for _ in range(n):
        writer.add_blank_page(width=595, height=842)
    return _pdf_bytes(writer)


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "locked.pdf": (_encrypted("secret"), "protected by a password"),
    "truncated.pdf": (HANDOUT.read_bytes()[:300], "damaged PDF"),
    "renamed.pdf": (b"PK\x03\x04 not a pdf at all", "not a PDF"),
    "scan.pdf": (_blank_pages(2), "looks scanned.*OCR is not done"),
    "broken.pptx": (b"PK\x03\x04" + b"\x00garbage" * 20, "not a readable zip package"),
    "protected.docx": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "OLE container"),
    "hollow.docx": (zip_bytes({"word/document.xml": "<w:document/>"}), "Content_Types"),
    "picture.html": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, "binary"),
    "notes.htm": (b"just words, no markup at all", "no HTML markup"),
    "chat.txt": (
        b"10:00:01 From Ana to Everyone: hello\n"
        b"10:00:09 From Ana to Everyone: next\n"
        b"pasted line from elsewhere\n",
        "line 3: 'pasted line from elsewhere'",
    ),
}


def test_bad_files_are_named_with_their_reason_and_the_rest_is_stored(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    for path in (DECK, HANDOUT, WIKI):
        shutil.copy(path, folder / path.name)
    for name, (data, _) in BAD_FILES.items():
        (folder / name).write_bytes(data)
    report = ingest_paths(kb, [folder])
    failed = {f["path"]: f["error"] for f in report.failed}
    assert set(failed) == set(BAD_FILES)
    for name, (_, reason) in BAD_FILES.items():
        assert re.search(reason, failed[name]), (name, failed[name])
    assert report.added == 3
    assert sorted(d.source for d in kb.list_documents()) == sorted(
        [DECK.name, HANDOUT.name, WIKI.name]
    )


def test_a_pdf_encrypted_only_against_editing_is_read() -> None:
    parsed = parse_bytes(_encrypted(""), ".pdf", 200)
    assert any("Rollback checklist" in c.location.label for c in parsed.chunks)


def test_an_office_file_that_unpacks_past_the_archive_limits_is_refused() -> None:
    limits = ReadLimits(max_package_bytes=10_000)
    with pytest.raises(UnreadableFile, match="refused as a PowerPoint file: .*unpacks to"):
        parse(DECK, limits=limits)
    with pytest.raises(UnreadableFile, match="has 17 entries, over the limit of 5"):
        parse(SUMMARY, limits=ReadLimits(max_package_entries=5))


def test_page_and_time_limits_skip_a_file_and_say_which(kb: KnowledgeBase, tmp_path: Path) -> None:
    folder = tmp_path / "limits"
    folder.mkdir()
    (folder / "book.pdf").write_bytes(_blank_pages(8))
    shutil.copy(DECK, folder / DECK.name)
    shutil.copy(WIKI, folder / WIKI.name)
    report = ingest_paths(kb, [folder], limits=Limits(max_pages=7))
    [failure] = report.failed
    assert failure["path"] == "book.pdf"
    assert "has 8 pages, over the limit of 7 pages a file" in failure["error"]
    assert report.added == 2
    with pytest.raises(UnreadableFile, match=r"took over 0 s.*stopped at page 1 of 3"):
        parse(HANDOUT, limits=ReadLimits(max_seconds=0))
    with pytest.raises(UnreadableFile, match="stopped at slide 1 of 6"):
        parse(DECK, limits=ReadLimits(max_seconds=0))


# -- the pipeline around them: metadata, archives, re-ingests, prune, uploads -------------------
def test_document_properties_fill_metadata_and_a_sidecar_overrides_them(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "deck"
    folder.mkdir()
    shutil.copy(DECK, folder / DECK.name)
    write(folder / f"{DECK.name}.meta.yaml", "title: Guardrails clinic\nteam: support-ai\n")
    shutil.copy(HANDOUT, folder / HANDOUT.name)  # no sidecar: its properties alone
    ingest_paths(kb, [folder])
    docs = {d.source: d for d in kb.list_documents()}
    deck = docs[DECK.name]
    assert (deck.title, deck.team, deck.author, deck.date) == (
        "Guardrails clinic",
        "support-ai",
        "Noor Haddad",
        "2026-06-01",
    )
    chunks = kb.get_chunks(deck.doc_id)
    assert chunks[1].heading == "Guardrails clinic > What prompt injection is"
    handout = docs[HANDOUT.name]
    assert (handout.title, handout.author) == ("Shadow and canary releases for models", "Sam Novak")
    assert "canary release" in handout.tags


def test_formats_in_a_zip_then_unchanged_then_ignored_and_pruned(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    archive = tmp_path / "bundle.zip"
    archive.write_bytes(
        zip_bytes({f"material/{p.name}": p.read_bytes() for p in (DECK, HANDOUT, SUMMARY, WIKI)})
    )
    first = ingest_paths(kb, [archive])
    assert (first.added, first.failed) == (4, [])
    assert {d.source for d in kb.list_documents()} == {
        f"bundle.zip/material/{p.name}" for p in (DECK, HANDOUT, SUMMARY, WIKI)
    }
    again = ingest_paths(kb, [archive])
    assert (again.unchanged, again.added, again.updated, again.embedded) == (4, 0, 0, 0)

    folder = tmp_path / "folder"
    folder.mkdir()
    for path in (DECK, HANDOUT, CHAT):
        shutil.copy(path, folder / path.name)
    write(folder / ".kbignore", "*.pdf\n")
    report = ingest_paths(kb, [folder])
    assert report.added == 2  # the PDF is ignored
    (folder / DECK.name).unlink()
    pruned = ingest_paths(kb, [folder], prune=True)
    assert (pruned.removed, pruned.unchanged) == (1, 1)


def test_a_store_made_before_these_formats_re_reads_its_files_once(
    kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copy(CHAT, folder / CHAT.name)
    monkeypatch.setattr(pipeline_module, "PARSER_VERSION", "3")
    ingest_paths(kb, [folder])
    monkeypatch.setattr(pipeline_module, "PARSER_VERSION", "4")
    report = ingest_paths(kb, [folder])
    assert (report.updated, report.failed, report.embedded) == (1, [], 0)  # vectors reused


def test_uploads_take_the_new_formats_alone_and_in_a_zip(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    files = {
        DECK.name: DECK.read_bytes(),
        CHAT.name: CHAT.read_bytes(),
        "pages.zip": zip_bytes({HANDOUT.name: HANDOUT.read_bytes(), WIKI.name: WIKI.read_bytes()}),
    }
    with running_client(tmp_path, fake_embedder) as client:
        job = ingest(client, files)
        assert job["state"] == "done" and not job["summary"]["failed"], job
        listed = client.get("/documents", headers=auth("admin")).json()["documents"]
        ids = {d["source"]: d["doc_id"] for d in listed}
        assert set(ids) == {
            DECK.name,
            CHAT.name,
            f"pages.zip/{HANDOUT.name}",
            f"pages.zip/{WIKI.name}",
        }
        deck = client.get(f"/documents/{ids[DECK.name]}", headers=auth("admin")).json()
        slide = deck["chunks"][3]
        assert (slide["location"], slide["anchor"]) == (
            "slide 4 · Defences that worked for us",
            "slide-4",
        )
        assert slide["detail"] == {
            "slide": 4,
            "title": "Defences that worked for us",
            "notes": True,
        }
        chat = client.get(f"/documents/{ids[CHAT.name]}", headers=auth("admin")).json()
        assert chat["type"] == "chat" and chat["chunks"][0]["detail"]["speakers"]
        hits = client.get(
            "/search", params={"q": "canary rollback registry alias"}, headers=auth("admin")
        ).json()["hits"]
        assert hits[0]["source"] == f"pages.zip/{HANDOUT.name}"
        assert hits[0]["location"].startswith("page 3")


# -- real published files -------------------------------------------------------------------
def test_a_real_tex_made_pdf_is_cut_at_its_outline_and_loses_its_running_heads() -> None:
    parsed = parse(REAL / "shared-mime-info-spec.pdf")
    labels = [c.location.label for c in parsed.chunks]
    assert any(
        label.startswith("page 2 · 2. Unified system > 2.1. Directory layout") for label in labels
    )
    assert not any(c.body.startswith("Shared MIME-info Database") for c in parsed.chunks)
    assert parsed.properties == {"date": "2022-04-29"}  # its title and author are empty


def test_real_pages_keep_their_own_anchors() -> None:
    mdbook = parse(REAL / "rustdoc-what-is-rustdoc.html")
    assert mdbook.title == "What is rustdoc?"
    assert {"basic-usage", "configuring-rustdoc"} <= {c.location.anchor for c in mdbook.chunks}
    assert "Keyboard shortcuts" not in text_of(mdbook)  # the book's menus and help
    docbook = parse(REAL / "shared-mime-info-spec-x34.html")  # headings inside <a name>
    directory = next(c for c in docbook.chunks if "Directory layout" in c.location.label)
    assert directory.location.anchor == "s2_layout"
