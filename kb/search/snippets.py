"""Snippets: the best short window of a chunk, with the query's words marked.

The snippet is HTML-safe text: everything is escaped and matched words are wrapped in
<mark>...</mark>, so a web page can show it as is and a terminal can turn marks into bold.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from kb.language.terms import fold, has_han, index_stem, index_words, query_words, spans


@lru_cache(maxsize=1024)
def query_stems(query: str) -> frozenset[str]:
    """The query's words as the lexical indexes hold them (so that what matched is marked);
    cached, as every hit of a search asks for the same query's."""
    return frozenset(index_stem(part) for word in query_words(query) for part in index_words(word))


@lru_cache(maxsize=100_000)
def _word_stems(word: str) -> tuple[str, ...]:
    """A word of the text as the indexes hold it: its parts' stems (folded, stemmed)."""
    return tuple(index_stem(part) for part in index_words(fold(word)))


@dataclass(frozen=True)
class _Words:
    """A chunk's words, worked out once for all the searches that show it: where each stands,
    which token positions hold each stem, and the Chinese tokens (folded to simplified)."""

    spans: list[tuple[int, int, str]]
    positions: dict[str, list[int]]
    han: list[tuple[int, str]]


# ~50 KB a chunk of 256 tokens: 512 of them, the hits that recur, stay
@lru_cache(maxsize=512)
def _words_of(text: str) -> _Words:
    tokens = spans(text)  # Chinese cut into words, where they stand in `text`
    positions: dict[str, list[int]] = {}
    han: list[tuple[int, str]] = []
    for position, (_, _, word) in enumerate(tokens):
        for found in _word_stems(word):
            positions.setdefault(found, []).append(position)
        if has_han(word):
            han.append((position, fold(word)))
    return _Words(tokens, positions, han)


def _matched_stems(words: _Words, stems: frozenset[str]) -> list[str | None]:
    """For each token of the text, the query stem it stands for, by the indexes' rules: stemmed
    and folded (escalation, naïve), a part of an identifier (lora_alpha), or a Chinese word the
    index also holds inside a longer one (网络 in 循环神经网络); None where it stands for none."""
    matched: list[str | None] = [None] * len(words.spans)
    for position in sorted({p for s in stems for p in words.positions.get(s, ())}):
        word = words.spans[position][2]
        matched[position] = next(s for s in _word_stems(word) if s in stems)
    han_stems = [s for s in stems if has_han(s)]
    if han_stems:
        for position, simplified in words.han:
            if matched[position] is None:  # traditional text, matched as simplified
                matched[position] = next((s for s in han_stems if s in simplified), None)
    return matched


def make_snippet(text: str, query: str, width: int = 32) -> str:
    """The `width`-word window with the most distinct query words, marked and escaped (a
    Chinese word counts as a word)."""
    words = _words_of(text)
    tokens = words.spans
    if not tokens:
        return html.escape(text[:240])
    token_stems = _matched_stems(words, query_stems(query))
    matched = [s is not None for s in token_stems]
    # Slide the window once, counting the distinct matched stems inside it.
    inside: Counter[str | None] = Counter(s for s in token_stems[:width] if s)
    best_start, best_score = 0, len(inside)
    for start in range(1, max(1, len(tokens) - width + 1)):
        leaving, entering = token_stems[start - 1], token_stems[start + width - 1]
        if leaving:
            inside[leaving] -= 1
            if not inside[leaving]:
                del inside[leaving]
        if entering:
            inside[entering] += 1
        if len(inside) > best_score:
            best_start, best_score = start, len(inside)
    if best_score:  # lead in a few words before the first match rather than end on it
        first = next(i for i in range(best_start, len(tokens)) if matched[i])
        best_start = max(0, first - 6)
    end_token = min(len(tokens), best_start + width) - 1
    begin = tokens[best_start][0]
    end = tokens[end_token][1]
    pieces: list[str] = ["… " if begin > 0 else ""]
    cursor = begin
    for i in range(best_start, end_token + 1):
        if matched[i]:
            start, stop, word = tokens[i]
            pieces.append(html.escape(text[cursor:start]))
            pieces.append(f"<mark>{html.escape(word)}</mark>")
            cursor = stop
    pieces.append(html.escape(text[cursor:end]))
    if end < len(text):
        pieces.append(" …")
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def matched_words(text: str, query: str) -> list[tuple[int, str]]:
    """Where the query's words stand in `text`, by the rules the snippet marks them by: (the
    character offset of each matched word, the query stem it stands for), in order. What
    `kb.search.places` counts to find the piece of a packed chunk that matches best."""
    words = _words_of(text)
    stems = _matched_stems(words, query_stems(query))
    return [
        (start, stem)
        for (start, _, _), stem in zip(words.spans, stems, strict=True)
        if stem is not None
    ]
