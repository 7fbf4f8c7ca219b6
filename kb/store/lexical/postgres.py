"""The lexical index in PostgreSQL: each chunk's words as a tsvector built in Python by the
same rules as the embedded index (kb.language.terms: Chinese cut by jieba, full-width folded,
English stemmed), so both backends match the same words; ranked by BM25 in SQL, as FTS5 ranks them.

PostgreSQL's own parsers cannot cut Chinese into words and stem differently from kb.language.terms,
so the lexemes are given to it ready-made (a tsvector literal, heading words weighted A and
body words B). Beside it every write keeps postings (`kb_postings`: stem, chunk, frequency,
chunk length) and the document frequencies (`kb_term_df`); BM25 is computed in SQL from the
query's postings alone, and the tsvector only checks that a split word's parts stand side by
side. PostgreSQL's `ts_rank` has no IDF (a common word would count as much as a rare one),
and ranking from the tsvectors meant reading every matching chunk's whole tsvector: 650 ms a
query at 100k chunks.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from kb.language.terms import index_stem as stem
from kb.language.terms import index_text, index_words, query_words, segmenter_version
from kb.store.lexical.base import affordable_words

# Bumped when the words of the index change here: with the segmenter's version, it says what
# rules a database's lexemes were made by, and one made by others is re-indexed when opened.
LEXEMES_VERSION = "3"  # 3: traditional Chinese folded to simplified (kb.language.terms.fold)


def lexical_format() -> str:
    return f"{LEXEMES_VERSION}/{segmenter_version()}"


MAX_LEXEME_BYTES = 2000  # PostgreSQL refuses lexemes over 2047 bytes
MAX_POSITION = 16383  # and stores no position beyond this
MAX_POSITIONS_PER_LEXEME = 255


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class ChunkWords(NamedTuple):
    """A chunk's words as the PostgreSQL index keeps them."""

    literal: str  # the tsvector literal: each stem at its positions, heading words weighted A
    stems: set[str]  # the distinct stems
    n_words: int  # the chunk's length in words, as BM25 counts it
    frequencies: dict[str, int]  # each stem's BM25 frequency: heading occurrences count twice


def chunk_lexemes(heading: str, body: str) -> ChunkWords:
    """A chunk's words: heading words at weight A, body words at weight B, each word at its
    position (at most MAX_POSITIONS_PER_LEXEME of one stem, as the tsvector holds them)."""
    positions: dict[str, list[str]] = {}
    frequencies: dict[str, int] = {}
    position = 0
    for text, weight in ((heading, "A"), (body, "B")):
        for word in index_words(index_text(text)):
            position += 1
            lexeme = stem(word)
            if not lexeme or len(lexeme.encode("utf-8")) > MAX_LEXEME_BYTES:
                continue
            held = positions.setdefault(lexeme, [])
            if len(held) < MAX_POSITIONS_PER_LEXEME:
                held.append(f"{min(position, MAX_POSITION)}{weight}")
                frequencies[lexeme] = frequencies.get(lexeme, 0) + (2 if weight == "A" else 1)
    literal = " ".join(f"{_quote(lex)}:{','.join(pos)}" for lex, pos in positions.items())
    return ChunkWords(literal, set(positions), position, frequencies)


def idf(df: int, n_chunks: int) -> float:
    """BM25's IDF as FTS5 computes it: a word in over half the chunks counts (almost) nil."""
    return max(math.log((n_chunks - df + 0.5) / (df + 0.5)), 1e-6)


