"""The document store's contract: what the knowledge base needs of any backend.

`DocumentStore` is the seam; `LoggedStore` adds the change log a process replays to keep an
in-memory mirror of the vectors (the SQLite store), `ReembeddableStore` the staging that
`kb reembed` uses, `DenseSearch` the dense side of search over a store's vectors. The
implementations are `kb.store.sqlite.Store` and `kb.store.postgres.PgStore`; a new backend
implements `DocumentStore` in `kb/store/<name>.py`, uses `kb.store.rows` for the rows both
share, and is opened by its class in `api.backends`. `tests/contracts/` runs one suite over
every backend."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from kb.errors import KBError
from kb.types import ChunkInfo, DocumentInfo, DocumentInput, SearchFilters

MANIFEST = "manifest.json"  # beside the database: what the store's vectors are (kb.knowledge_base)
VECTORS = "vectors.faiss"  # beside the database: the mirrored index (kb.store.mirror)
VECTORS_OF_KEY = "vectors_of"  # meta: the model and variant of the vectors, after a reembed
ORGANISERS_KEY = "organiser_glossary"  # meta: the organisers' glossary, JSON (kb.search.glossary)
# The backend of a manifest that names none: it was written before there was a second one.
LEGACY_BACKEND = "sqlite"


class DenseSearch(Protocol):
    """Nearest chunks to a query vector, and which document each chunk belongs to."""

    def search(
        self, vector: np.ndarray, limit: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        """(chunk_id, cosine) best first; filters (and visibility) applied before the cut."""

    def docs_of(self, chunk_ids: Sequence[int]) -> Mapping[int, str]:
        """chunk_id -> doc_id of those chunks that still exist."""

    def is_empty(self) -> bool: ...

    def prepare(self, filters: SearchFilters | None) -> None:
        """Do before a search whatever may be done before the lexical side starts."""

    def catch_up(self) -> None:
        """Reflect every write committed so far, by any process."""

    def flush(self) -> None:
        """Persist what is kept outside the store, if anything."""


@dataclass(frozen=True)
class UnstagedChunks:
    """A page of chunks still to re-embed: (chunk_id, text_hash, heading, body) each, and
    staged vectors by text hash for texts already encoded."""

    total: int  # chunks in the store
    staged: int  # chunks with a staged vector
    chunks: list[tuple[int, str, str, str]]
    known: dict[str, bytes]


@dataclass(frozen=True)
class PendingChunk:
    """A chunk stored for its words whose vector is still to be made (see
    `DocumentStore.claim_pending`): `text` is exactly what the model is to encode."""

    chunk_id: int
    doc_id: str
    text_hash: str
    text: str


@dataclass(frozen=True)
class PendingCounts:
    """Chunks still waiting for their vectors, and the documents they belong to."""

    chunks: int = 0
    documents: int = 0


# How long a claim on pending chunks holds (see `DocumentStore.claim_pending`): an embedder
# that dies leaves its chunks to the next one after this long.
CLAIM_SECONDS = 120.0


class StoreBusyError(KBError):
    """Another process held the store's write lock for longer than a write may wait."""


@dataclass(frozen=True)
class ChunkChanges:
    """What happened to the chunks between two store versions (see `Store.changes_since`)."""

    version: int
    removed: list[int]
    added: dict[int, str]  # chunk_id -> doc_id, for chunks still present at `version`
    added_vectors: tuple[np.ndarray, np.ndarray]  # (ids, vectors) of those chunks


@dataclass(frozen=True)
class DuplicateLink:
    """A document linked as a near copy of `canonical` (kb.dedupe), with the estimated
    similarity to the stored document it matched when it was linked."""

    doc_id: str
    canonical: str
    similarity: float | None


