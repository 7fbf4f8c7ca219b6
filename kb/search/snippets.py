"""Snippets: the best short window of a chunk, with the query's words marked.

The snippet is HTML-safe text: everything is escaped and matched words are wrapped in
<mark>...</mark>, so a web page can show it as is and a terminal can turn marks into bold.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from functools import lru_cache

from kb.language.terms import fold, has_han, index_stem, index_words, query_words, spans


def query_stems(query: str) -> set[str]:
    """The query's words as the lexical indexes hold them (so that what matched is marked)."""
    return {index_stem(part) for word in query_words(query) for part in index_words(word)}


@lru_cache(maxsize=100_000)
def _word_stems(word: str) -> tuple[str, ...]:
    """A word of the text as the indexes hold it: its parts' stems (folded, stemmed)."""
    return tuple(index_stem(part) for part in index_words(fold(word)))


def _matched_stem(word: str, stems: set[str], han_stems: set[str]) -> str | None:
    """The query stem a word of the text stands for, by the indexes' rules: stemmed and
    folded (escalation, naïve), a part of an identifier (lora_alpha), or a Chinese word the
    index also holds inside a longer one (网络 in 循环神经网络)."""
    for found in _word_stems(word):
        if found in stems:
            return found
    if han_stems and has_han(word):
        simplified = fold(word)  # traditional text, shown as written, matched as simplified
        return next((s for s in han_stems if s in simplified), None)
    return None


def make_snippet(text: str, query: str, width: int = 32) -> str:
    """The `width`-word window with the most distinct query words, marked and escaped (a
    Chinese word counts as a word)."""
    stems = query_stems(query)
    tokens = list(spans(text))  # Chinese cut into words, where they stand in `text`
    if not tokens:
        return html.escape(text[:240])
    han_stems = {s for s in stems if has_han(s)}
    token_stems = [_matched_stem(word, stems, han_stems) for _, _, word in tokens]
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