# BM25 (k1 = 1.2, b = 0.75, as FTS5) over the chunks matching any of the query's phrases, from
# the postings (kb_postings: a row per stem and chunk with the stem's frequency there and the
# chunk's length), so a query reads only its words' rows, never a chunk's whole tsvector. Each
# query word is a phrase, as in the embedded index's FTS5 query: one stem mostly, several for
# a word the index splits (lora_alpha: lora, then alpha), which then match only side by side
# (checked on the chunk's tsvector, for those chunks alone). A phrase's frequency in a chunk
# is its rarest stem's there (its exact count when that stem occurs only in the phrase),
# heading occurrences counted twice, as the embedded index weighs the heading column double;
# the length is the chunk's number of words.
BM25_SQL = """
WITH q (phrase, term, idf, parts, adjacent) AS (
    SELECT * FROM unnest(%s::int[], %s::text[], %s::float8[], %s::int[], %s::text[])
), matched AS (
    SELECT p.chunk_id, MIN(p.n_words) AS n_words, MIN(q.idf) AS idf, MIN(p.tf) AS tf,
        COUNT(*) AS found, MIN(q.parts) AS parts, MIN(q.adjacent) AS adjacent
    FROM q JOIN kb_postings p ON p.lexeme = q.term
    GROUP BY p.chunk_id, q.phrase
)
SELECT m.chunk_id, SUM(m.idf * (m.tf * 2.2) / (m.tf + 1.2 * (0.25 + 0.75 * m.n_words / %s)))
    AS score
FROM matched m {join}
WHERE m.found = m.parts
    AND (m.parts = 1 OR EXISTS (
        SELECT 1 FROM kb_chunks a WHERE a.chunk_id = m.chunk_id AND a.tsv @@ m.adjacent::tsquery
    ))
    AND {where}
GROUP BY m.chunk_id
ORDER BY score DESC, m.chunk_id
LIMIT %s
"""

# The postings of the chunks already in the database, from their tsvectors (as chunk_lexemes
# counts them: a heading position twice); a migration and a re-index fill kb_postings so.
POSTINGS_FROM_TSV_SQL = """
INSERT INTO kb_postings (lexeme, chunk_id, tf, n_words)
SELECT u.lexeme, c.chunk_id,
    (SELECT SUM(CASE WHEN w = 'A' THEN 2 ELSE 1 END) FROM unnest(u.weights) w), c.n_words
FROM kb_chunks c, unnest(c.tsv) u
"""

Phrase = tuple[str, ...]


def _phrase_of(word: str) -> Phrase:
    """The stems a query word is looked for as, in order (see WORD)."""
    stems = (stem(part) for part in index_words(word))
    return tuple(s for s in stems if s and len(s.encode("utf-8")) <= MAX_LEXEME_BYTES)


def phrase_key(phrase: Phrase) -> str:
    """How a phrase's document frequency is keyed: its stem (kb_term_df's key) when it has
    one, its stems spaced when several (a lexeme never holds a space)."""
    return " ".join(phrase)


def phrase_query(phrase: Phrase) -> str:
    """The tsquery matching a phrase: its stems side by side."""
    return " <-> ".join(_quote(lexeme) for lexeme in phrase)


def query_phrases(query: str) -> list[Phrase]:
    """The phrases a query looks for (kb.language.terms.query_words, each as its stems), each
    once."""
    phrases = (_phrase_of(word) for word in query_words(query))
    return list(dict.fromkeys(phrase for phrase in phrases if phrase))


def bm25_parameters(
    query: str, df: dict[str, int], n_chunks: int, n_words: int, postings_budget: int | None
) -> list[object] | None:
    """The parameters of BM25_SQL that come before the filter's own (None: no word left to
    look for once the commonest are left out by the postings budget). `df` is keyed by
    `phrase_key`.

    Each query word scores on its own, as each is a phrase of its own in the embedded index's
    FTS5 query: two words of one stem (`bits bit`) count that stem twice there, and here."""
    words = [word for word in query_words(query) if _phrase_of(word)]
    if postings_budget is not None:
        words = affordable_words(
            words, df, postings_budget, lambda word: phrase_key(_phrase_of(word))
        )
    phrases = [_phrase_of(word) for word in words]
    if not phrases or n_chunks <= 0:
        return None
    numbers, terms, idfs, parts, adjacent = [], [], [], [], []
    for number, phrase in enumerate(phrases):
        weight = idf(df.get(phrase_key(phrase), 0), n_chunks)
        for lexeme in phrase:
            numbers.append(number)
            terms.append(lexeme)
            idfs.append(weight)
            parts.append(len(phrase))
            adjacent.append(phrase_query(phrase))
    average_length = max(n_words / n_chunks, 1.0)
    return [numbers, terms, idfs, parts, adjacent, average_length]


__all__ = [
    "BM25_SQL",
    "POSTINGS_FROM_TSV_SQL",
    "ChunkWords",
    "bm25_parameters",
    "chunk_lexemes",
    "idf",
    "index_words",
    "lexical_format",
    "phrase_key",
    "phrase_query",
    "query_phrases",
    "stem",
]
