"""`kb.search.places`: which piece of a packed chunk a hit (or a quoted sentence) points at,
and stores written before places were kept, which go on answering with the chunk's place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kb import ChunkInput, DocumentInput, DocumentMeta, Location, open_knowledge_base
from kb.search.places import best_place, place_at
from kb.types import ChunkInfo, Place
from tests.fakes import HashingEmbedder

PAGES = ("Freeze the branch and tag the build.", "Roll back to the previous canary weights.")
BODY = "\n\n".join(PAGES)
WHOLE = Location("pages 1-2", "page=1", {"page": 1, "end_page": 2})
ONE, TWO = Location("page 1", "page=1"), Location("page 2", "page=2")
PLACES = (Place(0, ONE), Place(BODY.index("Roll"), TWO))


def chunk(places: tuple[Place, ...] = PLACES) -> ChunkInfo:
    return ChunkInfo(1, "d", 0, "Release", BODY, WHOLE, places)


def test_an_offset_maps_to_the_piece_that_holds_it() -> None:
    assert place_at(chunk(), 0) == ONE
    assert place_at(chunk(), BODY.index("Roll") - 1) == ONE  # the blank line between
    assert place_at(chunk(), BODY.index("canary")) == TWO
    assert place_at(chunk(()), BODY.index("canary")) == WHOLE  # no places: the chunk's own


def test_the_piece_with_most_of_the_query_words_wins() -> None:
    assert best_place(chunk(), "rolled back canary") == TWO  # stemmed as the index does
    assert best_place(chunk(), "tag the build, then roll back") == ONE  # 2 words against 1
    assert best_place(chunk(), "release") == WHOLE  # in the heading alone: the chunk's place
    assert best_place(chunk(()), "canary") == WHOLE


def test_chinese_words_find_their_piece() -> None:
    body = "先冻结分支。\n\n量化之后召回率下降了。"
    places = (Place(0, ONE), Place(body.index("量化"), TWO))
    info = ChunkInfo(1, "d", 0, "", body, WHOLE, places)
    assert best_place(info, "召回率") == TWO


def test_a_store_made_before_places_opens_adds_them_and_answers_with_the_chunk_place(
    tmp_path: Path,
) -> None:
    """An earlier kb's store (no `places` column) gets the column when opened; its chunks
    point where they did, and chunks stored after keep their places."""
    home = tmp_path / "home"

    def doc(name: str, places: tuple[Place, ...], body: str = BODY) -> DocumentInput:
        piece = ChunkInput("Release", body, WHOLE, places=places)
        return DocumentInput(f"/c/{name}", name, "pdf", name, DocumentMeta(title=name), (piece,))

    # another document (not a near copy of the first, which search would fold into it)
    other = "Write the notes for the support rota.\n\nIf errors rise, restore canary weights."
    other_places = (Place(0, ONE), Place(other.index("If"), TWO))

    base = open_knowledge_base(home, embedder=HashingEmbedder())
    base.add_documents([doc("old.pdf", ())])
    base.close()
    with sqlite3.connect(home / "kb.sqlite") as db:
        db.execute("ALTER TABLE chunks DROP COLUMN places")

    base = open_knowledge_base(home, embedder=HashingEmbedder())
    try:
        (hit,) = base.search("canary weights", k=1)
        assert (hit.location, hit.anchor, hit.chunk_location) == (
            "pages 1-2",
            "page=1",
            "pages 1-2",
        )
        base.add_documents([doc("new.pdf", other_places, other)])
        hits = {h.source: h for h in base.search("canary weights", k=2)}
        assert (hits["new.pdf"].location, hits["new.pdf"].anchor) == ("page 2", "page=2")
        assert (hits["old.pdf"].location, hits["old.pdf"].anchor) == ("pages 1-2", "page=1")
    finally:
        base.close()
