"""The SQLite document store: documents, chunks and their embeddings, with its lexical index
(kb.store.lexical.sqlite), in `<home>/kb.sqlite`.

The store is the single source of truth; the faiss index and the chunk-to-document map that
each process keeps in memory are caches of it (kb.store.mirror). Several processes may share
one store (a server, CLI ingests, `kb rm`): every change to one document happens in one write
transaction that bumps `version` and records the chunk ids it removed and added in
`chunk_log`, so a process that sees a newer version catches up by reading only what changed."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kb.db import sqlite as sqlite_files
from kb.db.sqlite import WRITE_WAIT_SECONDS
from kb.errors import KBError, NotFoundError
from kb.store.base import (
    CLAIM_SECONDS,
    MANIFEST,
    VECTORS,
    VECTORS_OF_KEY,
    ChunkChanges,
    DuplicateLink,
    PendingChunk,
    PendingCounts,
    StoreBusyError,
    UnstagedChunks,
)
from kb.store.lexical.sqlite import Fts5Index
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
    read_manifest,
    sessions_to_backfill,
    text_hash,
    write_atomically,
)
from kb.types import ChunkInfo, DocumentInfo, DocumentInput, SearchFilters

if TYPE_CHECKING:
    from kb.store.base import DenseSearch

DATABASE = "kb.sqlite"  # the embedded store, in the home folder

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    origin TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    root TEXT,
    type TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    team TEXT, course TEXT, module TEXT, author TEXT, date TEXT,
    skills TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    visibility TEXT NOT NULL DEFAULT '[]',
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    date_source TEXT, review_by TEXT, owner TEXT, session TEXT
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE INDEX IF NOT EXISTS documents_root ON documents(root);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    body TEXT NOT NULL,
    location TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    dense_body TEXT,
    places TEXT
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS term_df (term TEXT PRIMARY KEY, df INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chunks_text_hash ON chunks(text_hash);
-- What each write did to the chunks, by store version: other processes replay it.
CREATE TABLE IF NOT EXISTS chunk_log (
    version INTEGER NOT NULL, chunk_id INTEGER NOT NULL, added INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_log_version ON chunk_log(version);
-- Chunks stored for their words whose vectors are still to be made (their `embedding` is
-- empty meanwhile), with the text to encode; an embedder claims some for a while.
CREATE TABLE IF NOT EXISTS pending_embeddings (
    chunk_id INTEGER PRIMARY KEY REFERENCES chunks(chunk_id) ON DELETE CASCADE,
    doc_id TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    claimed_by TEXT,
    claimed_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS pending_embeddings_hash ON pending_embeddings(text_hash);
-- Near duplicates (kb.dedupe): each document's MinHash signature (NULL: too short) and the
-- canonical document of its group (NULL: none, or it is one); seq is the stored order.
CREATE TABLE IF NOT EXISTS doc_signatures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL UNIQUE REFERENCES documents(doc_id) ON DELETE CASCADE,
    signature BLOB,
    canonical TEXT,
    similarity REAL
);
CREATE INDEX IF NOT EXISTS doc_signatures_canonical ON doc_signatures(canonical);
-- Each signed document's band keys (kb.dedupe.BANDS): a new document is compared only with
-- the documents that share one of its bands.
CREATE TABLE IF NOT EXISTS doc_signature_bands (
    doc_id TEXT NOT NULL REFERENCES doc_signatures(doc_id) ON DELETE CASCADE,
    band INTEGER NOT NULL,
    key INTEGER NOT NULL,
    PRIMARY KEY (doc_id, band)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS doc_signature_bands_key ON doc_signature_bands(band, key);
"""
# What the dense side embedded of the chunk instead of its body (a notebook cell without
# its outputs), "" for nothing (found by its words only); NULL: the body. Re-embedding reads it.
DENSE_BODY_COLUMN = "ALTER TABLE chunks ADD COLUMN dense_body TEXT"
# Where each piece packed into the chunk begins, and its own location (JSON, `places_to_json`);
# NULL: a chunk of one piece, or one stored before places were kept (its location stands).
PLACES_COLUMN = "ALTER TABLE chunks ADD COLUMN places TEXT"
# Freshness (kb.freshness): where a document's date came from, its review date, its owner; a
# store made before them gets them (NULL: not known until the document is read again).
FRESHNESS_COLUMNS = ("date_source", "review_by", "owner")
# Chunks that have or await a vector (not those found by their words only).
WANTS_VECTOR = "(dense_body IS NULL OR dense_body != '')"
# A chunk's `embedding` while it waits in `pending_embeddings`: no vector yet.
NO_VECTOR = b""
# Only chunks that have their vector: the dense side, the vectors to reuse, the mirror.
HAS_VECTOR = "length(embedding) > 0"
# The training session a document belongs to (kb.sessions); stores made before it get the
# column, and the sessions their documents' names and metadata give, when next opened.
SESSION_COLUMN = "ALTER TABLE documents ADD COLUMN session TEXT"
# Where to read a document at its origin (a synced source's link, docs/sources.md); stores made
# before it get the column (NULL: no link) when next opened.
LINK_COLUMN = "ALTER TABLE documents ADD COLUMN link TEXT"
SESSION_INDEX = "CREATE INDEX IF NOT EXISTS documents_session ON documents(session)"

