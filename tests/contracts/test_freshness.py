"""Freshness on every backend: each document's date and where it came from (its metadata, or
the file's modification day), its review date and owner are stored, read back, copied with the
document, and carried by its hits with the stale mark (kb.freshness). A store made before
these columns gets them when it is opened (SQLite) or upgraded (PostgreSQL's migration 4)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from api.backends import open_backend
from ingest import ingest_paths
from kb import KnowledgeBase
from kb.freshness import FreshnessRule
from tests.fakes import HashingEmbedder
from tests.helpers import markdown_doc, write

TODAY = date(2026, 12, 1)
COPIED_ON = datetime(2020, 5, 17, 12, 0, tzinfo=UTC)  # the plain file's modification time


def write_folder(folder: Path) -> Path:
    write(
        folder / "lora.md",
        markdown_doc(
            "LoRA in practice",
            {"Rank": "LoRA adapters: rank, alpha and which layers to adapt."},
            skills=["llm-fine-tuning"],
            date="2026-06-01",
            review_by="2026-11-01",
            owner="mei-lin-wong",
        ),
    )
    plain = write(folder / "plain.md", "# Plain notes\n\nLoRA adapters without front matter.\n")
    os.utime(plain, (COPIED_ON.timestamp(), COPIED_ON.timestamp()))
    write(folder / "talk.txt", "A talk about LoRA adapters and their rank.\n")
    write(folder / "talk.txt.meta.yaml", "date: 2025-01-10\nowner: grace-mensah\n")
    return folder


@pytest.fixture
def dated_kb(
    backend_url: str | None, tmp_path: Path, fake_embedder: HashingEmbedder
) -> Iterator[KnowledgeBase]:
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=fake_embedder)
    report = ingest_paths(base, [write_folder(tmp_path / "material")])
    assert report.failed == [] and report.added == 3, report
    base.searcher.freshness_of = lambda: FreshnessRule(
        skill_days={"llm-fine-tuning": 365}, today=TODAY
    )
    yield base
    base.close()


def by_source(kb: KnowledgeBase) -> dict[str, tuple[str | None, ...]]:
    return {d.source: (d.date, d.date_source, d.review_by, d.owner) for d in kb.list_documents()}


def test_every_document_has_a_date_and_says_where_it_came_from(dated_kb: KnowledgeBase) -> None:
    assert by_source(dated_kb) == {
        "lora.md": ("2026-06-01", "metadata", "2026-11-01", "mei-lin-wong"),
        "plain.md": ("2020-05-17", "file", None, None),  # no date of its own: the file's
        "talk.txt": ("2025-01-10", "metadata", None, "grace-mensah"),  # from its sidecar
    }
    (doc,) = dated_kb.find_documents("lora.md")
    assert dated_kb.get_document(doc.doc_id) == doc
    public = doc.public()
    assert (public.date_source, public.review_by, public.owner) == (
        "metadata",
        "2026-11-01",
        "mei-lin-wong",
    )


def test_hits_carry_the_date_and_the_stale_mark_with_its_reason(dated_kb: KnowledgeBase) -> None:
    hits = {hit.source: hit for hit in dated_kb.search("LoRA adapters rank", k=10)}
    lora, plain, talk = hits["lora.md"], hits["plain.md"], hits["talk.txt"]
    assert (lora.date, lora.date_source, lora.review_by, lora.owner) == (
        "2026-06-01",
        "metadata",
        "2026-11-01",
        "mei-lin-wong",
    )
    assert lora.stale and lora.stale_reason == "past its review date (2026-11-01)"
    assert plain.stale and plain.date_source == "file"  # over the default 730 days
    assert plain.stale_reason is not None and "(the default)" in plain.stale_reason
    assert not talk.stale and talk.stale_reason is None  # 690 days: within the default
    for mode in ("dense", "lexical"):  # every mode marks its hits
        assert {h.source for h in dated_kb.search("LoRA", k=10, mode=mode) if h.stale} == {
            "lora.md",
            "plain.md",
        }


def test_reading_a_file_again_keeps_its_date_and_an_edit_takes_the_new_one(
    dated_kb: KnowledgeBase, tmp_path: Path
) -> None:
    folder = tmp_path / "material"
    again = ingest_paths(dated_kb, [folder])
    assert again.unchanged == 3
    assert by_source(dated_kb)["plain.md"][:2] == ("2020-05-17", "file")
    write(folder / "plain.md", "# Plain notes\n\nEdited today.\n")
    ingest_paths(dated_kb, [folder])
    today = datetime.now(UTC).date()
    assert by_source(dated_kb)["plain.md"][0] in {
        today.isoformat(),
        (today - timedelta(days=1)).isoformat(),
    }


def test_a_review_date_that_is_no_day_fails_that_file_with_the_fix(
    backend_url: str | None, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=fake_embedder)
    try:
        bad = write(tmp_path / "in" / "bad.md", markdown_doc("Bad", {"A": "b"}, review_by="soon"))
        report = ingest_paths(base, [bad.parent])
    finally:
        base.close()
    (failure,) = report.failed
    assert "'review_by' must be a day written YYYY-MM-DD" in failure["error"]
    assert "fix it in the front matter or sidecar" in failure["error"]


def test_a_sqlite_store_made_before_dates_gets_the_columns_when_opened(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    home = tmp_path / "home"
    base = open_backend(home, None).open_knowledge_base(embedder=fake_embedder)
    ingest_paths(base, [write_folder(tmp_path / "material")])
    base.close()
    with sqlite3.connect(home / "kb.sqlite") as db:  # as a store of the previous version was
        for column in ("date_source", "review_by", "owner"):
            db.execute(f"ALTER TABLE documents DROP COLUMN {column}")
    base = open_backend(home, None).open_knowledge_base(embedder=fake_embedder)
    try:
        assert by_source(base)["lora.md"] == ("2026-06-01", None, None, None)  # until re-read
    finally:
        base.close()


def test_kb_migrate_copies_the_dates_review_dates_and_owners(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    from kb.store.migrate import migrate_store
    from kb.store.postgres import PgStore

    source = open_backend(tmp_path / "home", None).open_knowledge_base(embedder=fake_embedder)
    try:
        ingest_paths(source, [write_folder(tmp_path / "material")])
        target = PgStore(database_url)
        try:
            migrate_store(source.store, target)
        finally:
            target.close()
        copied = open_backend(tmp_path / "pg-home", database_url).open_knowledge_base(
            embedder=fake_embedder
        )
        try:
            assert by_source(copied) == by_source(source)
        finally:
            copied.close()
    finally:
        source.close()
