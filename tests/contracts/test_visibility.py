"""The visibility rule has one owner, `kb`: in Python (`visible_to`) and in SQL (the store's
filters). Both are checked here against each other on every combination that matters."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kb import ChunkInput, DocumentInput, DocumentMeta, Location, SearchFilters, visible_to
from kb.store.sqlite import Store

RESTRICTIONS = [(), ("mlops",), ("support-ai",), ("mlops", "support-ai"), ("data-eng",)]
VIEWERS: list[tuple[str, ...] | None] = [
    None,
    (),
    ("mlops",),
    ("support-ai",),
    ("mlops", "data-eng"),
    ("nobody",),
]


def stored(tmp_path: Path) -> Store:
    store = Store(tmp_path / "kb.sqlite")
    for i, visibility in enumerate(RESTRICTIONS):
        doc = DocumentInput(
            origin=f"/docs/{i}.md",
            source=f"{i}.md",
            type="markdown",
            content_hash=str(i),
            meta=DocumentMeta(title=f"Doc {i}", visibility=visibility),
            chunks=(ChunkInput("", "notes on drift", Location("Doc")),),
        )
        store.replace_document(doc, np.zeros((1, 4), dtype=np.float32))
    return store


def test_the_sql_filter_and_the_python_rule_agree(tmp_path: Path) -> None:
    store = stored(tmp_path)
    try:
        for teams in VIEWERS:
            by_sql = {d.source for d in store.list_documents(SearchFilters(viewer_teams=teams))}
            by_rule = {d.source for d in store.list_documents() if d.visible_to(teams)}
            assert by_sql == by_rule, teams
            ids = set(store.chunk_ids_matching(SearchFilters(viewer_teams=teams)).tolist())
            assert len(ids) == len(by_rule), teams
    finally:
        store.close()


def test_the_rule_itself() -> None:
    assert visible_to((), None) and visible_to((), ()) and visible_to((), ("mlops",))
    assert visible_to(("mlops",), None)  # a trusted caller
    assert visible_to(("mlops", "support-ai"), ("support-ai",))
    assert not visible_to(("mlops",), ())  # an employee outside every team
    assert not visible_to(("mlops",), ("support-ai", "data-eng"))
