"""Places, one contract on every backend: a chunk packed from several pieces is stored with
where each piece begins, read back with it (`kb show`, GET /documents/{id}), searched to the
piece that matches, and copied along by `kb migrate`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.backends import open_backend
from ingest import ingest_paths
from kb import KnowledgeBase, Location
from kb.store.migrate import migrate_store
from kb.types import Place
from tests.fakes import HashingEmbedder
from tests.helpers import write

CHAT = (
    "00:01:10 From Mei Lin to Everyone: welcome, the slides are in the shared folder\n"
    "00:12:45 From Tom Baker to Everyone: can we get the recording later?\n"
    "00:40:02 From Ana Ruiz to Everyone: the eval harness flags label leakage in fold three\n"
)


@pytest.fixture
def kb_on(
    backend_url: str | None, tmp_path: Path, fake_embedder: HashingEmbedder
) -> Iterator[KnowledgeBase]:
    base = open_backend(tmp_path / "home", backend_url).open_knowledge_base(embedder=fake_embedder)
    yield base
    base.close()


def chat_places(kb: KnowledgeBase) -> tuple[Place, ...]:
    (doc,) = kb.list_documents()
    (chunk,) = kb.get_chunks(doc.doc_id)
    return chunk.places


def test_places_are_stored_read_back_and_searched_to(kb_on: KnowledgeBase, tmp_path: Path) -> None:
    ingest_paths(kb_on, [write(tmp_path / "docs" / "chat.txt", CHAT)])

    places = chat_places(kb_on)
    (doc,) = kb_on.list_documents()
    (chunk,) = kb_on.get_chunks(doc.doc_id)
    body = chunk.body
    assert [(p.start, p.location.label, p.location.anchor) for p in places] == [
        (0, "00:01:10", "t=70"),  # each message's place begins at its speaker's line
        (body.index("Tom Baker:"), "00:12:45", "t=765"),
        (body.index("Ana Ruiz:"), "00:40:02", "t=2402"),
    ]
    assert places[2].location.detail == {"start": 2402.0, "end": 2402.0}
    assert chunk.view().places[2] == {
        "start": body.index("Ana Ruiz:"),
        "label": "00:40:02",
        "anchor": "t=2402",
    }

    (hit,) = kb_on.search("label leakage", k=1)
    assert (hit.location, hit.anchor, hit.chunk_location) == (
        "00:40:02",
        "t=2402",
        "00:01:10-00:40:02",
    )


def test_kb_migrate_copies_the_places(
    tmp_path: Path, fake_embedder: HashingEmbedder, database_url: str
) -> None:
    home = open_backend(tmp_path / "home", None).open_knowledge_base(embedder=fake_embedder)
    there = open_backend(tmp_path / "pg", database_url).open_knowledge_base(embedder=fake_embedder)
    try:
        ingest_paths(home, [write(tmp_path / "docs" / "chat.txt", CHAT)])
        migrate_store(home.store, there.store)
        assert chat_places(there) == chat_places(home) != ()
        assert chat_places(there)[1].location == Location(
            "00:12:45", "t=765", {"start": 765.0, "end": 765.0}
        )
    finally:
        home.close()
        there.close()