class DocumentStore(Protocol):
    """What the knowledge base needs of a document store, whatever keeps it: documents,
    chunks, their embeddings and metadata, a version every committed write bumps, the lexical
    index it keeps in step, the manifest (backend, model, variant) and the dense search over
    its vectors. `Store` (SQLite, vectors mirrored in memory) and `kb.store.postgres.PgStore`
    (PostgreSQL + pgvector, vectors searched in the database) implement it."""

    store_id: str
    backend: str  # what the manifest records: "sqlite" or "postgresql"
    location: str  # where it is, for messages: a folder, or a URL without its password

    @property
    def version(self) -> int: ...

    def close(self) -> None: ...

    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str | None) -> None:
        """Keep `value` under `key` beside the store (None deletes it): what belongs to this
        store but is no document, such as its ranking model or its organisers' glossary.
        Not a write of documents: the store's version does not change."""

    def read_manifest(self) -> dict[str, Any] | None: ...

    def write_manifest(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Record `manifest` unless one exists; returns the one in force."""

    def dense_search(self, dim: int) -> DenseSearch:
        """The dense side of search over this store's vectors."""

    # writes: each one a transaction
    def replace_document(
        self, doc: DocumentInput, vectors: np.ndarray | Sequence[np.ndarray | None]
    ) -> tuple[str, str]:
        """Insert or replace a document and all its chunks at once; returns (doc_id,
        'added'|'updated'). A chunk whose vector is None is stored for its words (lexical
        search finds it at once) and queued for embedding (`claim_pending`)."""

    def delete_document(self, doc_id: str) -> None: ...

    # documents
    def content_hash_of(self, origin: str) -> str | None: ...

    def count_documents(self) -> int: ...

    def count_chunks(self) -> int: ...

    def get_document(self, doc_id: str) -> DocumentInfo | None: ...

    def find_documents(self, ref: str) -> list[DocumentInfo]: ...

    def list_documents(self, filters: SearchFilters | None = None) -> list[DocumentInfo]: ...

    def origins_under(self, root: str) -> dict[str, str]: ...

    def sessions_of(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """doc_id -> session (kb.sessions) of those of `doc_ids` that belong to one."""
        ...

    def get_chunks(self, doc_id: str) -> list[ChunkInfo]: ...

    # chunks and vectors
    def embeddings_for(self, hashes: Sequence[str]) -> dict[str, np.ndarray]: ...

    def vectors_of(self, chunk_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray]: ...

    def iter_embeddings(self, batch: int = 20000) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...

    def chunk_rows(self, chunk_ids: Sequence[int]) -> dict[int, tuple[ChunkInfo, DocumentInfo]]: ...

    def lexical_search(
        self,
        query: str,
        limit: int,
        filters: SearchFilters | None = None,
        postings_budget: int | None = None,
    ) -> list[tuple[int, float]]: ...

    # the embedding queue: chunks stored for their words, their vectors still to come
    def count_pending(self) -> PendingCounts: ...

    def claim_pending(
        self, owner: str, limit: int, seconds: float = CLAIM_SECONDS
    ) -> list[PendingChunk]:
        """Up to `limit` queued chunks, oldest first, claimed for `owner` for `seconds`: no
        other embedder is handed them, nor any chunk of the same text, until the claim runs
        out (an embedder that dies leaves them to the next)."""

    def fill_pending(self, vectors: Sequence[tuple[int, np.ndarray]]) -> int:
        """Store (chunk_id, vector) for chunks still queued, in one transaction, and take
        them off the queue; returns how many were filled (a chunk deleted or re-ingested
        meanwhile is skipped)."""

    def release_claims(self, owner: str) -> None:
        """Hand `owner`'s unfinished claims back to the queue (an embedder stopping)."""

    def claim_owners(self) -> list[str]:
        """The embedders holding live claims (to free those of a process that died)."""

    # near duplicates (kb.dedupe): each document's MinHash signature and its group's canonical
    def put_signature(
        self,
        doc_id: str,
        signature: bytes | None,
        canonical: str | None,
        similarity: float | None,
        bands: Sequence[int] = (),
    ) -> None:
        """Record a stored document's signature (None: too short to have one), its link and
        its band keys (`kb.dedupe.band_keys`, one per band; replacing any it had), in one
        transaction; a document signed before keeps its place in stored order. Deleting the
        document deletes its rows. Not a write of documents: the store's version does not
        change."""

    def put_bands(self, rows: Sequence[tuple[str, Sequence[int]]]) -> None:
        """Set the band keys of documents already signed ((doc_id, keys)), replacing any they
        had, in one transaction (a store signed before the band table existed)."""

    def signature_candidates(self, bands: Sequence[int]) -> list[tuple[str, bytes, str | None]]:
        """(doc_id, signature, canonical) of every signed document that shares at least one
        of `bands` at the same band (band i of the list is band i), in stored order."""

    def signatures(
        self, doc_ids: Sequence[str] | None = None
    ) -> list[tuple[str, bytes, str | None]]:
        """(doc_id, signature, canonical) of every signed document (or of those of `doc_ids`),
        in stored order (the order documents were first signed in)."""

    def set_canonicals(self, links: Sequence[tuple[str, str | None, float | None]]) -> None:
        """Set (doc_id, canonical, similarity) of documents already signed, in one
        transaction."""

    def duplicate_links(self, doc_ids: Sequence[str] | None) -> list[DuplicateLink]:
        """The links of every group that holds one of `doc_ids` (as a copy or as the
        canonical; None: every group), copies in stored order."""


class LoggedStore(DocumentStore, Protocol):
    """A store whose vectors a process mirrors in memory (kb.store.mirror): it logs each write's
    chunk changes so that every process catches up by reading only what changed."""

    def chunk_docs(self) -> tuple[int, dict[int, str]]: ...

    def changes_since(self, version: int) -> ChunkChanges | None: ...

    def chunk_ids_matching(self, filters: SearchFilters) -> np.ndarray: ...

    def doc_ids_of(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """chunk_id -> doc_id of those chunks that exist, vectors or not."""


class ReembeddableStore(DocumentStore, Protocol):
    """Re-embedding (kb.reembed): new vectors staged beside the stored ones, switched at once."""

    def start_staging(self, target: str) -> int: ...

    def unstaged_chunks(self, after: int, limit: int) -> UnstagedChunks: ...

    def stage_vectors(self, staged: Sequence[tuple[int, str, bytes]]) -> None: ...

    def switch_to_staged(self, target: str) -> bool: ...

    def drop_staging(self) -> None: ...