_DOC_COLUMNS = (
    "d.doc_id, d.source, d.title, d.type, d.team, d.course, d.module, d.skills, d.tags, "
    "d.author, d.date, d.visibility, d.origin, d.content_hash, "
    "(SELECT COUNT(*) FROM chunks c WHERE c.doc_id = d.doc_id), d.root, "
    "d.date_source, d.review_by, d.owner, d.session, d.link"
)


def filter_clause(filters: SearchFilters | None) -> tuple[str, list[Any]]:
    """SQL (over alias `d` = documents) for the filters; ('1', []) when there are none."""
    return filters_in(SQLITE_FILTERS, filters)


def visibility_clause(teams: tuple[str, ...]) -> tuple[str, list[str]]:
    """`kb.types.visible_to` in SQL (over alias `d`): unrestricted, or a team in common."""
    marks = ",".join("?" * len(teams)) or "NULL"
    return (
        "(d.visibility = '[]' OR EXISTS (SELECT 1 FROM json_each(d.visibility) j "
        f"WHERE j.value IN ({marks})))",
        list(teams),
    )


# Filter values are compared without regard to case in every script (SQLite's own NOCASE
# folds only A-Z; PostgreSQL's lower() folds Équipe as équipe): KB_NOCASE, registered on each
# connection, compares the values' lower case as Python gives it.
NOCASE_COLLATION = "KB_NOCASE"


def _compare_nocase(left: str, right: str) -> int:
    a, b = left.lower(), right.lower()
    return (a > b) - (a < b)


SQLITE_FILTERS = FilterSql(
    everything="1",
    equals=f"d.{{column}} = ? COLLATE {NOCASE_COLLATION}",
    holds="EXISTS (SELECT 1 FROM json_each(d.{column}) j "
    f"WHERE j.value = ? COLLATE {NOCASE_COLLATION})",
    visible=visibility_clause,
)


_VERSION_SQL = "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'version'), 0)"
_LOG_FLOOR_SQL = (
    "SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'log_floor'), 0)"
)

# The change log keeps this many versions; a process further behind re-reads the chunk map.
LOG_KEEP_VERSIONS = 20_000
LOG_PRUNE_EVERY = 1_000
# Re-embedding (`kb reembed`): vectors staged for the target model and variant.
_STAGING = "reembed_vectors"
_TARGET_KEY = "reembed_target"


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite_files.connect(path, check_same_thread=False)
    db.create_collation(NOCASE_COLLATION, _compare_nocase)
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


IN_PART = 400  # values bound in one `IN (...)`: well under SQLite's limit on variables


def in_parts(values: Sequence[str]) -> Iterator[tuple[list[str], str]]:
    """`values` without repeats, in parts of `IN_PART`, each with its "?,?,..." placeholders."""
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), IN_PART):
        part = unique[start : start + IN_PART]
        yield part, ",".join("?" * len(part))


