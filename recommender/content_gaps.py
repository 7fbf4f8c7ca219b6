"""What the knowledge base is missing: the organisers' report over the search log.

- **Missed searches, by topic**: searches that found nothing good (no hit, or a best hit under
  the calibrated threshold of `kb.search.quality`) or whose hits nobody opened (searches made
  through the HTTP API, whose clients can report opens), grouped by topic: the distinct
  queries are embedded with the knowledge base's own model and clustered (scikit-learn,
  agglomerative, cosine), each group named by its commonest words.
- **Coverage of the catalogue**: per skill and module, the documents that everyone may see
  tagged with it (`skills`; `module`, tags or the module's `materials`), and the searches
  filtered by it; under `LITTLE_MATERIAL` documents is "little".
- **Material nobody opened** in the period, most shown in hits first; documents the viewer
  may not see are counted, never named.
- **The trend**: searches, failed and unopened searches, and opens per week (Monday to Sunday,
  UTC).

Searches are counted once per query asked: later pages of the same results (`offset` > 0)
are not searches of their own.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np

from kb.language.terms import STOPWORDS, language_of, lexeme_key, lexemes, query_words
from kb.search.quality import THRESHOLDS, found_something_good
from kb.searchlog.base import OpenEvent, SearchEvent, SearchLog
from kb.types import Document, visible_to
from recommender.catalog.types import Catalog

if TYPE_CHECKING:
    from kb.embed.base import Embedder

Reason = Literal["no_hits", "weak_hits", "not_opened"]
REASONS: tuple[Reason, ...] = ("no_hits", "weak_hits", "not_opened")  # worst first

LITTLE_MATERIAL = 2  # fewer documents than this for a skill or module: little material
TOPIC_DISTANCE = 0.6  # cosine distance under which queries join a topic (average linkage)
TOPIC_WORDS = 3  # words that name a topic
MAX_TOPIC_QUERIES = 300  # distinct missed queries clustered (the most asked); others: "other"
MAX_LISTED_DOCUMENTS = 100
DEFAULT_WEEKS = 8


@dataclass(frozen=True)
class MissedQuery:
    """A query (as first typed) and its missed searches: how many, why (the worst reason
    among them), the best score any of them got, and when it was last asked (UTC)."""

    query: str
    searches: int
    reason: Reason
    best_score: float | None
    last_asked: str


@dataclass(frozen=True)
class Topic:
    """Missed queries that are about one thing, named by their commonest words."""

    label: str
    words: tuple[str, ...]
    searches: int
    queries: tuple[MissedQuery, ...]


@dataclass(frozen=True)
class Coverage:
    """A skill or module of the catalogue, the documents everyone may see for it, and the
    searches filtered by it in the period."""

    id: str
    name: str
    documents: int
    searches: int
    little: bool


@dataclass(frozen=True)
class UnopenedDocument:
    """A document nobody opened in the period; `shown`: in how many searches' hits."""

    doc_id: str
    title: str
    source: str
    type: str
    team: str | None
    date: str | None
    shown: int


@dataclass(frozen=True)
class Week:
    week: str  # the Monday, YYYY-MM-DD
    searches: int
    failed: int
    unopened: int
    opens: int


@dataclass(frozen=True)
class ContentReport:
    """The whole report; `thresholds`: the best-hit scores used, by "mode/language"."""

    since: str
    until: str
    weeks: int
    searches: int
    failed: int
    unopened: int
    opens: int
    thresholds: dict[str, float | None]
    topics: tuple[Topic, ...]
    catalog_loaded: bool
    little_material: int  # a skill or module with fewer documents has "little" material
    skills: tuple[Coverage, ...]
    modules: tuple[Coverage, ...]
    unopened_documents: tuple[UnopenedDocument, ...]
    unopened_documents_total: int
    hidden_unopened: int  # documents nobody opened that this viewer may not see
    trend: tuple[Week, ...]


def week_start(when: datetime) -> datetime:
    """Monday 00:00 UTC of `when`'s week."""
    day = when.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def normalise(query: str) -> str:
    return " ".join(query.casefold().split())


def verdict(
    search: SearchEvent,
    opened: set[str],
    thresholds: Mapping[tuple[str, str], float | None] = THRESHOLDS,
) -> Reason | None:
    """Why a search missed (None: it did not): no hit, a best hit under the threshold, or (for
    searches through the HTTP API, whose clients can report opens) no hit opened."""
    if search.n_hits == 0:
        return "no_hits"
    if not found_something_good(search.mode, search.query, search.best_score, thresholds):
        return "weak_hits"
    if search.origin == "api" and search.search_id not in opened:
        return "not_opened"
    return None


