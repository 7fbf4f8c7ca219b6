"""Snippets: the best short window of a chunk, with the query's words marked.

The snippet is HTML-safe text: everything is escaped and matched words are wrapped in
<mark>...</mark>, so a web page can show it as is and a terminal can turn marks into bold.
"""

from __future__ import annotations

import html
import re
from collections import Counter

from kb.terms import fold, query_words, spans, stem


def query_stems(query: str) -> set[str]:
    return {stem(w) for w in query_words(query)}


def make_snippet(text: str, query: str, width: int = 32) -> str:
    """The `width`-word window with the most distinct query words, marked and escaped (a
    Chinese word counts as a word)."""
    stems = query_stems(query)
    tokens = list(spans(text))  # Chinese cut into words, where they stand in `text`
    if not tokens:
        return html.escape(text[:240])
    prefixes = {s[:3] for s in stems}
    token_stems: list[str | None] = []
    for _, _, word in tokens:  # stemming every word is the slow part: only plausible ones
        word = word.lower() if word.isascii() else fold(word).lower()
        found = stem(word) if word[:3] in prefixes else None
        token_stems.append(found if found in stems else None)
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