class Store:
    """All reads and writes of the SQLite database; thread-safe, and safe to share between
    processes.

    Reads and writes use separate connections, each behind its own lock: in WAL mode a read
    never waits for a write, so searches go on while this or another process writes.
    """

    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path.parent)
        self._lock = threading.RLock()  # the reading connection
        # each thread's own read-only connection for `version` (see there), all closed by close
        self._version_local = threading.local()
        self._version_dbs: list[sqlite3.Connection] = []
        self._write_lock = threading.RLock()  # the writing connection
        try:
            self._writer = _connect(path)
            self._writer.executescript(SCHEMA)
            self._db = _connect(path)
            with self._transaction():  # a store made before dense bodies: one process adds it
                columns = {row[1] for row in self._writer.execute("PRAGMA table_info(chunks)")}
                if "dense_body" not in columns:
                    self._writer.execute(DENSE_BODY_COLUMN)
                if "places" not in columns:  # a store made before places: one process adds it
                    self._writer.execute(PLACES_COLUMN)
            with self._transaction():  # a store made before freshness: one process adds them
                columns = {row[1] for row in self._writer.execute("PRAGMA table_info(documents)")}
                for column in FRESHNESS_COLUMNS:
                    if column not in columns:  # a constant name, not input
                        self._writer.execute(f"ALTER TABLE documents ADD COLUMN {column} TEXT")
                if "session" not in columns:
                    self._writer.execute(SESSION_COLUMN)
                    rows = self._writer.execute(
                        "SELECT doc_id, source, course, module, date FROM documents"
                    ).fetchall()
                    self._writer.executemany(
                        "UPDATE documents SET session = ? WHERE doc_id = ?",
                        sessions_to_backfill(rows),
                    )
                self._writer.execute(SESSION_INDEX)
                if "link" not in columns:  # a store made before synced sources' links
                    self._writer.execute(LINK_COLUMN)
            with self._transaction():
                self._writer.execute(
                    "INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', ?)",
                    (uuid.uuid4().hex,),
                )
                # A store written before the log existed: the log starts at its version.
                self._writer.execute(
                    "INSERT OR IGNORE INTO meta(key, value) SELECT 'log_floor', "
                    "COALESCE((SELECT value FROM meta WHERE key = 'version'), '0')"
                )
            self.lexical = Fts5Index(self._writer, self._db, self._lock)
            if not self.lexical.is_current():
                with self._transaction():
                    self.lexical.rebuild()
        except sqlite3.DatabaseError as exc:
            raise KBError(
                f"{path} is not a readable knowledge-base database ({exc}); "
                "point --home at another folder or move this file away."
            ) from exc
        self.store_id = self.get_meta("store_id") or ""

    def close(self) -> None:
        with self._write_lock:
            self._writer.close()
        with self._lock:
            self._db.close()
            for db in self._version_dbs:
                db.close()
            self._version_dbs.clear()

    # -- manifest and dense search -----------------------------------------------------------
    def read_manifest(self) -> dict[str, Any] | None:
        return read_manifest(self.path.parent)

    def write_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """A file beside the database (see `write_atomically`)."""
        existing = self.read_manifest()
        if existing is not None:
            return existing
        write_atomically(self.path.parent / MANIFEST, json.dumps(manifest))
        return manifest

    def dense_search(self, dim: int) -> DenseSearch:
        from kb.store.mirror import MirroredVectors

        return MirroredVectors(self.path.parent / VECTORS, dim, self)

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        with self._transaction():
            if value is None:
                self._writer.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._set_meta(key, value)

    @property
    def version(self) -> int:
        """Bumped by every committed write, in this process or another, and read fresh from
        the file every time. Each thread reads it on a read-only connection of its own: a
        search asks five times, and on the shared reading connection those reads queued
        behind other threads' reads (13% of a busy server's samples)."""
        db = getattr(self._version_local, "db", None)
        if db is None:
            db = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            with self._lock:
                self._version_dbs.append(db)
            self._version_local.db = db
        return int(db.execute(_VERSION_SQL).fetchone()[0])

    def _bump_version(self, removed: Sequence[int], added: Sequence[int]) -> int:
        """Inside a write transaction: the next version, with the chunk changes it carries."""
        row = self._writer.execute(
            "INSERT INTO meta(key, value) VALUES ('version', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) RETURNING value"
        ).fetchone()
        version = int(row[0])
        self._writer.executemany(
            "INSERT INTO chunk_log(version, chunk_id, added) VALUES (?, ?, ?)",
            [(version, chunk_id, 0) for chunk_id in removed]
            + [(version, chunk_id, 1) for chunk_id in added],
        )
        if version % LOG_PRUNE_EVERY == 0 and version > LOG_KEEP_VERSIONS:
            floor = version - LOG_KEEP_VERSIONS
            self._writer.execute("DELETE FROM chunk_log WHERE version <= ?", (floor,))
            self._writer.execute("UPDATE meta SET value = ? WHERE key = 'log_floor'", (str(floor),))
        return version

    # -- writes -------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction: all of it lands, or none of it. Writers in other processes
        are serialised by SQLite; this one waits up to WRITE_WAIT_SECONDS for them."""
        with self._write_lock:
            try:
                self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                raise StoreBusyError(
                    f"Another process has been writing to {self.path} for over "
                    f"{WRITE_WAIT_SECONDS:.0f} s; nothing was written. Try again when it "
                    "has finished (kb ingest, kb rm or a server's ingest job)."
                ) from exc
            try:
                yield
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._writer.execute("COMMIT")

    def _chunk_ids_of(self, doc_id: str) -> list[int]:
        rows = self._writer.execute("SELECT chunk_id FROM chunks WHERE doc_id = ?", (doc_id,))
        return [int(row[0]) for row in rows]

    def _unindex_document(self, doc_id: str) -> None:
        rows = self._writer.execute(
            "SELECT chunk_id, heading, body FROM chunks WHERE doc_id = ?", (doc_id,)
        ).fetchall()
        self.lexical.remove(rows)

    def content_hash_of(self, origin: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT content_hash FROM documents WHERE origin = ?", (origin,)
            ).fetchone()
        return None if row is None else str(row[0])

    def embeddings_for(self, hashes: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors of texts already embedded, so that no text is embedded twice."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(hashes))
        with self._lock:
            for start in range(0, len(unique), 500):
                part = unique[start : start + 500]
                marks = ",".join("?" * len(part))
                for digest, blob in self._db.execute(
                    f"SELECT text_hash, embedding FROM chunks WHERE text_hash IN ({marks}) "
                    f"AND {HAS_VECTOR}",
                    part,
                ):
                    found[digest] = np.frombuffer(blob, dtype=np.float32)
        return found

    def replace_document(
        self, doc: DocumentInput, vectors: np.ndarray | Sequence[np.ndarray | None]
    ) -> tuple[str, str]:
        """Insert or replace a document and all its chunks atomically; returns (doc_id,
        'added'|'updated'). A chunk without a vector is queued in `pending_embeddings`. The
        chunk ids it removed and added go to the change log, which every process, this one
        included, replays (`changes_since`)."""
        if len(vectors) != len(doc.chunks):
            raise ValueError("one vector (or None) per chunk is required")
        doc_id = doc_id_for(doc.origin)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._transaction():
            removed = self._chunk_ids_of(doc_id)
            existed = self._writer.execute(
                "SELECT 1 FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            self._unindex_document(doc_id)
            self._writer.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
            self._writer.execute(
                "INSERT INTO documents(doc_id, origin, source, root, type, title, team, "
                "course, module, author, date, skills, tags, visibility, content_hash, "
                "ingested_at, date_source, review_by, owner, session, link) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(doc_id) DO UPDATE SET origin=excluded.origin, "
                "source=excluded.source, root=excluded.root, type=excluded.type, "
                "title=excluded.title, team=excluded.team, course=excluded.course, "
                "module=excluded.module, author=excluded.author, date=excluded.date, "
                "skills=excluded.skills, tags=excluded.tags, visibility=excluded.visibility, "
                "content_hash=excluded.content_hash, ingested_at=excluded.ingested_at, "
                "date_source=excluded.date_source, review_by=excluded.review_by, "
                "owner=excluded.owner, session=excluded.session, link=excluded.link",
                document_values(doc, doc_id, now, as_list=lambda v: json.dumps(list(v))),
            )
            added: list[int] = []
            indexed: list[tuple[int, str, str]] = []
            queued: list[tuple[int, str, str, str]] = []
            for ordinal, (chunk, vector) in enumerate(zip(doc.chunks, vectors, strict=True)):
                digest = text_hash(chunk.text_key)
                cursor = self._writer.execute(
                    "INSERT INTO chunks(doc_id, ordinal, heading, body, location, text_hash, "
                    "dense_body, embedding, places) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        doc_id,
                        ordinal,
                        chunk.heading,
                        chunk.body,
                        location_to_json(chunk.location),
                        digest,
                        chunk.dense_body,
                        NO_VECTOR
                        if vector is None
                        else np.asarray(vector, dtype=np.float32).tobytes(),
                        places_to_json(chunk.places),
                    ),
                )
                added.append(int(cursor.lastrowid or 0))
                indexed.append((added[-1], chunk.heading, chunk.body))
                if vector is None and chunk.dense_text is not None:
                    queued.append((added[-1], doc_id, digest, chunk.dense_text))
            self.lexical.add(indexed)
            self._writer.executemany(
                "INSERT INTO pending_embeddings(chunk_id, doc_id, text_hash, text) "
                "VALUES (?,?,?,?)",
                queued,
            )
            self._bump_version(removed, added)
        return doc_id, ("updated" if existed else "added")

    # -- the embedding queue ---------------------------------------------------------------
    def count_pending(self) -> PendingCounts:
        with self._lock:
            chunks, documents = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT doc_id) FROM pending_embeddings"
            ).fetchone()
        return PendingCounts(int(chunks), int(documents))

    def claim_pending(
        self, owner: str, limit: int, seconds: float = CLAIM_SECONDS
    ) -> list[PendingChunk]:
        """Oldest first; never a chunk whose text another live claim holds (it would be
        encoded twice)."""
        now = time.time()
        with self._transaction():
            rows = self._writer.execute(
                "SELECT p.chunk_id, p.doc_id, p.text_hash, p.text FROM pending_embeddings p "
                "WHERE (p.claimed_until < ? OR p.claimed_by = ?) AND NOT EXISTS (SELECT 1 "
                "FROM pending_embeddings o WHERE o.text_hash = p.text_hash "
                "AND o.claimed_until >= ? AND o.claimed_by != ?) ORDER BY p.chunk_id LIMIT ?",
                (now, owner, now, owner, limit),
            ).fetchall()
            self._writer.executemany(
                "UPDATE pending_embeddings SET claimed_by = ?, claimed_until = ? "
                "WHERE chunk_id = ?",
                [(owner, now + seconds, row[0]) for row in rows],
            )
        return [PendingChunk(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]

    def fill_pending(self, vectors: Sequence[tuple[int, np.ndarray]]) -> int:
        """The filled chunks go to the change log as added: every process's mirror takes in
        their vectors."""
        filled: list[int] = []
        with self._transaction():
            for chunk_id, vector in vectors:
                cursor = self._writer.execute(
                    "DELETE FROM pending_embeddings WHERE chunk_id = ?", (chunk_id,)
                )
                if cursor.rowcount:
                    self._writer.execute(
                        "UPDATE chunks SET embedding = ? WHERE chunk_id = ?",
                        (np.asarray(vector, dtype=np.float32).tobytes(), chunk_id),
                    )
                    filled.append(chunk_id)
            if filled:
                self._bump_version([], filled)
        return len(filled)

    def claim_owners(self) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT claimed_by FROM pending_embeddings WHERE claimed_until >= ?",
                (time.time(),),
            ).fetchall()
        return [str(row[0]) for row in rows if row[0] is not None]

    def release_claims(self, owner: str) -> None:
        with self._transaction():
            self._writer.execute(
                "UPDATE pending_embeddings SET claimed_by = NULL, claimed_until = 0 "
                "WHERE claimed_by = ?",
                (owner,),
            )

    def delete_document(self, doc_id: str) -> None:
        """Remove a document and its chunks (logged for `changes_since`, like every write)."""
        with self._transaction():
            removed = self._chunk_ids_of(doc_id)
            self._unindex_document(doc_id)
            cursor = self._writer.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
            if cursor.rowcount == 0:
                raise NotFoundError(f"No document with id {doc_id!r}.")
            self._bump_version(removed, [])

    # -- near duplicates (kb.dedupe) -----------------------------------------------------
    def put_signature(
        self,
        doc_id: str,
        signature: bytes | None,
        canonical: str | None,
        similarity: float | None,
        bands: Sequence[int] = (),
    ) -> None:
        with self._transaction():
            self._writer.execute(
                "INSERT INTO doc_signatures(doc_id, signature, canonical, similarity) "
                "SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM documents WHERE doc_id = ?) "
                "ON CONFLICT(doc_id) DO UPDATE SET signature = excluded.signature, "
                "canonical = excluded.canonical, similarity = excluded.similarity",
                (doc_id, signature, canonical, similarity, doc_id),
            )
            self._write_bands([(doc_id, bands)])

    def put_bands(self, rows: Sequence[tuple[str, Sequence[int]]]) -> None:
        with self._transaction():
            self._write_bands(rows)

    def _write_bands(self, rows: Sequence[tuple[str, Sequence[int]]]) -> None:
        """Inside a transaction: each document's band keys replaced by `keys` (a document with
        no signature row, deleted meanwhile, gets none). The rows still signed are looked up
        once, so the keys go in as plain inserts (a whole store's at an upgrade)."""
        wanted = list(dict.fromkeys(doc_id for doc_id, _ in rows))
        present: set[str] = set()
        for part, marks in in_parts(wanted):
            found = self._writer.execute(
                f"SELECT doc_id FROM doc_signatures WHERE doc_id IN ({marks})", part
            )
            present.update(str(row[0]) for row in found)
        self._writer.executemany(
            "DELETE FROM doc_signature_bands WHERE doc_id = ?", [(d,) for d in wanted]
        )
        self._writer.executemany(
            "INSERT INTO doc_signature_bands(doc_id, band, key) VALUES (?, ?, ?)",
            [
                (doc_id, band, key)
                for doc_id, keys in rows
                if doc_id in present
                for band, key in enumerate(keys)
            ],
        )

    def signature_candidates(self, bands: Sequence[int]) -> list[tuple[str, bytes, str | None]]:
        if not bands:
            return []
        pairs = " OR ".join("(band = ? AND key = ?)" for _ in bands)
        with self._lock:
            rows = self._db.execute(
                "SELECT doc_id, signature, canonical FROM doc_signatures WHERE signature IS NOT "
                f"NULL AND doc_id IN (SELECT doc_id FROM doc_signature_bands WHERE {pairs}) "
                "ORDER BY seq",
                [value for band, key in enumerate(bands) for value in (band, key)],
            ).fetchall()
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def signatures(
        self, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, bytes, str | None]]:
        rows = self._signature_rows(
            "doc_id, signature, canonical", "signature IS NOT NULL", doc_ids, "doc_id IN ({marks})"
        )
        return [(str(r[0]), bytes(r[1]), r[2]) for r in rows]

    def _signature_rows(
        self, columns: str, where: str, doc_ids: Sequence[str] | None, of_ids: str
    ) -> list[Any]:
        """`columns` (then `seq`) of the signature rows that `where` keeps, in stored order:
        every one (`doc_ids` None), or those `of_ids` keeps for `doc_ids` (its `{marks}` the
        placeholders of one part of them at a time)."""
        sql = f"SELECT {columns}, seq FROM doc_signatures WHERE {where}"
        with self._lock:
            if doc_ids is None:
                return self._db.execute(sql + " ORDER BY seq").fetchall()
            rows: list[Any] = []
            for part, marks in in_parts(doc_ids):
                rows += self._db.execute(f"{sql} AND {of_ids.format(marks=marks)}", part).fetchall()
        rows.sort(key=lambda r: r[-1])  # stored order across the parts
        return rows

    def set_canonicals(self, links: Sequence[tuple[str, str | None, float | None]]) -> None:
        with self._transaction():
            self._writer.executemany(
                "UPDATE doc_signatures SET canonical = ?, similarity = ? WHERE doc_id = ?",
                [(canonical, sim, doc_id) for doc_id, canonical, sim in links],
            )

    def duplicate_links(self, doc_ids: Sequence[str] | None) -> list[DuplicateLink]:
        rows = self._signature_rows(
            "doc_id, canonical, similarity",
            "canonical IS NOT NULL",
            doc_ids,
            "canonical IN (SELECT COALESCE(canonical, doc_id) FROM doc_signatures "
            "WHERE doc_id IN ({marks}))",
        )
        seen: dict[str, DuplicateLink] = {}
        for doc_id, canonical, sim, _ in rows:
            seen.setdefault(doc_id, DuplicateLink(doc_id, canonical, sim))
        return list(seen.values())

    # -- reads --------------------------------------------------------------------------
    def count_documents(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0])

    def count_chunks(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.doc_id = ?", (doc_id,)
            ).fetchone()
        return None if row is None else doc_from_row(row)

    def find_documents(self, ref: str) -> list[DocumentInfo]:
        """Documents matching an id, a source as shown in hits, or an origin path."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE d.doc_id = ? OR d.source = ? "
                "OR d.origin = ? ORDER BY d.source",
                (ref, ref, ref),
            ).fetchall()
        return [doc_from_row(row) for row in rows]

    def list_documents(self, filters: SearchFilters | None = None) -> list[DocumentInfo]:
        where, params = filter_clause(filters)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_DOC_COLUMNS} FROM documents d WHERE {where} ORDER BY d.source", params
            ).fetchall()
        return [doc_from_row(row) for row in rows]

    def sessions_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc_id -> session of those of `doc_ids` that belong to one."""
        if not doc_ids:
            return {}
        marks = ",".join("?" * len(doc_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT doc_id, session FROM documents WHERE session IS NOT NULL "
                f"AND doc_id IN ({marks})",
                list(doc_ids),
            ).fetchall()
        return {str(row[0]): str(row[1]) for row in rows}

    def origins_under(self, root: str) -> dict[str, str]:
        """origin -> doc_id for the documents ingested from folder `root`."""
        with self._lock:
            rows = self._db.execute(
                "SELECT origin, doc_id FROM documents WHERE root = ?", (root,)
            ).fetchall()
        return {row[0]: row[1] for row in rows}

    def get_chunks(self, doc_id: str) -> list[ChunkInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT chunk_id, doc_id, ordinal, heading, body, location, places FROM chunks "
                "WHERE doc_id = ? ORDER BY ordinal",
                (doc_id,),
            ).fetchall()
        return [
            ChunkInfo(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                location_from_json(row[5]),
                places_from_json(row[6]),
            )
            for row in rows
        ]

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside it sees one committed state of the store."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            finally:
                self._db.execute("COMMIT")

    def chunk_docs(self) -> tuple[int, dict[int, str]]:
        """(version, chunk_id -> doc_id of every chunk at that version), read as one state."""
        with self._snapshot() as db:
            version = int(db.execute(_VERSION_SQL).fetchone()[0])
            docs = {
                int(c): str(d)
                for c, d in db.execute(f"SELECT chunk_id, doc_id FROM chunks WHERE {HAS_VECTOR}")
            }
        return version, docs

    def doc_ids_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        with self._lock:
            for start in range(0, len(chunk_ids), 500):
                part = list(chunk_ids[start : start + 500])
                marks = ",".join("?" * len(part))
                found.update(
                    (int(c), str(d))
                    for c, d in self._db.execute(
                        f"SELECT chunk_id, doc_id FROM chunks WHERE chunk_id IN ({marks})", part
                    )
                )
        return found

    def changes_since(self, version: int) -> ChunkChanges | None:
        """The chunks removed and added by the writes after `version`, as one state; None when
        the log no longer reaches back that far (then re-read everything with `chunk_docs`)."""
        with self._snapshot() as db:
            current = int(db.execute(_VERSION_SQL).fetchone()[0])
            floor = int(db.execute(_LOG_FLOOR_SQL).fetchone()[0])
            if version < floor or version > current:
                return None
            removed: list[int] = []
            added: dict[int, str] = {}
            for chunk_id, was_added in db.execute(
                "SELECT chunk_id, added FROM chunk_log WHERE version > ? AND version <= ? "
                "ORDER BY version, rowid",
                (version, current),
            ):
                if was_added:
                    added[int(chunk_id)] = ""
                else:
                    added.pop(int(chunk_id), None)
                    removed.append(int(chunk_id))
            ids, vectors, docs = self._vectors_of(db, list(added))
        return ChunkChanges(
            current, removed, dict(zip(ids.tolist(), docs, strict=True)), (ids, vectors)
        )

    def vectors_of(self, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of those chunks that exist, in id order."""
        with self._snapshot() as db:
            ids, vectors, _ = self._vectors_of(db, chunk_ids)
        return ids, vectors

    @staticmethod
    def _vectors_of(
        db: sqlite3.Connection, chunk_ids: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        rows: list[tuple[int, str, bytes]] = []
        wanted = sorted(chunk_ids)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ",".join("?" * len(part))
            rows.extend(
                db.execute(
                    f"SELECT chunk_id, doc_id, embedding FROM chunks WHERE chunk_id IN ({marks}) "
                    f"AND {HAS_VECTOR} ORDER BY chunk_id",
                    part,
                )
            )
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, 0), dtype=np.float32), []
        vectors = np.frombuffer(b"".join(row[2] for row in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), -1), [str(row[1]) for row in rows]

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, tuple[ChunkInfo, DocumentInfo]]:
        """Chunks with their documents, for turning ranked ids into hits."""
        if not chunk_ids:
            return {}
        marks = ",".join("?" * len(chunk_ids))
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.chunk_id, c.doc_id, c.ordinal, c.heading, c.body, c.location, "
                f"c.places, {_DOC_COLUMNS} FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                f"WHERE c.chunk_id IN ({marks})",
                list(chunk_ids),
            ).fetchall()
        result: dict[int, tuple[ChunkInfo, DocumentInfo]] = {}
        for row in rows:
            location = location_from_json(row[5])
            places = places_from_json(row[6])
            chunk = ChunkInfo(row[0], row[1], row[2], row[3], row[4], location, places)
            result[row[0]] = (chunk, doc_from_row(row[7:]))
        return result

    def iter_embeddings(self, batch: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(ids, vectors) in batches, to rebuild the vector index without loading text."""
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    f"SELECT chunk_id, embedding FROM chunks WHERE chunk_id > ? AND {HAS_VECTOR} "
                    "ORDER BY chunk_id LIMIT ?",
                    (last, batch),
                ).fetchall()
            if not rows:
                return
            ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
            yield ids, vectors.reshape(len(rows), -1)
            last = int(ids[-1])

    # -- re-embedding: new vectors staged beside the stored ones, then switched at once ----
    def start_staging(self, target: str) -> int:
        """Stage vectors for `target` (a model and variant), keeping those an interrupted run
        for the same target staged; returns how many chunks already have theirs."""
        with self._transaction():
            db = self._writer
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_STAGING} (chunk_id INTEGER PRIMARY KEY, "
                "text_hash TEXT NOT NULL, embedding BLOB NOT NULL)"
            )
            row = db.execute("SELECT value FROM meta WHERE key = ?", (_TARGET_KEY,)).fetchone()
            if row is None or row[0] != target:
                db.execute(f"DELETE FROM {_STAGING}")
                self._set_meta(_TARGET_KEY, target)
            # Chunks deleted since they were staged need no vector.
            db.execute(
                f"DELETE FROM {_STAGING} WHERE chunk_id NOT IN (SELECT chunk_id FROM chunks)"
            )
            return int(db.execute(f"SELECT COUNT(*) FROM {_STAGING}").fetchone()[0])

    def unstaged_chunks(self, after: int, limit: int) -> UnstagedChunks:
        """The next `limit` chunks after id `after` without a staged vector, with the staged
        vectors of texts they share with chunks staged before, read as one state."""
        with self._snapshot() as db:
            total = int(
                db.execute(f"SELECT COUNT(*) FROM chunks WHERE {WANTS_VECTOR}").fetchone()[0]
            )
            done = int(db.execute(f"SELECT COUNT(*) FROM {_STAGING}").fetchone()[0])
            # the text each chunk's vector is of: its dense body where it has one
            rows = db.execute(
                "SELECT c.chunk_id, c.text_hash, c.heading, COALESCE(c.dense_body, c.body) "
                f"FROM chunks c WHERE c.chunk_id > ? AND {WANTS_VECTOR} AND NOT EXISTS "
                f"(SELECT 1 FROM {_STAGING} r WHERE r.chunk_id = c.chunk_id) "
                "ORDER BY c.chunk_id LIMIT ?",
                (after, limit),
            ).fetchall()
            hashes = list(dict.fromkeys(str(row[1]) for row in rows))
            known: dict[str, bytes] = {}
            for start in range(0, len(hashes), 500):
                part = hashes[start : start + 500]
                marks = ",".join("?" * len(part))
                known.update(
                    db.execute(
                        f"SELECT text_hash, embedding FROM {_STAGING} WHERE text_hash IN ({marks})",
                        part,
                    ).fetchall()
                )
        chunks = [(int(r[0]), str(r[1]), str(r[2]), str(r[3])) for r in rows]
        return UnstagedChunks(total, done, chunks, known)

    def stage_vectors(self, staged: Sequence[tuple[int, str, bytes]]) -> None:
        """Record (chunk_id, text_hash, float32 vector bytes) in one transaction."""
        with self._transaction():
            self._writer.executemany(
                f"INSERT OR REPLACE INTO {_STAGING}(chunk_id, text_hash, embedding) VALUES (?,?,?)",
                staged,
            )

    def switch_to_staged(self, target: str) -> bool:
        """In one transaction: every chunk's vector replaced by its staged one, the change
        logged for other processes, `target` recorded as what the vectors are of, the staging
        dropped. False (nothing changed) when some chunk has no staged vector yet."""
        with self._transaction():
            db = self._writer
            missing = db.execute(
                f"SELECT 1 FROM chunks c WHERE {WANTS_VECTOR} AND NOT EXISTS "
                f"(SELECT 1 FROM {_STAGING} r WHERE r.chunk_id = c.chunk_id) LIMIT 1"
            ).fetchone()
            if missing:
                return False
            db.execute(
                f"UPDATE chunks SET embedding = (SELECT r.embedding FROM {_STAGING} r "
                f"WHERE r.chunk_id = chunks.chunk_id) WHERE {WANTS_VECTOR}"
            )
            db.execute("DELETE FROM pending_embeddings")  # every chunk has its vector now
            ids = [int(row[0]) for row in db.execute("SELECT chunk_id FROM chunks")]
            self._bump_version(ids, ids)  # every vector changed: processes replay them all
            self._set_meta(VECTORS_OF_KEY, target)
            db.execute("DELETE FROM meta WHERE key = ?", (_TARGET_KEY,))
            db.execute(f"DROP TABLE {_STAGING}")
        return True

    def drop_staging(self) -> None:
        with self._transaction():
            self._writer.execute(f"DROP TABLE IF EXISTS {_STAGING}")
            self._writer.execute("DELETE FROM meta WHERE key = ?", (_TARGET_KEY,))

    def _set_meta(self, key: str, value: str) -> None:
        """Inside a write transaction."""
        self._writer.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def chunk_ids_matching(self, filters: SearchFilters) -> np.ndarray:
        where, params = filter_clause(filters)
        with self._lock:
            rows = self._db.execute(
                f"SELECT c.chunk_id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                f"WHERE {where}",
                params,
            ).fetchall()
        return np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))

    def lexical_search(
        self,
        query: str,
        limit: int,
        filters: SearchFilters | None = None,
        postings_budget: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk_id, score) by BM25, best first (the store's `lexical` index), filtered in
        SQL before the cut."""
        where = None if filters is None else filter_clause(filters)
        return self.lexical.search(query, limit, where, postings_budget)


def open_in_home(home: Path) -> Store:
    """The embedded store of the home folder `home` (made when missing): the default of
    `kb.open_knowledge_base` and what `api.backends.SqliteBackend` opens."""
    home.mkdir(parents=True, exist_ok=True)
    return Store(home / DATABASE)
