"""Fitting text to the embedding model's window.

Sizes are counted by a `TokenCounter`: the model's own tokenizer when the knowledge base's
embedder offers one (`count_tokens`, special tokens included), else an estimate (a word
piece per short word, more for long words, one per punctuation mark: a slight
over-estimate of BERT word pieces, so chunks stay in the window). Ingest never imports a
model: the counter is handed in.

Parsers cut a document at its own boundaries (sections, cells, time windows), then `runs`
packs small neighbours together up to the budget, measured on the text that is embedded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from kb.language.terms import HAN
from kb.types import ChunkInput, Location, Place

TokenCounter = Callable[[str], int]

# A Han character is a token of its own to BERT-style tokenizers (and about one to others).
_TOKEN = re.compile(f"[{HAN}]|[^\\W{HAN}]+|[^\\w\\s]", re.UNICODE)
# English sentences end in .!? before a space and a capital; Chinese ones in 。！？； (full
# stop, exclamation, question mark, semicolon), with or without a space after.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])|(?<=[。！？；])\s*")

Item = TypeVar("Item")


def estimate_tokens(text: str) -> int:
    total = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        total += 1 + len(token) // 8 if token[0].isalnum() or token[0] == "_" else 1
    return total


def piece_cost(count: TokenCounter) -> TokenCounter:
    """What a piece of text adds inside a longer text: its count less the special tokens
    ([CLS], [SEP]) a counter adds to every text it is given (none for the estimate)."""
    fixed = count("")
    if fixed == 0:
        return count
    return lambda text: max(0, count(text) - fixed)


def _pieces(text: str) -> list[str]:
    """Paragraphs, or lines for code and lists, as the units a chunk is built from."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return paragraphs


def _split_unit(unit: str, budget: int, cost: TokenCounter) -> list[str]:
    """A unit bigger than the budget: by sentences, then lines, then words."""
    for splitter in (_SENTENCE_END.split, str.splitlines):
        parts = [p for p in splitter(unit) if p.strip()]
        if len(parts) > 1:
            joiner = " " if splitter is not str.splitlines else "\n"
            return pack(parts, budget, joiner=joiner, cost=cost)
    words = unit.split()
    out: list[str] = []
    current: list[str] = []
    size = 0
    for word in words:
        word_cost = cost(word)
        if word_cost > budget:  # text without spaces (CJK, a long URL or formula): by characters
            if current:
                out.append(" ".join(current))
                current, size = [], 0
            out.extend(_split_characters(word, budget, cost))
            continue
        if current and size + word_cost > budget:
            out.append(" ".join(current))
            current, size = [], 0
        current.append(word)
        size += word_cost
    if current:
        out.append(" ".join(current))
    return out


def _split_characters(word: str, budget: int, cost: TokenCounter) -> list[str]:
    out: list[str] = []
    while word:
        low, high = 1, len(word)  # the longest prefix that fits, by bisection
        while low < high:
            middle = (low + high + 1) // 2
            if cost(word[:middle]) <= budget:
                low = middle
            else:
                high = middle - 1
        out.append(word[:low])
        word = word[low:]
    return out