# -- topics ----------------------------------------------------------------------------------
def cluster(vectors: np.ndarray, distance: float = TOPIC_DISTANCE) -> list[int]:
    """A group number per row: agglomerative clustering, cosine distance, average linkage."""
    if len(vectors) < 2:
        return [0] * len(vectors)
    from sklearn.cluster import AgglomerativeClustering

    model = AgglomerativeClustering(
        n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
    )
    return [int(label) for label in model.fit_predict(vectors)]


def topic_words(queries: Sequence[tuple[str, int]], n: int = TOPIC_WORDS) -> tuple[str, ...]:
    """The `n` commonest words of (query, times asked), counted by the lexical index's own
    lexemes (`kb.language.terms.lexemes`: "tuning" and "tuned" are one word, as they are to
    search) and shown in their commonest form; single characters, numbers and the stop words
    (`kb.language.terms.STOPWORDS`, the one list) left out; ties in order of appearance."""
    counts: Counter[str] = Counter()
    forms: dict[str, Counter[str]] = {}
    for query, times in queries:
        for word in query_words(query):
            if len(word) < 2 or word.isdigit() or word in STOPWORDS:
                continue
            key = lexeme_key(word) or word
            counts[key] += times
            forms.setdefault(key, Counter())[word] += times
    order = {key: i for i, key in enumerate(counts)}
    best = sorted(counts, key=lambda key: (-counts[key], order[key]))[:n]
    return tuple(forms[key].most_common(1)[0][0] for key in best)


def _missed_queries(
    missed: Sequence[tuple[SearchEvent, Reason]],
) -> list[MissedQuery]:
    groups: dict[str, list[tuple[SearchEvent, Reason]]] = {}
    for search, reason in missed:
        groups.setdefault(normalise(search.query), []).append((search, reason))
    result = []
    for rows in groups.values():
        scores = [s.best_score for s, _ in rows if s.best_score is not None]
        result.append(
            MissedQuery(
                query=rows[0][0].query,
                searches=len(rows),
                reason=min((r for _, r in rows), key=REASONS.index),
                best_score=max(scores) if scores else None,
                last_asked=max(s.at for s, _ in rows).isoformat(timespec="seconds"),
            )
        )
    result.sort(key=lambda q: (-q.searches, q.query.casefold()))
    return result


