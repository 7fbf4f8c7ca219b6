"""Snippets: the best short window of a chunk, with the query's words marked.

The snippet is HTML-safe text: everything is escaped and matched words are wrapped in
<mark>...</mark>, so a web page can show it as is and a terminal can turn marks into bold.
"""

from __future__ import annotations

import html
import re

from kb.store import _STOPWORDS

_WORD = re.compile(r"\w+", re.UNICODE)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    """A light suffix stripper, so 'tuning' marks 'tuned' and 'tune' (FTS5 uses Porter)."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def query_stems(query: str) -> set[str]:
    words = [w.lower() for w in _WORD.findall(query)]
    content = [w for w in words if w not in _STOPWORDS] or words
    return {stem(w) for w in content}


def make_snippet(text: str, query: str, width: int = 32) -> str:
    """The `width`-word window with the most distinct query words, marked and escaped."""
    stems = query_stems(query)
    tokens = list(_WORD.finditer(text))
    if not tokens:
        return html.escape(text[:240])
    matched = [stem(t.group()) in stems for t in tokens]
    best_start, best_score = 0, -1
    for start in range(0, max(1, len(tokens) - width + 1)):
        window = {
            stem(tokens[i].group())
            for i in range(start, min(len(tokens), start + width))
            if matched[i]
        }
        if len(window) > best_score:
            best_start, best_score = start, len(window)
        if start > 400:  # long chunks: the first few hundred words are enough to choose from
            break
    end_token = min(len(tokens), best_start + width) - 1
    begin = tokens[best_start].start()
    end = tokens[end_token].end()
    pieces: list[str] = ["… " if begin > 0 else ""]
    cursor = begin
    for i in range(best_start, end_token + 1):
        token = tokens[i]
        pieces.append(html.escape(text[cursor : token.start()]))
        word = html.escape(token.group())
        pieces.append(f"<mark>{word}</mark>" if matched[i] else word)
        cursor = token.end()
    if end < len(text):
        pieces.append(" …")
    return re.sub(r"\s+", " ", "".join(pieces)).strip()
