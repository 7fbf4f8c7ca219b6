"""An export kept in step as a named source (kind `export`): the organisers drop each newer
Confluence export into one folder, and every sync reads the newest: changed pages read again,
new pages added, pages gone from the space removed; the same export again costs nothing, and a
broken one fails the sync with the old documents kept."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.sources.kinds import KINDS
from ingest.sources.sync import Syncer
from kb import KnowledgeBase
from kb.sources import SourceError, SourceSpec
from kb.sources.sqlite import SqliteSourceRegistry
from tests.fixtures.exports.generate import confluence_export


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[SqliteSourceRegistry]:
    opened = SqliteSourceRegistry(tmp_path / "home" / "sources.sqlite")
    yield opened
    opened.close()


def _titles(kb: KnowledgeBase) -> set[str]:
    return {d.title for d in kb.store.list_documents()}


def test_each_newer_export_dropped_in_the_folder_updates_adds_and_removes_pages(
    kb: KnowledgeBase, registry: SqliteSourceRegistry, tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    confluence_export(drop / "space-2024-03-05.zip", version=1)
    registry.add(KINDS["export"].check(SourceSpec("eng-space", "export", str(drop))))
    syncer = Syncer(kb, registry, tmp_path / "home", embed=False)

    first = syncer.sync("eng-space")
    assert first.error is None, first.error
    before = _titles(kb)
    assert "Release process" in before and "Code review" not in before
    assert syncer.sync("eng-space").parsed == 0  # the same export: nothing read

    newer = confluence_export(drop / "space-2024-03-12.zip", version=2)
    later = time.time() + 5
    os.utime(newer, (later, later))  # the newest by time is read
    second = syncer.sync("eng-space")
    assert second.error is None, second.error
    after = _titles(kb)
    assert "Code review" in after  # added
    assert "Release process" not in after  # gone from the space: removed
    setup = next(d for d in kb.store.list_documents() if d.title == "Setup guide")
    assert any("vault" in c.body for c in kb.get_chunks(setup.doc_id))  # changed: read again

    (drop / "space-2024-03-19.zip").write_bytes(b"PK\x03\x04 not really a zip")
    later += 5
    os.utime(drop / "space-2024-03-19.zip", (later, later))
    broken = syncer.sync("eng-space")
    assert broken.error is not None and "space-2024-03-19.zip" in broken.error
    assert _titles(kb) == after  # the last good export's documents stay


def test_a_file_that_is_no_export_is_refused_when_the_source_is_added(tmp_path: Path) -> None:
    plain = tmp_path / "plain.zip"
    import zipfile

    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("notes.md", "# Notes\n\nJust notes.")
    with pytest.raises(SourceError, match="not a Confluence"):
        KINDS["export"].check(SourceSpec("notes", "export", str(plain)))
    with pytest.raises(SourceError, match="does not exist"):
        KINDS["export"].check(SourceSpec("gone", "export", str(tmp_path / "nowhere")))
