"""Sessions in search results: one result per training event, and the slide that goes with a
transcript moment (and the moment that goes with a slide).

A session (kb.sessions) is the material of one training event: transcript, slide deck, chat
log, write-ups. Searching for something said in it used to return each file as its own hit;
`group_by_session` collapses them after ranking, and `SessionLinks` then fills in each hit's
session fields (docs/sessions.md):

- **parts**: the session's other documents that the caller could have found with the same
  search (same filters, same team visibility): first those that matched the query, best
  first, at the place where they matched; then the others, without a place (`matched`
  false), by source. The lead is the session's best-ranked document.
- **slide**: for a transcript hit, the slide (of the session's slide decks or PDFs) whose text
  is most like the hit's moment (the transcript chunk, a minute or so of cues); **moment**:
  for a slide or PDF page hit, the transcript chunk most like it. By the mean of two cosine
  similarities: TF-IDF over the words as the lexical index cuts them (Chinese cut by jieba,
  English stemmed), fitted on the two documents, and the store's own vectors of the chunks
  (nothing to encode); TF-IDF alone while a chunk still waits for its vector. On the
  sample's 13 labelled checks (bench/sessions.py) TF-IDF alone picks the slide on screen 12
  times, the embedder and the mean 13. These look past the search's filters (a
  transcript-only search still says which slide was on screen) but never past visibility.

Paging: `offset` and `k` count collapsed results, so page 2 never repeats page 1's sessions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from kb.language.terms import STOPWORDS, ZH_STOPWORDS, index_stem, index_text, index_words
from kb.store.base import DocumentStore
from kb.types import (
    ChunkInfo,
    DocumentInfo,
    Hit,
    MatchedPlace,
    SearchFilters,
    SessionPart,
)

# Types whose chunks are slides (a deck) or may be (a PDF handout of slides), and the type of
# the recording's moments.
SLIDE_TYPES = frozenset({"slides", "pdf"})
MOMENT_TYPE = "transcript"
# Pairs below this similarity share too little to be shown as going together.
MIN_SIMILARITY = 0.05
MATCH_CACHE_SIZE = 64  # transcript-deck pairs whose similarities are kept

Fused = list[tuple[str, int, float]]  # (doc_id, chunk_id, score), best first


@dataclass(frozen=True)
class Grouped:
    """A ranked list with each session's documents collapsed into its best-ranked one:
    `fused` keeps one entry per session (and every document outside sessions), `matched`
    lists, per leading doc_id, the session's other documents that were ranked, in rank order,
    as (doc_id, chunk_id)."""

    fused: Fused
    matched: dict[str, list[tuple[str, int]]]


def group_by_session(fused: Fused, session_of: Mapping[str, str]) -> Grouped:
    """Collapse `fused` by session: a document whose session already has a better-ranked
    document leaves the list and joins that one's `matched`. Order, scores and the documents
    outside sessions are untouched."""
    lead_of: dict[str, str] = {}
    kept: Fused = []
    matched: dict[str, list[tuple[str, int]]] = {}
    for doc_id, chunk_id, score in fused:
        session = session_of.get(doc_id)
        if session is None:
            kept.append((doc_id, chunk_id, score))
        elif session not in lead_of:
            lead_of[session] = doc_id
            matched[doc_id] = []
            kept.append((doc_id, chunk_id, score))
        else:
            matched[lead_of[session]].append((doc_id, chunk_id))
    return Grouped(kept, matched)


def _words(text: str) -> list[str]:
    """Words as the lexical index holds them, stop words of both languages left out."""
    return [
        index_stem(word)
        for word in index_words(index_text(text))
        if word.lower() not in STOPWORDS and word not in ZH_STOPWORDS
    ]


def chunk_text(chunk: ChunkInfo) -> str:
    """What a chunk is compared on: its heading (a slide's title) and its text."""
    return f"{chunk.heading}\n{chunk.body}" if chunk.heading else chunk.body


def similarities(moments: Sequence[str], slides: Sequence[str]) -> np.ndarray:
    """TF-IDF cosine similarity of each moment (rows) to each slide (columns), the
    vocabulary and weights fitted on both: a word every slide repeats (the deck's title)
    weighs little, one only a slide and its moment share weighs much."""
    if not moments or not slides:
        return np.zeros((len(moments), len(slides)))
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer=_words, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform([*moments, *slides])
    except ValueError:  # no word at all (pictures only, or stop words)
        return np.zeros((len(moments), len(slides)))
    scores = (matrix[: len(moments)] @ matrix[len(moments) :].T).toarray()
    return np.asarray(scores, dtype=np.float64)


@dataclass(frozen=True)
class PairMatch:
    """One transcript and one deck matched both ways: for each transcript chunk the best
    slide chunk (index, similarity), and for each slide chunk the best transcript chunk."""

    slide_for: tuple[tuple[int, float], ...]
    moment_for: tuple[tuple[int, float], ...]
    with_vectors: bool = False  # the embedder's cosine was in the scores

    @classmethod
    def of(cls, scores: np.ndarray, with_vectors: bool = False) -> PairMatch:
        if scores.size == 0:
            return cls((), (), with_vectors)
        rows = scores.argmax(axis=1)
        cols = scores.argmax(axis=0)
        return cls(
            tuple((int(j), float(scores[i, j])) for i, j in enumerate(rows)),
            tuple((int(i), float(scores[i, j])) for j, i in enumerate(cols)),
            with_vectors,
        )


def dense_similarities(moments: np.ndarray, slides: np.ndarray) -> np.ndarray:
    """Cosine similarity of the stored vectors (rows: moments, columns: slides)."""

    def unit(vectors: np.ndarray) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float64)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)

    return np.asarray(unit(moments) @ unit(slides).T)