def pack(
    units: list[str], budget: int, joiner: str = "\n\n", cost: TokenCounter = estimate_tokens
) -> list[str]:
    """Greedily pack units, in order, into pieces of at most `budget` tokens (by `cost`, a
    counter without special tokens: see `piece_cost`)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for unit in units:
        unit_cost = cost(unit)
        if unit_cost > budget:
            if current:
                out.append(joiner.join(current))
                current, size = [], 0
            out.extend(_split_unit(unit, budget, cost))
            continue
        if current and size + unit_cost > budget:
            out.append(joiner.join(current))
            current, size = [], 0
        current.append(unit)
        size += unit_cost
    if current:
        out.append(joiner.join(current))
    return [piece.strip() for piece in out if piece.strip()]


def split_to_budget(text: str, budget: int, cost: TokenCounter = estimate_tokens) -> list[str]:
    """Split text on paragraph boundaries into pieces that fit the budget."""
    return pack(_pieces(text), max(16, budget), cost=cost)


def runs(
    items: Sequence[Item],
    fits: Callable[[Sequence[Item]], bool],
    joinable: Callable[[Item, Item], bool] = lambda _a, _b: True,
) -> list[list[Item]]:
    """Consecutive items packed greedily into runs: an item joins the run before it when
    `joinable(first item of the run, item)` and the run with it still `fits` (the caller
    renders the run's chunk and counts it); otherwise it starts a run of its own."""
    out: list[list[Item]] = []
    for item in items:
        if out and joinable(out[-1][0], item) and fits([*out[-1], item]):
            out[-1].append(item)
        else:
            out.append([item])
    return out


def find_places(body: str, pieces: Sequence[tuple[str, Location]]) -> tuple[Place, ...]:
    """Where each of the pieces packed into `body` begins, the pieces given in order with
    their own text as rendered alone and their location; the first is placed at 0.

    A piece is looked for from the end of the one before, whole, else by its first line (a
    packer may have rewritten its edges), else it starts where the one before did, so that
    text quoted in a later piece is never taken for an earlier one. () for fewer than two
    pieces: a chunk of one piece is placed by its own location."""
    if len(pieces) < 2:
        return ()
    places: list[Place] = []
    cursor = 0
    for index, (text, location) in enumerate(pieces):
        key = text.strip()
        found = body.find(key, cursor) if key else -1
        if found < 0:
            key = key.split("\n", 1)[0].strip()
            found = body.find(key, cursor) if key else -1
        if index == 0:
            found = 0
        elif found < 0:
            found, key = places[-1].start, ""
        places.append(Place(found, location))
        cursor = max(cursor, found + len(key))
    return tuple(places)


def split_places(
    body: str, pieces: Sequence[str], places: Sequence[Place]
) -> list[tuple[Place, ...]]:
    """The places of each piece that `body` (a chunk with `places`) was split into, in order:
    the place holding the piece's start, at 0, and those beginning inside it, moved with it.
    A piece is found in `body` from the one before on, by its first word when the splitter
    rejoined its words; every piece keeps at least the place it starts in (when `places`)."""
    if not places:
        return [() for _ in pieces]
    out: list[tuple[Place, ...]] = []
    cursor = 0
    for piece in pieces:
        words = piece.split()
        at = body.find(piece, cursor)
        if at < 0 and words:
            at = body.find(words[0], cursor)
        at = max(at, cursor)
        end = at + len(piece)
        opening = max(
            (p for p in places if p.start <= at), key=lambda p: p.start, default=places[0]
        )
        inside = [Place(p.start - at, p.location) for p in places if at < p.start < end]
        out.append((Place(0, opening.location), *inside))
        cursor = at + (len(words[0]) if words else 0)
    return out


HeadingPath = tuple[tuple[int, str], ...]  # (level, title) from the top heading down


def shared_path(paths: Sequence[HeadingPath]) -> HeadingPath:
    """The headings every path starts with."""
    shared = paths[0]
    for path in paths[1:]:
        n = 0
        while n < min(len(shared), len(path)) and shared[n] == path[n]:
            n += 1
        shared = shared[:n]
    return shared


Section = TypeVar("Section")


def pack_sections(
    sections: Sequence[Section],
    render: Callable[[Sequence[Section]], tuple[str, str]],
    location: Callable[[Sequence[Section]], Location],
    key: Callable[[Section], object],
    budget: int,
    count_tokens: TokenCounter = estimate_tokens,
    texts: Callable[[Sequence[Section]], list[str]] | None = None,
) -> list[ChunkInput]:
    """Heading sections to chunks, by one rule for every format that has headings: short
    neighbouring sections with the same `key` are packed while their chunk fits `budget`;
    a section too long on its own is split on its paragraphs and ends the run before it.
    `render(run)` gives a run's (heading, body), `location(run)` where its chunk opens.

    With `texts` (each section's own text as the run's body holds it, its heading line
    included when the body has it), a chunk of several sections keeps each one's place in
    its body (`find_places`), located by `location([section])`."""
    cost = piece_cost(count_tokens)
    fixed = count_tokens("")

    def fits(run: Sequence[Section]) -> bool:
        heading, body = render(run)
        return fixed + cost(heading) + cost(body) <= budget

    chunks: list[ChunkInput] = []
    small: list[Section] = []

    def emit_small() -> None:
        for run in runs(small, fits, lambda a, b: key(a) == key(b)):
            heading, body = render(run)
            places = (
                find_places(body, list(zip(texts(run), [location([s]) for s in run], strict=True)))
                if texts is not None and len(run) > 1
                else ()
            )
            chunks.append(ChunkInput(heading, body, location(run), places=places))
        small.clear()

    for section in sections:
        if fits([section]):
            small.append(section)
            continue
        emit_small()
        heading, body = render([section])
        for piece in split_to_budget(body, budget - fixed - cost(heading), cost):
            chunks.append(ChunkInput(heading, piece, location([section])))
    emit_small()
    return chunks
