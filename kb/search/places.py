"""Which piece of a packed chunk a hit points at.

Parsers pack small pieces (PDF pages, notebook cells, transcript cues, chat messages, heading
sections) into one chunk and keep where each begins in its body (`kb.types.Place`). A hit's
location and anchor are those of the piece that holds the most of the query's words, so that
the link opens page 2 or minute 40 when that is where the match is, not the chunk's first
page or message. A chunk of one piece, or one stored before places were kept, has no places:
its own location stands.
"""

from __future__ import annotations

from collections.abc import Sequence

from kb.search.snippets import matched_words
from kb.types import ChunkInfo, Location, Place


def place_index(places: Sequence[Place], offset: int) -> int | None:
    """The index of the place holding character `offset` of the body: the last that begins
    at or before it (the first, for an offset before every place); None without places."""
    if not places:
        return None
    found = 0
    for index, place in enumerate(places):
        if place.start <= offset:
            found = index
        else:
            break
    return found


def place_at(chunk: ChunkInfo, offset: int) -> Location:
    """The location of the piece of `chunk` holding character `offset` of its body (a quoted
    sentence's start, say); the chunk's own location when it keeps no places."""
    index = place_index(chunk.places, offset)
    return chunk.location if index is None else chunk.places[index].location


def best_place(chunk: ChunkInfo, query: str) -> Location:
    """The location of the piece of `chunk` whose text holds the most distinct words of
    `query` (then the most matches; the first on a tie), by the snippet's matching rules
    (stems, folding, Chinese words); the chunk's own location when it keeps no places or no
    word of the query is in its body (it matched by its heading, or by meaning alone)."""
    if not chunk.places:
        return chunk.location
    distinct: dict[int, set[str]] = {}
    counts: dict[int, int] = {}
    for offset, stem in matched_words(chunk.body, query):
        index = place_index(chunk.places, offset)
        assert index is not None
        distinct.setdefault(index, set()).add(stem)
        counts[index] = counts.get(index, 0) + 1
    if not distinct:
        return chunk.location
    best = max(distinct, key=lambda index: (len(distinct[index]), counts[index], -index))
    return chunk.places[best].location


__all__ = ["best_place", "place_at", "place_index"]
