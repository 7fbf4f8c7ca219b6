"""The PostgreSQL backend: documents, chunks and their vectors (pgvector, HNSW, cosine), the
lexical index (tsvector, kb.store.lexical.postgres) and the manifest, in one database that any
number of processes share: API replicas, CLI ingests, `kb worker`s.

Nothing is mirrored in memory: the dense side searches the database's HNSW index and the
lexical side its GIN index, so a replica answers from every committed write at once. Each
write is one transaction; writers of one document are serialised by an advisory lock, and
the term counts are updated in a fixed order, so concurrent writers never deadlock. Filters
and team visibility are SQL clauses applied before the cut.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.db.postgres import Migration, ensure_schema, open_pool, redact
from kb.errors import NotFoundError
from kb.store.base import CLAIM_SECONDS, DuplicateLink, PendingChunk, PendingCounts
from kb.store.lexical.postgres import (
    BM25_SQL,
    POSTINGS_FROM_TSV_SQL,
    bm25_parameters,
    chunk_lexemes,
    lexical_format,
    phrase_key,
    phrase_query,
    query_phrases,
)
from kb.store.rows import (
    FilterSql,
    doc_from_row,
    doc_id_for,
    document_values,
    filters_in,
    location_from_json,
    location_to_json,
    places_from_json,
    places_to_json,
    sessions_to_backfill,
    text_hash,
)
from kb.types import ChunkInfo, DocumentInfo, DocumentInput, SearchFilters

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

PART = "kb"
MIGRATIONS = [
    Migration(
        1,
        """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE kb_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE SEQUENCE kb_version;
