"""Words as search sees them: tokens, stop words and a light stem, shared by the lexical
query builder, the document-frequency table and snippet marking."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from how i if in into is it its me my of on "
    "or our should so than that the their then there these this to was we what when where which "
    "who why will with you your".split()
)
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    """A light suffix stripper, so 'tuning' meets 'tuned' and 'tune' (FTS5 itself uses Porter)."""
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def query_words(query: str) -> list[str]:
    """The words of a query worth matching: lower case, stop words dropped (unless that would
    leave nothing), each once, in order."""
    words = [w.lower() for w in WORD.findall(query)]
    content = [w for w in words if w not in STOPWORDS] or words
    return list(dict.fromkeys(content))


def document_frequencies(texts: Iterable[str]) -> Counter[str]:
    """In how many of `texts` each stem occurs."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update({stem(w) for w in WORD.findall(text)})
    return counts
