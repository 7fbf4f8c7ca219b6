"""Search: dense (faiss) and lexical (FTS5 BM25) candidates, fused by reciprocal rank.

Fusion is done per document: each list is collapsed to documents in rank order (a document's
rank is that of its best chunk), then RRF sums 1/(K + rank) over the lists. The chunk shown
for a document is its best-ranked chunk in whichever list ranked the document higher.
Filters are applied inside each candidate search, before any cut to k.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from kb.bilingual import glossary
from kb.embed import Embedder
from kb.errors import EmptyQueryError, EmptyStoreError
from kb.snippets import make_snippet
from kb.store import LEXICAL_POSTINGS_BUDGET, Store
from kb.terms import language_of
from kb.types import SEARCH_MODES, Hit, SearchFilters
from kb.vectors import VectorIndex

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


Weight = Callable[[int, int], float]  # (list's position, chunk id) -> the list's weight


def fuse(lists: Sequence[Ranked], weight: Weight | None = None) -> list[tuple[str, int, float]]:
    """(doc_id, chunk_id, rrf score), best first: each list adds weight/(K + rank) for a
    document (weight 1 unless `weight` says otherwise for that list and chunk); the chunk
    shown is the one of the list that added most; ties broken by the best single rank."""
    scores: dict[str, float] = {}
    best: dict[str, tuple[float, int, int]] = {}  # doc -> (-contribution, rank, chunk)
    for position, ranked in enumerate(lists):
        for doc_id, (rank, chunk_id, _) in ranked.by_doc.items():
            share = (1.0 if weight is None else weight(position, chunk_id)) / (RRF_K + rank)
            if share <= 0.0:
                continue
            scores[doc_id] = scores.get(doc_id, 0.0) + share
            mine = (-share, rank, chunk_id)
            if doc_id not in best or mine < best[doc_id]:
                best[doc_id] = mine
    order = sorted(scores, key=lambda d: (-scores[d], best[d][1]))
    return [(d, best[d][2], scores[d]) for d in order]


# Hybrid search fuses three lists: dense, lexical, and lexical over the query's words in
# the other language (kb.bilingual). Each weighs by the query's language and the candidate
# chunk's ("en" or "zh", kb.terms.language_of): (query, chunk) -> (dense, lexical,
# translated). all-MiniLM-L6-v2 knows English only, so its ranking of Chinese text, or for
# a Chinese query, counts for little; BM25 over jieba's words is reliable in both; the
# dictionary's words serve chunks in the other language. Set from the labelled queries by
# bench/fusion_weights.py (README: "Chinese and mixed material").
LANGUAGE_WEIGHTS: dict[tuple[str, str], tuple[float, float, float]] = {
    ("en", "en"): (1.0, 1.0, 0.0),
    ("en", "zh"): (1.0, 1.0, 1.0),
    ("zh", "en"): (1.0, 1.0, 1.0),
    ("zh", "zh"): (1.0, 1.0, 0.0),
}


class Searcher:
    """Answers queries over a store, its vector index and the embedder that built both."""

    def __init__(
        self,
        store: Store,
        index: VectorIndex,
        embedder: Embedder,
        doc_of_chunk: Mapping[int, str],
    ) -> None:
        """`doc_of_chunk` is every stored chunk's document, kept up to date in memory by the
        owner: collapsing candidates to documents needs it on every search."""
        self.store = store
        self.doc_of_chunk = doc_of_chunk
        self.index = index
        self.embedder = embedder
        self._allowed_cache: dict[tuple[SearchFilters, int], np.ndarray] = {}
        self._executor: ThreadPoolExecutor | None = None
        # A chunk id always names the same text (ids are never reused): its language is
        # computed once.
        self._language_of_chunk: dict[int, str] = {}
        self.language_weights = dict(LANGUAGE_WEIGHTS)

    def chunk_languages(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        missing = [c for c in chunk_ids if c not in self._language_of_chunk]
        if missing:
            if len(self._language_of_chunk) > 500_000:
                self._language_of_chunk.clear()
            for chunk_id, text in self.store.chunk_texts(missing).items():
                self._language_of_chunk[chunk_id] = language_of(text)
        return {c: self._language_of_chunk.get(c, "en") for c in chunk_ids}

    def _weight_by_language(self, query: str, lists: Sequence[Ranked]) -> Weight | None:
        """The fusion weight of each (list, chunk): dense, lexical, translated."""
        if len(lists) < 2:
            return None
        chunk_ids = [c for ranked in lists for _, c, _ in ranked.by_doc.values()]
        languages = self.chunk_languages(chunk_ids)
        query_language = language_of(query)
        table = self.language_weights

        def weight(position: int, chunk_id: int) -> float:
            return table[(query_language, languages[chunk_id])][position]

        return weight

    def _allowed(self, filters: SearchFilters) -> np.ndarray:
        """Chunk ids passing the filters, cached per store version (filters repeat a lot)."""
        key = (filters, self.store.version)
        cached = self._allowed_cache.get(key)
        if cached is None:
            if len(self._allowed_cache) > 256:
                self._allowed_cache.clear()
            cached = self.store.chunk_ids_matching(filters)
            self._allowed_cache[key] = cached
        return cached

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
        allowed = None if filters is None or filters.is_empty() else self._allowed(filters)
        return self.index.search(vector, limit, allowed)

    def lexical_candidates(
        self, query: str, limit: int, filters: SearchFilters | None, budget: int | None = None
    ) -> list[tuple[int, float]]:
        active = None if filters is None or filters.is_empty() else filters
        return self.store.lexical_search(query, limit, active, budget)

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
        if not self.doc_of_chunk:
            raise EmptyStoreError(
                "The knowledge base is empty: ingest some material first (kb ingest PATH)."
            )
        wanted = offset + k
        # Several chunks of one document compete for places: fetch more chunks than documents.
        limit = max(50, wanted * 5)
        lists: list[list[tuple[int, float]]] = []
        translated: list[str] = []  # the query's words in the other language (hybrid only)
        if mode == "dense":
            lists.append(self.dense_candidates(query, limit, filters))
        elif mode == "lexical":
            # Asked for by name: drop only the commonest words, and only while others remain.
            found = self.lexical_candidates(query, limit, filters, 4 * LEXICAL_POSTINGS_BUDGET)
            lists.append(found or self.lexical_candidates(query, limit, filters))
        else:
            # The encoder uses both cores; faiss then scans on one, so BM25 (SQLite releases
            # the GIL) runs on the other meanwhile. Very common words are left to the dense
            # side (see the store's postings budget).
            vector = self.embedder.encode_query(query)
            if filters is not None and not filters.is_empty():
                self._allowed(filters)  # warm the cache here, not under the lexical query
            lexical = self._pool().submit(
                self.lexical_candidates, query, limit, filters, LEXICAL_POSTINGS_BUDGET
            )
            translated = glossary().translate(query)
            across = (
                self._pool().submit(
                    self.lexical_candidates,
                    " ".join(translated),
                    limit,
                    filters,
                    LEXICAL_POSTINGS_BUDGET,
                )
                if translated
                else None
            )
            lists.append(self.dense_candidates(query, limit, filters, vector))
            lists.append(lexical.result())
            if across is not None:
                lists.append(across.result())
        ranked = [collapse(candidates, self.doc_of_chunk) for candidates in lists]
        if len(ranked) == 1:
            fused = [
                (doc_id, chunk_id, score)
                for doc_id, (_, chunk_id, score) in sorted(
                    ranked[0].by_doc.items(), key=lambda item: item[1][0]
                )
            ]
        else:
            fused = fuse(ranked, self._weight_by_language(query, ranked))
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