def word_vectors(texts: Sequence[str]) -> np.ndarray:
    """Each text as the unit-length TF-IDF vector of its words (stems, Chinese cut into
    words): what stands for meaning where the model cannot read the language."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    def analyse(text: str) -> list[str]:
        return [lexeme for w in query_words(text) for lexeme in lexemes(w)] or [normalise(text)]

    matrix = TfidfVectorizer(analyzer=analyse).fit_transform(texts)
    return np.asarray(matrix.todense(), dtype=np.float32)


def _vectors_by_language(
    queries: Sequence[MissedQuery], embedder: Embedder | None
) -> list[tuple[str, np.ndarray, list[MissedQuery]]]:
    """Queries split by language, each part with a vector per query: the model's where it
    reads that language (as search weighs it: an English-only model does not read Chinese),
    else the words'. Clustering within a language keeps one model's Chinese from looking
    all alike."""
    parts: dict[str, list[MissedQuery]] = {}
    for item in queries:
        parts.setdefault(language_of(item.query), []).append(item)
    multilingual = bool(getattr(embedder, "multilingual", False))
    result = []
    for language, items in parts.items():
        texts = [q.query for q in items]
        if embedder is not None and (language == "en" or multilingual):
            vectors = embedder.encode_documents(texts)
        else:
            vectors = word_vectors(texts)
        result.append((language, vectors, items))
    return result


def group_topics(queries: Sequence[MissedQuery], embedder: Embedder | None) -> list[Topic]:
    """The missed queries by topic, most searches first: clustered within each language (see
    `_vectors_by_language`; without an embedder, by their words); beyond the
    `MAX_TOPIC_QUERIES` most asked, the rest form one last group."""
    head, rest = list(queries[:MAX_TOPIC_QUERIES]), list(queries[MAX_TOPIC_QUERIES:])
    members: dict[tuple[str, int], list[MissedQuery]] = {}
    for language, vectors, items in _vectors_by_language(head, embedder):
        for label, item in zip(cluster(vectors), items, strict=True):
            members.setdefault((language, label), []).append(item)
    groups = list(members.values()) + ([rest] if rest else [])
    topics = []
    for group in groups:
        words = topic_words([(q.query, q.searches) for q in group])
        topics.append(
            Topic(
                label=" · ".join(words) if words else group[0].query,
                words=words,
                searches=sum(q.searches for q in group),
                queries=tuple(group),
            )
        )
    topics.sort(key=lambda t: (-t.searches, t.label))
    return topics


# -- coverage --------------------------------------------------------------------------------
def _coverage(
    catalog: Catalog, documents: Sequence[Document], searches: Sequence[SearchEvent]
) -> tuple[list[Coverage], list[Coverage]]:
    public = [d for d in documents if not d.visibility]
    filtered: dict[str, Counter[str]] = {"skill": Counter(), "module": Counter()}
    for search in searches:
        for name in filtered:
            if name in search.filters:
                filtered[name][search.filters[name]] += 1

    def row(kind: str, id_: str, name: str, count: int) -> Coverage:
        return Coverage(id_, name, count, filtered[kind][id_], count < LITTLE_MATERIAL)

    skills = [
        row("skill", s.id, s.name, sum(1 for d in public if s.id in d.skills))
        for s in catalog.skills.values()
    ]
    modules = []
    for m in catalog.modules.values():
        materials = set(m.materials)
        count = sum(
            1
            for d in public
            if d.module == m.id
            or m.id in d.tags
            or d.source in materials
            or bool(materials & set(d.tags))
        )
        modules.append(row("module", m.id, m.title, count))
    order = lambda c: (c.documents, -c.searches, c.id)  # noqa: E731
    return sorted(skills, key=order), sorted(modules, key=order)


# -- the report ------------------------------------------------------------------------------
def content_report(
    log: SearchLog,
    documents: Sequence[Document],
    *,
    catalog: Catalog | None = None,
    embedder: Embedder | None = None,
    viewer_teams: tuple[str, ...] | None = None,
    weeks: int = DEFAULT_WEEKS,
    now: datetime | None = None,
    thresholds: Mapping[tuple[str, str], float | None] = THRESHOLDS,
) -> ContentReport:
    """The report over the last `weeks` weeks (this one included) for a viewer who may see
    the documents restricted to `viewer_teams` (None: all). `documents`: every stored
    document (visibility is applied here); `embedder`: the knowledge base's, for topics."""
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    until = (now or datetime.now(UTC)).astimezone(UTC)
    since = week_start(until) - timedelta(weeks=weeks - 1)
    logged = log.searches(since)
    opens: list[OpenEvent] = log.opens(since)
    searches = [s for s in logged if s.offset == 0 and s.at <= until]
    opens = [o for o in opens if o.at <= until]
    opened_from = {o.search_id for o in opens if o.search_id}

    missed: list[tuple[SearchEvent, Reason]] = []
    reasons: dict[str, Reason | None] = {}
    for search in searches:
        reason = verdict(search, opened_from, thresholds)
        reasons[search.search_id] = reason
        if reason is not None:
            missed.append((search, reason))
    topics = group_topics(_missed_queries(missed), embedder)

    starts = [since + timedelta(weeks=i) for i in range(weeks)]
    counts = {start: [0, 0, 0, 0] for start in starts}
    for search in searches:
        row = counts[week_start(search.at)]
        row[0] += 1
        reason = reasons[search.search_id]
        row[1] += reason in ("no_hits", "weak_hits")
        row[2] += reason == "not_opened"
    for item in opens:
        counts[week_start(item.at)][3] += 1
    trend = tuple(Week(start.date().isoformat(), *counts[start]) for start in starts)

    opened_docs = {o.doc_id for o in opens}
    shown = Counter(doc_id for s in logged if s.at <= until for doc_id in set(s.hits))
    unopened = [d for d in documents if d.doc_id not in opened_docs]
    visible = [d for d in unopened if visible_to(d.visibility, viewer_teams)]
    visible.sort(key=lambda d: (-shown[d.doc_id], d.title.casefold(), d.doc_id))
    listed = tuple(
        UnopenedDocument(d.doc_id, d.title, d.source, d.type, d.team, d.date, shown[d.doc_id])
        for d in visible[:MAX_LISTED_DOCUMENTS]
    )

    skills, modules = _coverage(catalog, documents, searches) if catalog else ([], [])
    return ContentReport(
        since=since.isoformat(timespec="seconds"),
        until=until.isoformat(timespec="seconds"),
        weeks=weeks,
        searches=len(searches),
        failed=sum(w.failed for w in trend),
        unopened=sum(w.unopened for w in trend),
        opens=len(opens),
        thresholds={f"{mode}/{lang}": value for (mode, lang), value in thresholds.items()},
        topics=tuple(topics),
        catalog_loaded=catalog is not None,
        little_material=LITTLE_MATERIAL,
        skills=tuple(skills),
        modules=tuple(modules),
        unopened_documents=listed,
        unopened_documents_total=len(visible),
        hidden_unopened=len(unopened) - len(visible),
        trend=trend,
    )


__all__ = [
    "DEFAULT_WEEKS",
    "LITTLE_MATERIAL",
    "REASONS",
    "ContentReport",
    "Coverage",
    "MissedQuery",
    "Topic",
    "UnopenedDocument",
    "Week",
    "cluster",
    "content_report",
    "group_topics",
    "topic_words",
    "verdict",
    "week_start",
]
