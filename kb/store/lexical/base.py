"""The lexical index's contract: full-text search over chunks, kept in step by the document
store inside its own write transactions, so a chunk is searchable by its words exactly when
it is stored.

`LexicalIndex` is the seam; SQLite's FTS5 (`kb.store.lexical.sqlite`) and PostgreSQL's
postings (`kb.store.lexical.postgres`) fill it by the same word rules (kb.language.terms).
`affordable_words` is the rule both apply to a query's commonest words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from kb.language.terms import lexeme_key

# Chunks a query's words may touch in hybrid search before the commonest are left to the
# dense side (see `affordable_words`).
LEXICAL_POSTINGS_BUDGET = 2500

ChunkText = tuple[int, str, str]  # chunk_id, heading, body
FilterSql = tuple[str, list[object]]  # a WHERE clause over documents `d`, and its parameters


class LexicalIndex(Protocol):
    """Full-text search over chunks, kept in step by the document store."""

    def add(self, chunks: Sequence[ChunkText]) -> None:
        """Inside the store's write transaction: index these chunks."""

    def remove(self, chunks: Sequence[ChunkText]) -> None:
        """Inside the store's write transaction: forget these chunks (as they were indexed)."""

    def search(
        self, query: str, limit: int, where: FilterSql | None, postings_budget: int | None
    ) -> list[tuple[int, float]]:
        """(chunk_id, score) best first, higher is better; `where` filters documents."""


def affordable_words(
    words: Sequence[str],
    df: dict[str, int],
    budget: int,
    stem_of: Callable[[str], str] = lexeme_key,
) -> list[str]:
    """The rarest words whose postings fit the budget.

    BM25 scores every chunk that matches any word; a word in a third of a 100k-chunk store
    costs over 100 ms and, having almost no IDF, barely moves the ranking. Dropping such words
    keeps lexical search fast at scale; on small stores nothing is dropped. When every word is
    that common, nothing is left: the dense side answers alone. `df` is keyed by `stem_of`.
    """
    ranked = sorted(words, key=lambda w: df.get(stem_of(w), 0))
    kept: list[str] = []
    spent = 0
    for word in ranked:
        cost = df.get(stem_of(word), 0)
        if spent + cost > budget:
            continue
        kept.append(word)
        spent += cost
    return [w for w in words if w in kept]