CREATE TABLE kb_documents (
    doc_id TEXT PRIMARY KEY,
    origin TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    root TEXT,
    type TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    team TEXT, course TEXT, module TEXT, author TEXT, date TEXT,
    skills TEXT[] NOT NULL DEFAULT '{}',
    tags TEXT[] NOT NULL DEFAULT '{}',
    visibility TEXT[] NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE INDEX kb_documents_source ON kb_documents (source);
CREATE INDEX kb_documents_root ON kb_documents (root);
CREATE TABLE kb_chunks (
    chunk_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES kb_documents (doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    body TEXT NOT NULL,
    location TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding vector NOT NULL,
    tsv TSVECTOR NOT NULL,
    n_words INTEGER NOT NULL
);
CREATE INDEX kb_chunks_doc ON kb_chunks (doc_id);
CREATE INDEX kb_chunks_text_hash ON kb_chunks (text_hash);
CREATE INDEX kb_chunks_tsv ON kb_chunks USING gin (tsv);
CREATE TABLE kb_term_df (term TEXT PRIMARY KEY, df BIGINT NOT NULL);
CREATE TABLE kb_counts (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO kb_counts (name, value) VALUES ('chunks', 0), ('words', 0);
""",
    ),
    # Postings: BM25 reads the query's words' rows instead of each matching chunk's tsvector.
    Migration(
        2,
        """
CREATE TABLE kb_postings (
    lexeme TEXT NOT NULL,
    chunk_id BIGINT NOT NULL,
    tf INTEGER NOT NULL,
    n_words INTEGER NOT NULL,
    PRIMARY KEY (lexeme, chunk_id)
);
"""
        + POSTINGS_FROM_TSV_SQL
        + ";",
    ),
    # Searchable at once: chunks stored for their words first (no vector yet), queued for
    # embedding with the text to encode; an embedder claims some for a while.
    Migration(
        3,
        """
ALTER TABLE kb_chunks ALTER COLUMN embedding DROP NOT NULL;
CREATE TABLE kb_pending_embeddings (
    chunk_id BIGINT PRIMARY KEY REFERENCES kb_chunks (chunk_id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX kb_pending_embeddings_hash ON kb_pending_embeddings (text_hash);
""",
    ),
    # Where each piece packed into a chunk begins, and its own location (JSON,
    # `places_to_json`); NULL: a chunk of one piece, or one stored before (its location stands).
    Migration(4, "ALTER TABLE kb_chunks ADD COLUMN places TEXT;"),
    # Freshness (kb.freshness): where a document's date came from, its review date, its owner
    # (NULL for documents stored before: not known until the document is read again).
    Migration(
        5,
        """
ALTER TABLE kb_documents ADD COLUMN date_source TEXT;
ALTER TABLE kb_documents ADD COLUMN review_by TEXT;
ALTER TABLE kb_documents ADD COLUMN owner TEXT;
""",
    ),
    # Sessions (kb.sessions): the training event a document belongs to. Documents stored
    # before get the sessions their names and metadata give when a store next opens
    # (SESSIONS_INFERRED_KEY).
    Migration(
        6,
        """
ALTER TABLE kb_documents ADD COLUMN session TEXT;
CREATE INDEX kb_documents_session ON kb_documents (session);
""",
    ),
]

# Near duplicates (kb.dedupe) are a part of their own, so that their migrations number
# independently of the documents' (`api.backends.PostgresBackend.schema_parts` lists both).
DUPLICATES_PART = "kb_duplicates"
DUPLICATES_MIGRATIONS = [
    # Each document's MinHash signature (NULL: too short) and the canonical document of its
    # group (NULL: none, or it is one); seq is the stored order.
    Migration(
        1,
        """
CREATE TABLE kb_doc_signatures (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    doc_id TEXT PRIMARY KEY REFERENCES kb_documents (doc_id) ON DELETE CASCADE,
    signature BYTEA,
    canonical TEXT,
    similarity DOUBLE PRECISION
);
CREATE INDEX kb_doc_signatures_canonical ON kb_doc_signatures (canonical);
CREATE INDEX kb_doc_signatures_seq ON kb_doc_signatures (seq);
""",
    ),
    # Each signed document's band keys (kb.dedupe.BANDS): a new document is compared only
    # with the documents that share one of its bands.
    Migration(
        2,
        """
CREATE TABLE kb_doc_signature_bands (
    doc_id TEXT NOT NULL REFERENCES kb_doc_signatures (doc_id) ON DELETE CASCADE,
    band SMALLINT NOT NULL,
    key BIGINT NOT NULL,
    PRIMARY KEY (doc_id, band)
);
CREATE INDEX kb_doc_signature_bands_key ON kb_doc_signature_bands (band, key);
""",
    ),
]
# Links to where a document is read at its origin (synced sources, docs/sources.md): a part of
# their own, so that its migrations number independently of the documents'.
LINKS_PART = "kb_links"
LINKS_MIGRATIONS = [
    Migration(1, "ALTER TABLE kb_documents ADD COLUMN IF NOT EXISTS link TEXT;"),
]
SESSIONS_INFERRED_KEY = "sessions_inferred"
BANDS_PER_STATEMENT = 50_000  # near-duplicate band keys written by one INSERT (kb.dedupe)

_DOC_COLUMNS = (
    "d.doc_id, d.source, d.title, d.type, d.team, d.course, d.module, d.skills, d.tags, "
    "d.author, d.date, d.visibility, d.origin, d.content_hash, "
    "(SELECT COUNT(*) FROM kb_chunks c WHERE c.doc_id = d.doc_id), d.root, "
    "d.date_source, d.review_by, d.owner, d.session, d.link"
)
LEXICAL_FORMAT_KEY = "lexical_format"  # kb_meta: the rules the stored lexemes were made by
# HNSW visits this many candidates per query at least (pgvector's default is 40).
EF_SEARCH_MIN = 100
EF_SEARCH_MAX = 1000  # pgvector's limit
FILTER_SHARES_KEPT = 256  # filters whose share of the chunks is remembered


def _doc_from_row(row: Sequence[Any]) -> DocumentInfo:
    return doc_from_row(row, as_list=tuple)


def filter_clause(filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """SQL (over alias `d` = kb_documents) for the filters, by the embedded store's rule
    (`kb.store.rows.filters_in`): values compared without regard to case."""
    return filters_in(POSTGRES_FILTERS, filters)


def visibility_clause(teams: tuple[str, ...]) -> tuple[str, list[Any]]:
    """`kb.types.visible_to` in PostgreSQL: unrestricted, or a team in common."""
    return "(cardinality(d.visibility) = 0 OR d.visibility && %s::text[])", [list(teams)]


POSTGRES_FILTERS = FilterSql(
    everything="TRUE",
    equals="lower(d.{column}) = lower(%s)",
    holds="EXISTS (SELECT 1 FROM unnest(d.{column}) v WHERE lower(v) = lower(%s))",
    visible=visibility_clause,
)


class PgStore:
    """All reads and writes of the knowledge base in PostgreSQL; thread-safe (a pool of
    connections) and shared by any number of processes."""

    backend = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.location = redact(url)
        self._pool: ConnectionPool = open_pool(url, max_size=pool_size)
        try:
            with self._pool.connection() as conn:
                ensure_schema(conn, PART, MIGRATIONS)
                ensure_schema(conn, DUPLICATES_PART, DUPLICATES_MIGRATIONS)
                ensure_schema(conn, LINKS_PART, LINKS_MIGRATIONS)
                conn.execute(
                    "INSERT INTO kb_meta (key, value) VALUES ('store_id', %s) "
                    "ON CONFLICT (key) DO NOTHING",
                    (uuid.uuid4().hex,),
                )
            # Connections opened before the extension existed lack its types: start afresh.
            self._pool.close()
            self._pool = open_pool(url, max_size=pool_size)
        except BaseException:
            self._pool.close()
            raise
        self.store_id = self.get_meta("store_id") or ""
        self._lock = threading.Lock()
        self._filter_shares: dict[tuple[str, str, int], float] = {}  # see _filter_share
        try:
            if self.get_meta(SESSIONS_INFERRED_KEY) is None:
                self._infer_sessions()
            self._ensure_lexical_format()
        except BaseException:
            self._pool.close()
            raise

    def close(self) -> None:
        self._pool.close()

    def _ensure_lexical_format(self) -> None:
        """Re-index every chunk's words when they were cut by other rules than this version's
        (kb.store.lexical.postgres.lexical_format: an earlier kb, another jieba), as the embedded
        store re-indexes its own: once, by the first process to open the database; writers wait
        meanwhile, readers do not."""
        wanted = lexical_format()
        if self.get_meta(LEXICAL_FORMAT_KEY) == wanted:
            return
        with self._write() as conn:
            conn.execute("LOCK TABLE kb_chunks IN SHARE ROW EXCLUSIVE MODE")
            row = conn.execute(
                "SELECT value FROM kb_meta WHERE key = %s", (LEXICAL_FORMAT_KEY,)
            ).fetchone()
            if row is not None and row[0] == wanted:
                return  # another process did it meanwhile
            terms: Counter[str] = Counter()
            chunks = words = 0
            with conn.cursor(name="kb_reindex") as stored:
                stored.execute("SELECT chunk_id, heading, body FROM kb_chunks")
                while batch := stored.fetchmany(2000):
                    updates = []
                    for chunk_id, heading, body in batch:
                        literal, stems, n_words, _ = chunk_lexemes(heading, body)
                        terms.update(stems)
                        chunks += 1
                        words += n_words
                        updates.append((literal, n_words, chunk_id))
                    with conn.cursor() as cursor:
                        cursor.executemany(
                            "UPDATE kb_chunks SET tsv = %s::tsvector, n_words = %s "
                            "WHERE chunk_id = %s",
                            updates,
                        )
            conn.execute("DELETE FROM kb_postings")
            conn.execute(POSTINGS_FROM_TSV_SQL)
            conn.execute("DELETE FROM kb_term_df")
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO kb_term_df (term, df) VALUES (%s, %s)", sorted(terms.items())
                )
            conn.execute(
                "UPDATE kb_counts SET value = CASE name WHEN 'chunks' THEN %s ELSE %s END "
                "WHERE name IN ('chunks', 'words')",
                (chunks, words),
            )
            conn.execute(
                "INSERT INTO kb_meta (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (LEXICAL_FORMAT_KEY, wanted),
            )

    @contextmanager
    def _read(self) -> Iterator[psycopg.Connection]:
        with self._pool.connection() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection]:
        """One transaction: all of it lands, or none of it."""
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    # -- meta, manifest, dense search ------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM kb_meta WHERE key = %s", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._write() as conn:
            if value is None:
                conn.execute("DELETE FROM kb_meta WHERE key = %s", (key,))
            else:
                conn.execute(
                    "INSERT INTO kb_meta (key, value) VALUES (%s, %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    @property
    def version(self) -> int:
        """Bumped by every committed write, by any process."""
        with self._read() as conn:
            row = conn.execute("SELECT last_value, is_called FROM kb_version").fetchone()
        return int(row[0]) if row and row[1] else 0

    def read_manifest(self) -> dict[str, Any] | None:
        raw = self.get_meta("manifest")
        return None if raw is None else dict(json.loads(raw))

    def write_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """The first process records it and fixes the vectors' dimension, which the HNSW
        index needs; any other finds it recorded and gets that one."""
        dim = int(manifest["dim"])
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kb_manifest', 0))")
            row = conn.execute("SELECT value FROM kb_meta WHERE key = 'manifest'").fetchone()
            if row is not None:
                return dict(json.loads(row[0]))
            conn.execute(
                "INSERT INTO kb_meta (key, value) VALUES ('manifest', %s)", (json.dumps(manifest),)
            )
            # A typmod is not a parameter; `dim` is an int, so this is not user text.
            conn.execute(f"ALTER TABLE kb_chunks ALTER COLUMN embedding TYPE vector({dim})")
            conn.execute(
                "CREATE INDEX IF NOT EXISTS kb_chunks_embedding ON kb_chunks "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        return manifest

    def dense_search(self, dim: int) -> PgVectors:
        return PgVectors(self)

    # -- writes -----------------------------------------------------------------------------
    def replace_document(
        self, doc: DocumentInput, vectors: np.ndarray | Sequence[np.ndarray | None]
    ) -> tuple[str, str]:
        """Insert or replace a document and all its chunks in one transaction; returns
        (doc_id, 'added'|'updated'). A chunk without a vector is queued in
        `kb_pending_embeddings` (its `embedding` NULL meanwhile)."""
        if len(vectors) != len(doc.chunks):
            raise ValueError("one vector (or None) per chunk is required")
        doc_id = doc_id_for(doc.origin)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        lexemes = [chunk_lexemes(chunk.heading, chunk.body) for chunk in doc.chunks]
        with self._write() as conn:
            # One writer per document at a time: a second ingest of the same file waits.
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", (doc_id,))
            old = self._remove_chunks(conn, doc_id)
            existed = conn.execute(
                "SELECT 1 FROM kb_documents WHERE doc_id = %s", (doc_id,)
            ).fetchone()
            conn.execute(
                "INSERT INTO kb_documents (doc_id, origin, source, root, type, title, team, "
                "course, module, author, date, skills, tags, visibility, content_hash, "
                "ingested_at, date_source, review_by, owner, session, link) "
                "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                "ON CONFLICT (doc_id) DO UPDATE SET origin = excluded.origin, "
                "source = excluded.source, root = excluded.root, type = excluded.type, "
                "title = excluded.title, team = excluded.team, course = excluded.course, "
                "module = excluded.module, author = excluded.author, date = excluded.date, "
                "skills = excluded.skills, tags = excluded.tags, "
                "visibility = excluded.visibility, content_hash = excluded.content_hash, "
                "ingested_at = excluded.ingested_at, date_source = excluded.date_source, "
                "review_by = excluded.review_by, owner = excluded.owner, "
                "session = excluded.session, link = excluded.link",
                document_values(doc, doc_id, now, as_list=list),
            )
            rows = [
                (
                    doc_id,
                    ordinal,
                    chunk.heading,
                    chunk.body,
                    location_to_json(chunk.location),
                    text_hash(chunk.text_key),
                    None if vector is None else np.asarray(vector, dtype=np.float32),
                    chunk_words.literal,
                    chunk_words.n_words,
                    places_to_json(chunk.places),
                )
                for ordinal, (chunk, vector, chunk_words) in enumerate(
                    zip(doc.chunks, vectors, lexemes, strict=True)
                )
            ]
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO kb_chunks (doc_id, ordinal, heading, body, location, "
                    "text_hash, embedding, tsv, n_words, places) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s,%s::tsvector,%s,%s)",
                    rows,
                )
            queued = {
                ordinal: text
                for ordinal, (chunk, vector) in enumerate(zip(doc.chunks, vectors, strict=True))
                if vector is None and (text := chunk.dense_text) is not None
            }
            if queued:
                conn.execute(
                    "INSERT INTO kb_pending_embeddings (chunk_id, doc_id, text_hash, text) "
                    "SELECT c.chunk_id, c.doc_id, c.text_hash, u.text "
                    "FROM unnest(%s::int[], %s::text[]) AS u (ordinal, text) "
                    "JOIN kb_chunks c ON c.doc_id = %s AND c.ordinal = u.ordinal",
                    (list(queued), list(queued.values()), doc_id),
                )
            postings = [
                (ordinal, lexeme, tf)
                for ordinal, words in enumerate(lexemes)
                for lexeme, tf in words.frequencies.items()
            ]
            conn.execute(
                "INSERT INTO kb_postings (lexeme, chunk_id, tf, n_words) "
                "SELECT u.lexeme, c.chunk_id, u.tf, c.n_words "
                "FROM unnest(%s::int[], %s::text[], %s::int[]) AS u (ordinal, lexeme, tf) "
                "JOIN kb_chunks c ON c.doc_id = %s AND c.ordinal = u.ordinal",
                (
                    [ordinal for ordinal, _, _ in postings],
                    [lexeme for _, lexeme, _ in postings],
                    [tf for _, _, tf in postings],
                    doc_id,
                ),
            )
            delta: Counter[str] = Counter()
            for chunk_words in lexemes:
                delta.update(chunk_words.stems)
            delta.subtract(old)
            words = sum(chunk_words.n_words for chunk_words in lexemes)
            self._count(conn, delta, len(doc.chunks) - old.chunks, words - old.words)
        return doc_id, ("updated" if existed else "added")

    def _remove_chunks(self, conn: psycopg.Connection, doc_id: str) -> _Removed:
        """Inside a write: delete a document's chunks; what they counted in the term counts."""
        removed = _Removed()
        conn.execute(
            "DELETE FROM kb_postings p USING kb_chunks c, unnest(c.tsv) u "
            "WHERE c.doc_id = %s AND p.chunk_id = c.chunk_id AND p.lexeme = u.lexeme",
            (doc_id,),
        )
        for lexemes, n_words in conn.execute(
            "DELETE FROM kb_chunks WHERE doc_id = %s RETURNING tsvector_to_array(tsv), n_words",
            (doc_id,),
        ):
            removed.update(lexemes)
            removed.chunks += 1
            removed.words += int(n_words)
        return removed

    @staticmethod
    def _count(conn: psycopg.Connection, delta: Counter[str], chunks: int, words: int) -> None:
        """Inside a write: the term counts, the chunk and word counts moved by `delta`,
        `chunks` and `words`, rows locked in one order (terms sorted, then the counts), then
        the version bumped."""
        changed = sorted((term, n) for term, n in delta.items() if n)
        if changed:  # one statement (a row each took 2.4x as long), rows in sorted order
            conn.execute(
                "INSERT INTO kb_term_df (term, df) SELECT u.term, u.df "
                "FROM unnest(%s::text[], %s::bigint[]) WITH ORDINALITY AS u (term, df, i) "
                "ORDER BY u.i ON CONFLICT (term) DO UPDATE SET df = kb_term_df.df + excluded.df",
                ([term for term, _ in changed], [n for _, n in changed]),
            )
        if chunks or words:
            conn.execute(
                "UPDATE kb_counts SET value = value + CASE name WHEN 'chunks' THEN %s "
                "ELSE %s END WHERE name IN ('chunks', 'words')",
                (chunks, words),
            )
        conn.execute("SELECT nextval('kb_version')")

    def delete_document(self, doc_id: str) -> None:
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 1))", (doc_id,))
            old = self._remove_chunks(conn, doc_id)
            cursor = conn.execute("DELETE FROM kb_documents WHERE doc_id = %s", (doc_id,))
            if cursor.rowcount == 0:
                raise NotFoundError(f"No document with id {doc_id!r}.")
            delta: Counter[str] = Counter()
            delta.subtract(old)
            self._count(conn, delta, -old.chunks, -old.words)

    # -- the embedding queue -----------------------------------------------------------------
    def count_pending(self) -> PendingCounts:
        with self._read() as conn:
            row = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT doc_id) FROM kb_pending_embeddings"
            ).fetchone()
        return PendingCounts(int(row[0]), int(row[1])) if row else PendingCounts()

    def claim_pending(
        self, owner: str, limit: int, seconds: float = CLAIM_SECONDS
    ) -> list[PendingChunk]:
        """Oldest first; never a chunk whose text another live claim holds (it would be
        encoded twice). Claims are taken one embedder at a time (an advisory lock), so two
        never pick the same text in the same instant."""
        now = time.time()
        with self._write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('kb_pending', 0))")
            rows = conn.execute(
                "UPDATE kb_pending_embeddings SET claimed_by = %s, claimed_until = %s "
                "WHERE chunk_id IN (SELECT p.chunk_id FROM kb_pending_embeddings p "
                "WHERE (p.claimed_until < %s OR p.claimed_by = %s) AND NOT EXISTS (SELECT 1 "
                "FROM kb_pending_embeddings o WHERE o.text_hash = p.text_hash "
                "AND o.claimed_until >= %s AND o.claimed_by <> %s) "
                "ORDER BY p.chunk_id LIMIT %s) "
                "RETURNING chunk_id, doc_id, text_hash, text",
                (owner, now + seconds, now, owner, now, owner, limit),
            ).fetchall()
        rows.sort(key=lambda r: int(r[0]))
        return [PendingChunk(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def fill_pending(self, vectors: Sequence[tuple[int, np.ndarray]]) -> int:
        if not vectors:
            return 0
        ids = [int(chunk_id) for chunk_id, _ in vectors]
        by_id = {int(chunk_id): vector for chunk_id, vector in vectors}
        with self._write() as conn:
            taken = conn.execute(
                "DELETE FROM kb_pending_embeddings WHERE chunk_id = ANY(%s) RETURNING chunk_id",
                (ids,),
            ).fetchall()
            with conn.cursor() as cursor:
                cursor.executemany(
                    "UPDATE kb_chunks SET embedding = %s WHERE chunk_id = %s",
                    [
                        (np.asarray(by_id[int(row[0])], dtype=np.float32), int(row[0]))
                        for row in taken
                    ],
                )
            if taken:
                conn.execute("SELECT nextval('kb_version')")
        return len(taken)

    def claim_owners(self) -> list[str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT claimed_by FROM kb_pending_embeddings WHERE claimed_until >= %s",
                (time.time(),),
            ).fetchall()
        return [str(row[0]) for row in rows if row[0] is not None]

    def release_claims(self, owner: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE kb_pending_embeddings SET claimed_by = NULL, claimed_until = 0 "
                "WHERE claimed_by = %s",
                (owner,),
            )

    # -- reads ------------------------------------------------------------------------------
    # -- near duplicates (kb.dedupe) ---------------------------------------------------------
    def put_signature(
        self,
        doc_id: str,
        signature: bytes | None,
        canonical: str | None,
        similarity: float | None,
        bands: Sequence[int] = (),
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO kb_doc_signatures (doc_id, signature, canonical, similarity) "
                "SELECT %s, %s, %s, %s WHERE EXISTS "
                "(SELECT 1 FROM kb_documents WHERE doc_id = %s) "
                "ON CONFLICT (doc_id) DO UPDATE SET signature = excluded.signature, "
                "canonical = excluded.canonical, similarity = excluded.similarity",
                (doc_id, signature, canonical, similarity, doc_id),
            )
            self._write_bands(conn, [(doc_id, bands)])

    def put_bands(self, rows: Sequence[tuple[str, Sequence[int]]]) -> None:
        with self._write() as conn:
            self._write_bands(conn, rows)

    @staticmethod
    def _write_bands(conn: psycopg.Connection, rows: Sequence[tuple[str, Sequence[int]]]) -> None:
        """Inside a transaction: each document's band keys replaced by `keys` (a document with
        no signature row, deleted meanwhile, gets none)."""
        if not rows:
            return
        conn.execute(
            "DELETE FROM kb_doc_signature_bands WHERE doc_id = ANY(%s)",
            ([doc_id for doc_id, _ in rows],),
        )
        flat = [(doc_id, band, key) for doc_id, keys in rows for band, key in enumerate(keys)]
        for start in range(0, len(flat), BANDS_PER_STATEMENT):  # a whole store at an upgrade
            part = flat[start : start + BANDS_PER_STATEMENT]
            conn.execute(
                "INSERT INTO kb_doc_signature_bands (doc_id, band, key) "
                "SELECT q.doc_id, q.band, q.key FROM "
                "unnest(%s::text[], %s::smallint[], %s::bigint[]) AS q(doc_id, band, key) "
                "WHERE EXISTS (SELECT 1 FROM kb_doc_signatures s WHERE s.doc_id = q.doc_id)",
                ([r[0] for r in part], [r[1] for r in part], [r[2] for r in part]),
            )

    def signature_candidates(self, bands: Sequence[int]) -> list[tuple[str, bytes, str | None]]:
        if not bands:
            return []
        with self._read() as conn:
            rows = conn.execute(
                "SELECT s.doc_id, s.signature, s.canonical FROM kb_doc_signatures s "
                "WHERE s.signature IS NOT NULL AND s.doc_id IN (SELECT b.doc_id FROM "
                "kb_doc_signature_bands b JOIN unnest(%s::smallint[], %s::bigint[]) "
                "AS q(band, key) ON b.band = q.band AND b.key = q.key) ORDER BY s.seq",
                (list(range(len(bands))), list(bands)),
            ).fetchall()
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def signatures(
        self, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, bytes, str | None]]:
        sql = (
            "SELECT doc_id, signature, canonical FROM kb_doc_signatures WHERE signature IS NOT NULL"
        )
        with self._read() as conn:
            if doc_ids is None:
                rows = conn.execute(sql + " ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    sql + " AND doc_id = ANY(%s) ORDER BY seq", (list(doc_ids),)
                ).fetchall()
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def set_canonicals(self, links: Sequence[tuple[str, str | None, float | None]]) -> None:
        with self._write() as conn, conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE kb_doc_signatures SET canonical = %s, similarity = %s WHERE doc_id = %s",
                [(canonical, sim, doc_id) for doc_id, canonical, sim in links],
            )

    def duplicate_links(self, doc_ids: Sequence[str] | None) -> list[DuplicateLink]:
        sql = (
            "SELECT doc_id, canonical, similarity FROM kb_doc_signatures "
            "WHERE canonical IS NOT NULL"
        )
        with self._read() as conn:
            if doc_ids is None:
                rows = conn.execute(sql + " ORDER BY seq").fetchall()
            else:
                rows = conn.execute(
                    f"{sql} AND canonical IN (SELECT COALESCE(canonical, doc_id) FROM "
                    "kb_doc_signatures WHERE doc_id = ANY(%s)) ORDER BY seq",
                    (list(doc_ids),),
                ).fetchall()
        return [DuplicateLink(str(r[0]), str(r[1]), r[2]) for r in rows]

    def content_hash_of(self, origin: str) -> str | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT content_hash FROM kb_documents WHERE origin = %s", (origin,)
            ).fetchone()
        return None if row is None else str(row[0])

    def count_documents(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM kb_documents").fetchone()[0])  # type: ignore[index]

    def count_chunks(self) -> int:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM kb_counts WHERE name = 'chunks'").fetchone()
        return int(row[0]) if row else 0

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM kb_documents d WHERE d.doc_id = %s", (doc_id,)
            ).fetchone()
        return None if row is None else _doc_from_row(row)

    def find_documents(self, ref: str) -> list[DocumentInfo]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM kb_documents d WHERE d.doc_id = %s "
                'OR d.source = %s OR d.origin = %s ORDER BY d.source COLLATE "C"',
                (ref, ref, ref),
            ).fetchall()
        return [_doc_from_row(row) for row in rows]

    def list_documents(self, filters: SearchFilters | None = None) -> list[DocumentInfo]:
        where, params = filter_clause(filters)
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {_DOC_COLUMNS} FROM kb_documents d WHERE {where} "
                'ORDER BY d.source COLLATE "C"',
                params,
            ).fetchall()
        return [_doc_from_row(row) for row in rows]

    def _infer_sessions(self) -> None:
        """Once per store: the sessions of the documents stored before migration 4, by the
        rules of kb.sessions (two processes doing it at once write the same values)."""
        with self._write() as conn:
            rows = conn.execute(
                "SELECT doc_id, source, course, module, date FROM kb_documents "
                "WHERE session IS NULL"
            ).fetchall()
            for session, doc_id in sessions_to_backfill(rows):
                conn.execute(
                    "UPDATE kb_documents SET session = %s WHERE doc_id = %s AND session IS NULL",
                    (session, doc_id),
                )
            conn.execute(
                "INSERT INTO kb_meta (key, value) VALUES (%s, '1') ON CONFLICT (key) DO NOTHING",
                (SESSIONS_INFERRED_KEY,),
            )

    def sessions_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc_id -> session of those of `doc_ids` that belong to one."""
        if not doc_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT doc_id, session FROM kb_documents WHERE session IS NOT NULL "
                "AND doc_id = ANY(%s)",
                (list(doc_ids),),
            ).fetchall()
        return {str(row[0]): str(row[1]) for row in rows}

    def origins_under(self, root: str) -> dict[str, str]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT origin, doc_id FROM kb_documents WHERE root = %s", (root,)
            ).fetchall()
        return {str(row[0]): str(row[1]) for row in rows}

    def get_chunks(self, doc_id: str) -> list[ChunkInfo]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT chunk_id, doc_id, ordinal, heading, body, location, places "
                "FROM kb_chunks WHERE doc_id = %s ORDER BY ordinal",
                (doc_id,),
            ).fetchall()
        return [
            ChunkInfo(
                int(r[0]), r[1], r[2], r[3], r[4], location_from_json(r[5]), places_from_json(r[6])
            )
            for r in rows
        ]

    def embeddings_for(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of texts already embedded, so that no text is embedded twice."""
        unique = list(dict.fromkeys(hashes))
        if not unique:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT DISTINCT ON (text_hash) text_hash, embedding FROM kb_chunks "
                "WHERE text_hash = ANY(%s) AND embedding IS NOT NULL",
                (unique,),
            ).fetchall()
        return {str(r[0]): _array(r[1]) for r in rows}

    def vectors_of(self, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those chunks that exist, in id order."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT chunk_id, embedding FROM kb_chunks WHERE chunk_id = ANY(%s) "
                "AND embedding IS NOT NULL ORDER BY chunk_id",
                (list(chunk_ids),),
            ).fetchall()
        return _stack(rows)

    def iter_embeddings(self, batch: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = -1
        while True:
            with self._read() as conn:
                rows = conn.execute(
                    "SELECT chunk_id, embedding FROM kb_chunks WHERE chunk_id > %s "
                    "AND embedding IS NOT NULL ORDER BY chunk_id LIMIT %s",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            ids, vectors = _stack(rows)
            yield ids, vectors
            last = int(ids[-1])

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, tuple[ChunkInfo, DocumentInfo]]:
        if not chunk_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT c.chunk_id, c.doc_id, c.ordinal, c.heading, c.body, c.location, "
                f"c.places, {_DOC_COLUMNS} FROM kb_chunks c "
                "JOIN kb_documents d ON d.doc_id = c.doc_id WHERE c.chunk_id = ANY(%s)",
                (list(chunk_ids),),
            ).fetchall()
        result: dict[int, tuple[ChunkInfo, DocumentInfo]] = {}
        for row in rows:
            location, places = location_from_json(row[5]), places_from_json(row[6])
            chunk = ChunkInfo(int(row[0]), row[1], row[2], row[3], row[4], location, places)
            result[int(row[0])] = (chunk, _doc_from_row(row[7:]))
        return result

    def docs_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        if not chunk_ids:
            return {}
        with self._read() as conn:
            rows = conn.execute(
                "SELECT chunk_id, doc_id FROM kb_chunks WHERE chunk_id = ANY(%s)",
                (list(chunk_ids),),
            ).fetchall()
        return {int(r[0]): str(r[1]) for r in rows}

    def has_chunks(self) -> bool:
        with self._read() as conn:
            row = conn.execute("SELECT EXISTS (SELECT 1 FROM kb_chunks)").fetchone()
        return bool(row and row[0])

    # -- search -----------------------------------------------------------------------------
    def nearest(
        self, vector: np.ndarray, limit: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        """(chunk_id, cosine) by the HNSW index, filters applied before the cut. A filtered
        search takes HNSW's nearest candidates in proportion to the filter's share of the
        chunks (a team holding a quarter of them: 4x as many) and filters those; when even
        the most (EF_SEARCH_MAX) would leave too few, or fewer than `limit` pass, the
        filtered chunks are searched exactly instead. (Left to itself, the planner scans the
        filtered chunks exactly whenever a filter joins the documents.)"""
        query = np.asarray(vector, dtype=np.float32).reshape(-1)
        where, params = filter_clause(None if filters is None or filters.is_empty() else filters)
        with self._write() as conn:  # a transaction, for SET LOCAL
            if where == "TRUE":
                conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH_MIN, 2 * limit)}")
                rows = conn.execute(
                    "SELECT chunk_id, 1 - (embedding <=> %s) FROM kb_chunks "
                    "WHERE embedding IS NOT NULL ORDER BY embedding <=> %s LIMIT %s",
                    [query, query, limit],
                ).fetchall()
                return [(int(r[0]), float(r[1])) for r in rows]
            share = self._filter_share(conn, where, params)
            wanted = math.ceil(2 * limit / share) if share > 0 else EF_SEARCH_MAX + 1
            rows = []
            if wanted <= EF_SEARCH_MAX:
                candidates = max(EF_SEARCH_MIN, wanted)
                conn.execute(f"SET LOCAL hnsw.ef_search = {candidates}")
                rows = conn.execute(
                    "SELECT c.chunk_id, 1 - c.distance FROM ("
                    "SELECT chunk_id, doc_id, embedding <=> %s AS distance FROM kb_chunks "
                    "WHERE embedding IS NOT NULL ORDER BY embedding <=> %s LIMIT %s) c "
                    f"JOIN kb_documents d ON d.doc_id = c.doc_id WHERE {where} "
                    "ORDER BY c.distance, c.chunk_id LIMIT %s",
                    [query, query, candidates, *params, limit],
                ).fetchall()
            if len(rows) < limit:  # exact, over the filtered chunks
                conn.execute("SET LOCAL enable_indexscan = off")
                rows = conn.execute(
                    "SELECT c.chunk_id, 1 - (c.embedding <=> %s) FROM kb_chunks c "
                    f"JOIN kb_documents d ON d.doc_id = c.doc_id WHERE {where} "
                    "AND c.embedding IS NOT NULL ORDER BY c.embedding <=> %s LIMIT %s",
                    [query, *params, query, limit],
                ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def _filter_share(self, conn: psycopg.Connection, where: str, params: Sequence[Any]) -> float:
        """The share of chunks a filter keeps, counted once per store version (a team's or a
        course's share changes only with writes)."""
        version = conn.execute("SELECT last_value FROM kb_version").fetchone()
        key = (where, repr(params), int(version[0]) if version else 0)
        with self._lock:
            share = self._filter_shares.get(key)
        if share is None:
            row = conn.execute(
                "SELECT (SELECT COUNT(*) FROM kb_chunks c "
                f"JOIN kb_documents d ON d.doc_id = c.doc_id WHERE {where}), "
                "(SELECT COUNT(*) FROM kb_chunks)",
                list(params),
            ).fetchone()
            kept, total = (int(row[0]), int(row[1])) if row else (0, 0)
            share = kept / total if total else 0.0
            with self._lock:
                if len(self._filter_shares) >= FILTER_SHARES_KEPT:
                    self._filter_shares.clear()
                self._filter_shares[key] = share
        return share

    def lexical_search(
        self,
        query: str,
        limit: int,
        filters: SearchFilters | None = None,
        postings_budget: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk_id, score) best first by the chunks' words (kb.store.lexical.postgres)."""
        phrases = query_phrases(query)
        if not phrases:
            return []
        where, filter_params = filter_clause(filters)
        join = (
            ""
            if where == "TRUE"
            else "JOIN kb_chunks c ON c.chunk_id = m.chunk_id "
            "JOIN kb_documents d ON d.doc_id = c.doc_id"
        )
        with self._read() as conn:
            single = [phrase[0] for phrase in phrases if len(phrase) == 1]
            df = {
                str(t): int(n)
                for t, n in conn.execute(
                    "SELECT term, df FROM kb_term_df WHERE term = ANY(%s)", (single,)
                )
            }
            for phrase in phrases:  # a word the index splits: its chunks are counted
                if len(phrase) > 1:
                    row = conn.execute(
                        "SELECT COUNT(*) FROM kb_chunks WHERE tsv @@ %s::tsquery",
                        (phrase_query(phrase),),
                    ).fetchone()
                    df[phrase_key(phrase)] = int(row[0]) if row else 0
            counts = dict(conn.execute("SELECT name, value FROM kb_counts").fetchall())
            before = bm25_parameters(
                query,
                df,
                int(counts.get("chunks", 0)),
                int(counts.get("words", 0)),
                postings_budget,
            )
            if before is None:
                return []
            rows = conn.execute(
                BM25_SQL.format(join=join, where=where), [*before, *filter_params, limit]
            ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]


class _Removed(Counter[str]):
    """The stems of removed chunks, counted once per chunk; how many chunks and words."""

    chunks: int = 0
    words: int = 0


def _array(value: Any) -> np.ndarray:
    """A stored vector as float32: the loader of pgvector's Python package gives a numpy
    array in its older versions and a `Vector` in newer ones (0.5 is installed here)."""
    if hasattr(value, "to_numpy"):
        value = value.to_numpy()
    return np.asarray(value, dtype=np.float32)


def _stack(rows: Sequence[Sequence[Any]]) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    if not rows:
        return ids, np.zeros((0, 0), dtype=np.float32)
    return ids, np.stack([_array(r[1]) for r in rows])


class PgVectors:
    """The dense side of search over a PostgreSQL store: nothing in memory, nothing to
    catch up with, every answer from the committed state."""

    def __init__(self, store: PgStore) -> None:
        self.store = store

    def search(
        self, vector: np.ndarray, limit: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        return self.store.nearest(vector, limit, filters)

    def docs_of(self, chunk_ids: Sequence[int]) -> Mapping[int, str]:
        return self.store.docs_of(chunk_ids)

    def is_empty(self) -> bool:
        return not self.store.has_chunks()

    def prepare(self, filters: SearchFilters | None) -> None:
        pass

    def catch_up(self) -> None:
        pass

    def flush(self) -> None:
        pass


__all__ = [
    "DUPLICATES_MIGRATIONS",
    "DUPLICATES_PART",
    "LINKS_MIGRATIONS",
    "LINKS_PART",
    "MIGRATIONS",
    "PgStore",
    "PgVectors",
    "filter_clause",
]