class SessionLinks:
    """Fills in hits' session fields from the store (see the module's docstring); keeps the
    last `MATCH_CACHE_SIZE` transcript-deck matches, keyed by both documents' content hashes
    (an edited file is matched again)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._matches: OrderedDict[tuple[str, str, str, str], PairMatch] = OrderedDict()

    def annotate(
        self,
        hits: Sequence[Hit],
        filters: SearchFilters | None,
        matched: Mapping[str, Sequence[tuple[str, int]]] | None,
    ) -> list[Hit]:
        """`hits` with `parts` (when `matched` is given: the search collapsed sessions) and
        `slide`/`moment` filled in; hits outside sessions come back as they were."""
        viewer = None if filters is None else filters.viewer_teams
        out: list[Hit] = []
        members_of: dict[str, list[DocumentInfo]] = {}
        for hit in hits:
            if hit.session is None:
                out.append(hit)
                continue
            if hit.session not in members_of:
                members_of[hit.session] = self.store.list_documents(
                    SearchFilters(viewer_teams=viewer, session=hit.session)
                )
            members = members_of[hit.session]
            parts: tuple[SessionPart, ...] = ()
            if matched is not None:
                parts = self._parts(hit, members, filters, matched.get(hit.doc_id, ()))
            slide, moment = self._counterpart(hit, members)
            out.append(replace(hit, parts=parts, slide=slide, moment=moment))
        return out

    def _parts(
        self,
        hit: Hit,
        members: Sequence[DocumentInfo],
        filters: SearchFilters | None,
        matched: Sequence[tuple[str, int]],
    ) -> tuple[SessionPart, ...]:
        allowed = members
        if filters is not None and not filters.is_empty():
            allowed = self.store.list_documents(replace(filters, session=hit.session))
        by_id = {doc.doc_id: doc for doc in allowed}
        rows = self.store.chunk_rows([chunk_id for _, chunk_id in matched])
        parts: list[SessionPart] = []
        for doc_id, chunk_id in matched:
            doc = by_id.get(doc_id)
            if doc is None or chunk_id not in rows:  # deleted since, or not for this search
                continue
            chunk = rows[chunk_id][0]
            parts.append(
                SessionPart(
                    doc_id=doc_id,
                    source=doc.source,
                    title=doc.title,
                    type=doc.type,
                    location=chunk.location.label,
                    anchor=chunk.location.anchor,
                    matched=True,
                )
            )
        listed = {hit.doc_id} | {part.doc_id for part in parts}
        for doc in sorted(allowed, key=lambda d: d.source):
            if doc.doc_id not in listed:
                unmatched = SessionPart(doc.doc_id, doc.source, doc.title, doc.type, "", "", False)
                parts.append(unmatched)
        return tuple(parts)

    def _counterpart(
        self, hit: Hit, members: Sequence[DocumentInfo]
    ) -> tuple[MatchedPlace | None, MatchedPlace | None]:
        """(slide, moment): the best slide for a transcript hit, or the best moment for a
        slide hit, over the session's documents of the other kind."""
        if hit.type == MOMENT_TYPE:
            others, want_slide = [d for d in members if d.type in SLIDE_TYPES], True
        elif hit.type in SLIDE_TYPES:
            others, want_slide = [d for d in members if d.type == MOMENT_TYPE], False
        else:
            return None, None
        own = next((d for d in members if d.doc_id == hit.doc_id), None)
        if own is None or not others:
            return None, None
        own_chunks = self.store.get_chunks(own.doc_id)
        position = next((i for i, c in enumerate(own_chunks) if c.chunk_id == hit.chunk_id), None)
        if position is None:
            return None, None
        best: MatchedPlace | None = None
        for other in others:
            other_chunks = self.store.get_chunks(other.doc_id)
            if want_slide:
                match = self.match(own, own_chunks, other, other_chunks)
                found = match.slide_for[position] if position < len(match.slide_for) else None
            else:
                match = self.match(other, other_chunks, own, own_chunks)
                found = match.moment_for[position] if position < len(match.moment_for) else None
            if found is None or found[1] < MIN_SIMILARITY:
                continue
            if best is None or found[1] > best.score:
                place = other_chunks[found[0]].location
                best = MatchedPlace(
                    other.doc_id, other.source, place.label, place.anchor, round(found[1], 4)
                )
        return (best, None) if want_slide else (None, best)

    def match(
        self,
        transcript: DocumentInfo,
        moments: Sequence[ChunkInfo],
        deck: DocumentInfo,
        slides: Sequence[ChunkInfo],
    ) -> PairMatch:
        """The two documents matched both ways (cached by their content hashes)."""
        key = (transcript.doc_id, transcript.content_hash, deck.doc_id, deck.content_hash)
        with self._lock:
            cached = self._matches.get(key)
            if cached is not None and cached.with_vectors:
                self._matches.move_to_end(key)
                return cached
        scores = similarities([chunk_text(c) for c in moments], [chunk_text(c) for c in slides])
        dense = self._stored_vectors(moments, slides)
        if dense is not None:  # both cosines, averaged: the score stays in [0, 1]
            scores = (scores + dense_similarities(*dense)) / 2
        elif cached is not None:  # still no vectors: the words' match as before
            return cached
        found = PairMatch.of(scores, with_vectors=dense is not None)
        with self._lock:
            self._matches[key] = found
            while len(self._matches) > MATCH_CACHE_SIZE:
                self._matches.popitem(last=False)
        return found

    def _stored_vectors(
        self, moments: Sequence[ChunkInfo], slides: Sequence[ChunkInfo]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The store's vectors of both documents' chunks, in their order; None while any
        is missing (still queued, or found by its words only)."""
        wanted = [c.chunk_id for c in (*moments, *slides)]
        ids, vectors = self.store.vectors_of(wanted)
        if len(ids) != len(set(wanted)):
            return None
        row = {int(chunk_id): i for i, chunk_id in enumerate(ids)}
        ordered = vectors[[row[chunk_id] for chunk_id in wanted]]
        return ordered[: len(moments)], ordered[len(moments) :]


__all__ = [
    "Grouped",
    "PairMatch",
    "SessionLinks",
    "chunk_text",
    "dense_similarities",
    "group_by_session",
    "similarities",
]
