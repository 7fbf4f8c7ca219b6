"""SQLite's lexical index: `Fts5Index`, BM25 over each chunk's words (kb.language.terms:
English stemmed, Chinese cut by jieba), with the term statistics that keep it fast at scale.

An FTS5 table without content of its own (the text is in `chunks`), rows removed by giving
the indexed values again, which is why it is rebuilt whenever `LEXICAL_FORMAT` or the
segmenter changes. The document store keeps it in step inside its own write transactions, so
a chunk is searchable by its words exactly when it is stored."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Sequence

from kb.language.terms import (
    LEXICAL_FORMAT,
    index_text,
    indexed_stems,
    lexemes,
    query_words,
    segmenter_version,
)
from kb.store.lexical.base import ChunkText, FilterSql, affordable_words


def fts_query(words: Sequence[str]) -> str:
    """Words as a safe FTS5 query: each one quoted, any may match (OR).

    Users type punctuation, quotes and operators (C++, "AND", col:val) that are FTS5 syntax;
    quoting every word makes any input valid and BM25 still rewards documents matching more.
    """
    return " OR ".join('"' + w.replace('"', '""') + '"' for w in words)


_FORMAT_KEY = "lexical_format"
_SCHEMA = """
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    heading, body, content='', tokenize='porter unicode61'
)
"""


class Fts5Index:
    """SQLite FTS5 over the chunks of one store, sharing the store's connections: writes on
    its writer inside its transactions, reads on its reader under its lock."""

    def __init__(
        self, writer: sqlite3.Connection, reader: sqlite3.Connection, read_lock: threading.RLock
    ) -> None:
        self._writer = writer
        self._reader = reader
        self._read_lock = read_lock

    def _change(self, chunks: Sequence[ChunkText], sign: int) -> None:
        indexed = [(chunk_id, index_text(h), index_text(b)) for chunk_id, h, b in chunks]
        if sign > 0:
            sql = "INSERT INTO chunks_fts(rowid, heading, body) VALUES (?, ?, ?)"
        else:
            sql = (
                "INSERT INTO chunks_fts(chunks_fts, rowid, heading, body) "
                "VALUES ('delete', ?, ?, ?)"
            )
        self._writer.executemany(sql, indexed)
        counts: Counter[str] = Counter()
        for _, heading, body in indexed:
            counts.update(indexed_stems(heading + " " + body))
        self._writer.executemany(
            "INSERT INTO term_df(term, df) VALUES (?, ?) "
            "ON CONFLICT(term) DO UPDATE SET df = df + excluded.df",
            [(term, sign * count) for term, count in counts.items()],
        )

    def add(self, chunks: Sequence[ChunkText]) -> None:
        self._change(chunks, +1)

    def remove(self, chunks: Sequence[ChunkText]) -> None:
        self._change(chunks, -1)

    def is_current(self) -> bool:
        with self._read_lock:
            row = self._reader.execute(
                "SELECT value FROM meta WHERE key = ?", (_FORMAT_KEY,)
            ).fetchone()
        return row is not None and row[0] == _format()

    def rebuild(self) -> None:
        """Inside the store's write transaction: build the index afresh from `chunks` when it
        is not of this format (a new store; one from before Chinese was cut into words, FTS5
        kept by triggers over the raw text; another segmenter version), with its term counts.
        Another process may have just done it: then nothing happens."""
        db = self._writer
        row = db.execute("SELECT value FROM meta WHERE key = ?", (_FORMAT_KEY,)).fetchone()
        if row is not None and row[0] == _format():
            return
        db.execute("DROP TRIGGER IF EXISTS chunks_ai")
        db.execute("DROP TRIGGER IF EXISTS chunks_ad")
        db.execute("DROP TABLE IF EXISTS chunks_fts")
        db.execute(_SCHEMA)
        db.execute("DELETE FROM term_df")
        last = -1
        while True:
            rows = db.execute(
                "SELECT chunk_id, heading, body FROM chunks WHERE chunk_id > ? "
                "ORDER BY chunk_id LIMIT 2000",
                (last,),
            ).fetchall()
            if not rows:
                break
            self.add(rows)
            last = rows[-1][0]
        db.execute("DELETE FROM term_df WHERE df <= 0")
        db.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_FORMAT_KEY, _format()),
        )

    def _frequencies_of(self, words: Sequence[str]) -> dict[str, int]:
        """Each query word's document frequency, keyed by the word: FTS5 matches a word as the
        phrase of its lexemes (lora_alpha: lora alpha), which no more chunks hold than hold
        its rarest lexeme."""
        parts = {word: lexemes(word) for word in words}
        wanted = list({lexeme for found in parts.values() for lexeme in found})
        marks = ",".join("?" * len(wanted))
        rows = self._reader.execute(
            f"SELECT term, df FROM term_df WHERE term IN ({marks})", wanted
        ).fetchall()
        df = {term: int(count) for term, count in rows}
        return {w: min((df.get(x, 0) for x in found), default=0) for w, found in parts.items()}

    def search(
        self, query: str, limit: int, where: FilterSql | None, postings_budget: int | None
    ) -> list[tuple[int, float]]:
        """BM25 with headings weighing double (a word in a section's title says more than one
        in passing); the score is -bm25, so that higher is better."""
        words = query_words(query)
        if not words:
            return []
        if postings_budget is not None:
            with self._read_lock:
                df = self._frequencies_of(words)
            words = affordable_words(words, df, postings_budget, lambda word: word)
            if not words:
                return []
        clause, params = where if where is not None else ("1", [])
        join = (
            ""
            if clause == "1"
            else "JOIN chunks c ON c.chunk_id = chunks_fts.rowid "
            "JOIN documents d ON d.doc_id = c.doc_id"
        )
        sql = (
            f"SELECT chunks_fts.rowid, bm25(chunks_fts, 2.0, 1.0) AS rank FROM chunks_fts {join} "
            f"WHERE chunks_fts MATCH ? AND {clause} ORDER BY rank LIMIT ?"
        )
        with self._read_lock:
            rows = self._reader.execute(sql, [fts_query(words), *params, limit]).fetchall()
        return [(int(row[0]), -float(row[1])) for row in rows]


def _format() -> str:
    return f"{LEXICAL_FORMAT}/{segmenter_version()}"
