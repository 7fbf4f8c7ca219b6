"""The lexical index in PostgreSQL: each chunk's words as a tsvector built in Python by the
same rules as the embedded index (kb.terms: Chinese cut by jieba, full-width folded, English
stemmed), so both backends match the same words; ranked by BM25 in SQL, as FTS5 ranks them.

PostgreSQL's own parsers cannot cut Chinese into words and stem differently from kb.terms,
so the lexemes are given to it ready-made (a tsvector literal, heading words weighted A and
body words B) and its GIN index does the matching; BM25 is computed from the matching
chunks' lexemes (their positions give the frequencies), with the document frequencies kept
in `kb_term_df` by every write. PostgreSQL's `ts_rank` has no IDF: a common word would count
as much as a rare one.
"""

from __future__ import annotations

import math
from functools import lru_cache

import snowballstemmer

from kb.lexical import affordable_words
from kb.terms import TOKEN, index_text, query_words

_PORTER = snowballstemmer.stemmer("porter")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter's stemmer, as FTS5's `porter` tokenizer applies it to the embedded index, so
    both backends match the same English words; other scripts are only lower-cased."""
    word = word.lower()
    return str(_PORTER.stemWord(word)) if word.isascii() else word


MAX_LEXEME_BYTES = 2000  # PostgreSQL refuses lexemes over 2047 bytes
MAX_POSITION = 16383  # and stores no position beyond this
MAX_POSITIONS_PER_LEXEME = 255


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def chunk_lexemes(heading: str, body: str) -> tuple[str, set[str], int]:
    """(tsvector literal, the distinct stems, the number of words) of a chunk: heading words
    at weight A, body words at weight B, each word at its position."""
    positions: dict[str, list[str]] = {}
    position = 0
    for text, weight in ((heading, "A"), (body, "B")):
        for word in TOKEN.findall(index_text(text)):
            position += 1
            lexeme = stem(word)
            if not lexeme or len(lexeme.encode("utf-8")) > MAX_LEXEME_BYTES:
                continue
            held = positions.setdefault(lexeme, [])
            if len(held) < MAX_POSITIONS_PER_LEXEME:
                held.append(f"{min(position, MAX_POSITION)}{weight}")
    literal = " ".join(f"{_quote(lex)}:{','.join(pos)}" for lex, pos in positions.items())
    return literal, set(positions), position


def idf(df: int, n_chunks: int) -> float:
    """BM25's IDF as FTS5 computes it: a word in over half the chunks counts (almost) nil."""
    return max(math.log((n_chunks - df + 0.5) / (df + 0.5)), 1e-6)


# BM25 (k1 = 1.2, b = 0.75, as FTS5) over the chunks matching any of the query's stems: a
# word's frequency counts heading occurrences (weight A) twice, as the embedded index weighs
# the heading column double; the length is the chunk's number of words.
BM25_SQL = """
SELECT c.chunk_id, SUM(q.idf * (t.tf * 2.2) / (t.tf + 1.2 * (0.25 + 0.75 * c.n_words / %s)))
    AS score
FROM kb_chunks c {join}
CROSS JOIN LATERAL (
    SELECT u.lexeme, (SELECT SUM(CASE WHEN w = 'A' THEN 2 ELSE 1 END) FROM unnest(u.weights) w)
        AS tf
    FROM unnest(c.tsv) u WHERE u.lexeme = ANY(%s)
) t
JOIN unnest(%s::text[], %s::float8[]) AS q (term, idf) ON q.term = t.lexeme
WHERE c.tsv @@ %s::tsquery AND {where}
GROUP BY c.chunk_id, c.n_words
ORDER BY score DESC, c.chunk_id
LIMIT %s
"""


def query_stems(query: str) -> list[str]:
    """The stems a query looks for (kb.terms.query_words, stemmed), each once."""
    stems = dict.fromkeys(stem(word) for word in query_words(query))
    return [s for s in stems if s and len(s.encode("utf-8")) <= MAX_LEXEME_BYTES]


def bm25_parameters(
    query: str, df: dict[str, int], n_chunks: int, n_words: int, postings_budget: int | None
) -> tuple[list[object], list[object]] | None:
    """The parameters of BM25_SQL before and after the filter's own (None: no word left to
    look for once the commonest are left out by the postings budget)."""
    words = query_words(query)
    if postings_budget is not None:
        words = affordable_words(words, df, postings_budget, stem)
    stems = [s for s in dict.fromkeys(stem(word) for word in words) if s in set(query_stems(query))]
    if not stems or n_chunks <= 0:
        return None
    idfs = [idf(df.get(lexeme, 0), n_chunks) for lexeme in stems]
    tsquery = " | ".join(_quote(lexeme) for lexeme in stems)
    average_length = max(n_words / n_chunks, 1.0)
    return [average_length, stems, stems, idfs, tsquery], []


__all__ = ["BM25_SQL", "bm25_parameters", "chunk_lexemes", "idf", "query_stems"]
