"""Learned ranking: a LambdaRank model (LightGBM) that re-orders the fused candidates.

Fusion (kb.search.fusion) adds reciprocal ranks with weights chosen once for all queries; it
cannot know that BM25 is right for a Chinese question about Chinese material while a
translated word should weigh less, nor that readers keep skipping a hit. The re-ranker sees,
for each of the first `RERANK_DEPTH` fused documents, what search already knows
(`FEATURES`): each side's rank and score, the fused score, the languages of the query and of
the chunk, whether the query's words are in the title and heading, the document's type and
age, and what readers did with it for this very query (thumbs and opens, each capped at
`FEEDBACK_CAP` distinct people, so that one key voting a thousand times counts once and a
hundred keys count five).

`kb rank train` (kb.search.ranking.train_ranker) fits it on labelled queries plus the
feedback log, and keeps it only when its nDCG@10 under k-fold cross-validation (folds by
query) beats plain fusion on the held-out folds; the model and its evaluation are stored
beside the store (`RANKING_KEY`), and search uses a stored model only when it was kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from kb.errors import KBError
from kb.language.terms import HAN, index_stem, index_words, language_of, query_words
from kb.search.evaluation import LabelledQuery, ndcg_at
from kb.searchlog.base import ReaderCounts, normal_query  # what the search log counts (re-exported)

RANKING_KEY = "ranking_model"  # store meta: the model, its features and its evaluation
RANKING_FORMAT = 2
RERANK_DEPTH = 30  # fused documents the model re-orders; the rest keep their fused order
FEEDBACK_CAP = 5  # distinct people a (query, document)'s thumbs or opens count up to
MISSING_RANK = 101  # a side that did not find the document: past its last candidate
# The model is used for a query language only if, on the held-out folds, it beats fusion on
# that language's queries and costs no labelled language pair (en->en, en->zh...) more than
# this: the project's nDCG gate, so that a gain across languages never buys a loss within one.
PAIR_TOLERANCE = 0.01

FEATURES = (
    "dense_rank",
    "dense_score",
    "lexical_rank",
    "lexical_score",
    "own_words_rank",
    "own_words_score",
    "fused_score",
    "fused_rank",
    "found_by_both",
    "query_is_chinese",
    "chunk_chinese_share",
    "title_match",
    "heading_match",
    "query_words",
    "document_type",
    "age_days",
    "thumbs_up",
    "thumbs_down",
    "opens",
)
# The document types as codes for the model (a categorical feature); unknown types share one.
DOCUMENT_TYPES = (
    "markdown",
    "notebook",
    "transcript",
    "pdf",
    "slides",
    "word",
    "chat",
    "text",
    "webpage",
)

_HAN_CHAR = re.compile(f"[{HAN}]")


@dataclass(frozen=True)
class Candidate:
    """One fused document with what the re-ranker reads about it."""

    doc_id: str
    chunk_id: int
    fused_score: float
    features: tuple[float, ...]


@dataclass(frozen=True)
class CandidateEvidence:
    """What search knows of one candidate before ranking it (see `features_of`)."""

    dense: tuple[int, float] | None  # (rank, score) on the dense side, None if not found
    lexical: tuple[int, float] | None
    fused_score: float
    fused_rank: int
    title: str
    heading: str
    body: str
    doc_type: str
    doc_date: str | None
    thumbs_up: int = 0
    thumbs_down: int = 0
    opens: int = 0
    # (rank, score) in BM25 over the query's own words alone (the lexical side also holds its
    # translations); None: not found there
    own_words: tuple[int, float] | None = None


def _stems(text: str) -> set[str]:
    return {index_stem(part) for word in query_words(text) for part in index_words(word)}


def _share(query_stems: set[str], text: str) -> float:
    if not query_stems or not text:
        return 0.0
    return len(query_stems & _stems(text)) / len(query_stems)


def _age_days(value: str | None, today: date) -> float:
    if not value:
        return -1.0
    try:
        when = date.fromisoformat(value[:10])
    except ValueError:
        return -1.0
    return float(max(0, (today - when).days))


def features_of(
    query_stems: set[str], query_is_chinese: bool, evidence: CandidateEvidence, today: date
) -> tuple[float, ...]:
    """The `FEATURES` of one candidate, in that order."""
    dense_rank, dense_score = evidence.dense or (MISSING_RANK, 0.0)
    lexical_rank, lexical_score = evidence.lexical or (MISSING_RANK, 0.0)
    own_rank, own_score = evidence.own_words or (MISSING_RANK, 0.0)
    text = f"{evidence.heading}\n{evidence.body}"
    letters = sum(1 for char in text if not char.isspace())
    chinese = len(_HAN_CHAR.findall(text)) / letters if letters else 0.0
    return (
        float(dense_rank),
        float(dense_score),
        float(lexical_rank),
        float(lexical_score),
        float(own_rank),
        float(own_score),
        float(evidence.fused_score),
        float(evidence.fused_rank),
        float(evidence.dense is not None and evidence.lexical is not None),
        float(query_is_chinese),
        chinese,
        _share(query_stems, evidence.title),
        _share(query_stems, evidence.heading),
        float(len(query_stems)),
        float(
            DOCUMENT_TYPES.index(evidence.doc_type)
            if evidence.doc_type in DOCUMENT_TYPES
            else len(DOCUMENT_TYPES)
        ),
        _age_days(evidence.doc_date, today),
        float(min(evidence.thumbs_up, FEEDBACK_CAP)),
        float(min(evidence.thumbs_down, FEEDBACK_CAP)),
        float(min(evidence.opens, FEEDBACK_CAP)),
    )


def query_stems_of(query: str, translated: Sequence[str]) -> set[str]:
    """The stems a candidate's title and heading are matched against: the query's words and
    their translations."""
    return _stems(" ".join([query, *translated]))


# -- the model -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LanguageEvaluation:
    """Held-out nDCG@10 of fusion and of the model on one query language's queries, and on
    each labelled language pair among them."""

    queries: int
    fusion_ndcg: float
    model_ndcg: float
    pairs: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # (n, fusion, model)

    @property
    def used(self) -> bool:
        """Better for the language, and no pair worse by more than `PAIR_TOLERANCE`."""
        return self.model_ndcg > self.fusion_ndcg and all(
            model >= fusion - PAIR_TOLERANCE for _, fusion, model in self.pairs.values()
        )


@dataclass(frozen=True)
class RankingEvaluation:
    """How a trained model compared with fusion: mean nDCG@10 over the held-out folds, in all
    and per query language ("en", "zh")."""

    folds: int
    queries: int
    labelled_queries: int
    feedback_queries: int
    fusion_ndcg: float
    model_ndcg: float
    per_fold: list[tuple[float, float]] = field(default_factory=list)  # (fusion, model)
    by_language: dict[str, LanguageEvaluation] = field(default_factory=dict)

    @property
    def beats_fusion(self) -> bool:
        return bool(self.languages_used)

    @property
    def languages_used(self) -> list[str]:
        """The query languages search uses the model for."""
        return sorted(lang for lang, found in self.by_language.items() if found.used)


class LearnedRanker:
    """A trained LambdaRank model over `FEATURES`."""

    def __init__(self, model_text: str, evaluation: RankingEvaluation, trained_at: str) -> None:
        import lightgbm

        self.model_text = model_text
        self.booster = lightgbm.Booster(model_str=model_text)
        self.evaluation = evaluation
        self.trained_at = trained_at

    @property
    def used(self) -> bool:
        """Whether search uses it at all: only where it beat fusion on held-out queries."""
        return self.evaluation.beats_fusion

    def used_for(self, language: str) -> bool:
        """Whether search uses it for a query in `language` (kb.language.terms.language_of)."""
        return language in self.evaluation.languages_used

    def rerank(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """The first `RERANK_DEPTH` candidates by the model's score (ties by their fused
        order), the rest after them as they were."""
        return rerank_with(self.booster, candidates)

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": RANKING_FORMAT,
                "features": list(FEATURES),
                "trained_at": self.trained_at,
                "evaluation": asdict(self.evaluation),
                "model": self.model_text,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> LearnedRanker | None:
        """The stored model, or None when it was made by other rules (other features or
        format): then fusion ranks until `kb rank train` runs again."""
        try:
            data = json.loads(text)
        except ValueError:
            return None
        if data.get("format") != RANKING_FORMAT or data.get("features") != list(FEATURES):
            return None
        raw = data["evaluation"]
        evaluation = RankingEvaluation(
            folds=int(raw["folds"]),
            queries=int(raw["queries"]),
            labelled_queries=int(raw["labelled_queries"]),
            feedback_queries=int(raw["feedback_queries"]),
            fusion_ndcg=float(raw["fusion_ndcg"]),
            model_ndcg=float(raw["model_ndcg"]),
            per_fold=[(float(a), float(b)) for a, b in raw.get("per_fold", [])],
            by_language={
                lang: LanguageEvaluation(
                    queries=int(found["queries"]),
                    fusion_ndcg=float(found["fusion_ndcg"]),
                    model_ndcg=float(found["model_ndcg"]),
                    pairs={
                        pair: (int(n), float(fusion), float(model))
                        for pair, (n, fusion, model) in found.get("pairs", {}).items()
                    },
                )
                for lang, found in raw.get("by_language", {}).items()
            },
        )
        return cls(str(data["model"]), evaluation, str(data["trained_at"]))

    def describe(self) -> dict[str, Any]:
        """What `kb stats` shows."""
        evaluation = self.evaluation
        return {
            "used": self.used,
            "trained_at": self.trained_at,
            "folds": evaluation.folds,
            "queries": evaluation.queries,
            "labelled_queries": evaluation.labelled_queries,
            "feedback_queries": evaluation.feedback_queries,
            "fusion_ndcg@10": round(evaluation.fusion_ndcg, 4),
            "model_ndcg@10": round(evaluation.model_ndcg, 4),
            "used_for": evaluation.languages_used,
            "languages": {
                lang: {
                    "queries": found.queries,
                    "fusion_ndcg@10": round(found.fusion_ndcg, 4),
                    "model_ndcg@10": round(found.model_ndcg, 4),
                    "used": found.used,
                    "pairs": {
                        pair: {
                            "queries": n,
                            "fusion_ndcg@10": round(fusion, 4),
                            "model_ndcg@10": round(model, 4),
                        }
                        for pair, (n, fusion, model) in sorted(found.pairs.items())
                    },
                }
                for lang, found in sorted(evaluation.by_language.items())
            },
        }


# -- training ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingQuery:
    """A query with what is known to answer it: labelled sources, or the documents readers
    voted up (`relevant_docs`), and the candidates search gave it."""

    query: str
    candidates: list[Candidate]
    relevant_docs: frozenset[str]
    from_feedback: bool = False
    pair: str | None = None  # the labelled language pair ("en->zh"), when the label says


LGB_PARAMS: dict[str, Any] = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "eval_at": [10],
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "lambdarank_truncation_level": 20,
    "verbosity": -1,
    "num_threads": 2,
    "deterministic": True,
    "seed": 7,
}
ROUNDS = 150


_READER_SLOTS = tuple(FEATURES.index(name) for name in ("thumbs_up", "thumbs_down", "opens"))


def without_readers(item: TrainingQuery) -> TrainingQuery | None:
    """`item` as a query nobody has voted on or opened yet (its reader features zeroed), or
    None when it already is one."""
    if not any(c.features[slot] for c in item.candidates if c.features for slot in _READER_SLOTS):
        return None
    return TrainingQuery(
        query=item.query,
        candidates=[
            c
            if not c.features
            else Candidate(
                c.doc_id,
                c.chunk_id,
                c.fused_score,
                tuple(0.0 if i in _READER_SLOTS else v for i, v in enumerate(c.features)),
            )
            for c in item.candidates
        ],
        relevant_docs=item.relevant_docs,
        from_feedback=item.from_feedback,
        pair=item.pair,
    )


def fit(training: Sequence[TrainingQuery]) -> Any:
    """A LightGBM LambdaRank booster fitted on `training`'s first `RERANK_DEPTH` candidates
    (relevant: 1, the rest 0). Each query readers voted on is learnt twice, with its votes and
    as though it had none: most queries a search sees have no votes yet, and a model that only
    ever saw voted ones ranks those worse than fusion (bench/learned_ranking.py)."""
    import lightgbm

    training = [
        *training,
        *(bare for item in training if (bare := without_readers(item)) is not None),
    ]
    rows = [c.features for item in training for c in item.candidates[:RERANK_DEPTH]]
    labels = [
        int(c.doc_id in item.relevant_docs)
        for item in training
        for c in item.candidates[:RERANK_DEPTH]
    ]
    groups = [len(item.candidates[:RERANK_DEPTH]) for item in training]
    data = lightgbm.Dataset(
        np.asarray(rows, dtype=np.float64),
        label=np.asarray(labels),
        group=groups,
        feature_name=list(FEATURES),
        categorical_feature=["document_type"],
        free_raw_data=False,
    )
    return lightgbm.train(LGB_PARAMS, data, num_boost_round=ROUNDS)


def _ndcg(ranked: Sequence[Candidate], relevant: frozenset[str]) -> float:
    return ndcg_at([c.doc_id for c in ranked], relevant, 10)


def _fold_of(query: str, folds: int) -> int:
    import hashlib

    return hashlib.sha1(query.encode("utf-8")).digest()[0] % folds


def useful_queries(training: Sequence[TrainingQuery]) -> list[TrainingQuery]:
    """The queries with a relevant document among their first `RERANK_DEPTH` candidates: the
    others teach nothing (and no re-ordering of those candidates changes their nDCG@10)."""
    return [
        item
        for item in training
        if any(c.doc_id in item.relevant_docs for c in item.candidates[:RERANK_DEPTH])
    ]


def rerank_with(booster: Any, candidates: Sequence[Candidate]) -> list[Candidate]:
    """`candidates` re-ordered by a LightGBM model as `LearnedRanker.rerank` does."""
    head, tail = list(candidates[:RERANK_DEPTH]), list(candidates[RERANK_DEPTH:])
    if not head:
        return tail
    predicted = booster.predict(np.asarray([c.features for c in head]), num_threads=1)
    order = sorted(range(len(head)), key=lambda i: (-predicted[i], i))
    return [head[i] for i in order] + tail


def held_out_rankings(
    useful: Sequence[TrainingQuery], folds: int = 5
) -> list[tuple[int, TrainingQuery, list[Candidate]]]:
    """(fold, query, its candidates as ordered by a model fitted on the other folds) for every
    query (folds by a hash of the query, so a query and its repeats stay in one fold)."""
    found: list[tuple[int, TrainingQuery, list[Candidate]]] = []
    for fold in range(folds):
        held = [item for item in useful if _fold_of(item.query, folds) == fold]
        train = [item for item in useful if _fold_of(item.query, folds) != fold]
        if not held or not train:
            continue
        booster = fit(train)
        found += [(fold, item, rerank_with(booster, item.candidates)) for item in held]
    return found


def cross_validate(
    training: Sequence[TrainingQuery], folds: int = 5
) -> tuple[RankingEvaluation, list[TrainingQuery]]:
    """nDCG@10 of fusion and of a model trained on the other folds, on each held-out fold;
    queries whose candidates hold nothing relevant are left out (`useful_queries`)."""
    useful = useful_queries(training)
    if len(useful) < folds * 2:
        raise KBError(
            f"Only {len(useful)} queries have a relevant document among their candidates: "
            f"learning to rank needs at least {folds * 2}. Label more queries (JSON lines of "
            '{"query": ..., "relevant": [source, ...]}) or gather more feedback.'
        )
    by_fold: dict[int, list[tuple[float, float]]] = {}
    by_language: dict[str, list[tuple[str | None, float, float]]] = {}
    for fold, item, reranked in held_out_rankings(useful, folds):
        scores = (_ndcg(item.candidates, item.relevant_docs), _ndcg(reranked, item.relevant_docs))
        by_fold.setdefault(fold, []).append(scores)
        by_language.setdefault(language_of(item.query), []).append((item.pair, *scores))
    pairs = [pair for fold in sorted(by_fold) for pair in by_fold[fold]]
    evaluation = RankingEvaluation(
        folds=folds,
        queries=len(useful),
        labelled_queries=sum(1 for item in useful if not item.from_feedback),
        feedback_queries=sum(1 for item in useful if item.from_feedback),
        fusion_ndcg=float(np.mean([fusion for fusion, _ in pairs])),
        model_ndcg=float(np.mean([model for _, model in pairs])),
        per_fold=[
            (
                float(np.mean([f for f, _ in by_fold[fold]])),
                float(np.mean([m for _, m in by_fold[fold]])),
            )
            for fold in sorted(by_fold)
        ],
        by_language={lang: _language_evaluation(rows) for lang, rows in by_language.items()},
    )
    return evaluation, useful


def _language_evaluation(rows: Sequence[tuple[str | None, float, float]]) -> LanguageEvaluation:
    pairs: dict[str, tuple[int, float, float]] = {}
    for pair in sorted({pair for pair, _, _ in rows if pair is not None}):
        chosen = [(fusion, model) for p, fusion, model in rows if p == pair]
        pairs[pair] = (
            len(chosen),
            float(np.mean([f for f, _ in chosen])),
            float(np.mean([m for _, m in chosen])),
        )
    return LanguageEvaluation(
        queries=len(rows),
        fusion_ndcg=float(np.mean([fusion for _, fusion, _ in rows])),
        model_ndcg=float(np.mean([model for _, _, model in rows])),
        pairs=pairs,
    )


def train_ranker(training: Sequence[TrainingQuery], folds: int = 5) -> LearnedRanker:
    """Cross-validate, then fit the model on every useful query; `used` says whether search
    should use it."""
    evaluation, useful = cross_validate(training, folds)
    booster = fit(useful)
    trained_at = datetime.now(UTC).isoformat(timespec="seconds")
    return LearnedRanker(booster.model_to_string(), evaluation, trained_at)


def labelled_training(
    queries: Sequence[LabelledQuery],
    candidates_of: Callable[[str], list[Candidate]],
    doc_ids_of_sources: Mapping[str, str],
) -> list[TrainingQuery]:
    """Training queries from a labelled file: its sources mapped to the store's doc ids
    (sources the store lacks are named in the error, since a label that matches nothing
    teaches the model that nothing is relevant)."""
    missing = sorted({s for q in queries for s in q.relevant} - set(doc_ids_of_sources))
    if missing and len(missing) == len({s for q in queries for s in q.relevant}):
        shown = ", ".join(missing[:3])
        raise KBError(
            f"None of the labelled sources is in the knowledge base (e.g. {shown}): label "
            "documents by their source as `kb search` shows it."
        )
    return [
        TrainingQuery(
            query=item.query,
            candidates=candidates_of(item.query),
            relevant_docs=frozenset(
                doc_ids_of_sources[s] for s in item.relevant if s in doc_ids_of_sources
            ),
            pair=item.lang or _own_pair(item.query),
        )
        for item in queries
    ]


def feedback_training(
    votes: Mapping[tuple[str, str], ReaderCounts],
    candidates_of: Callable[[str], list[Candidate]],
    labelled: Sequence[str] = (),
) -> list[TrainingQuery]:
    """Training queries from readers' thumbs: for each query some document was voted up more
    than down (by distinct people), those documents are its relevant ones. Queries already in
    the labelled set (`labelled`, normalised the same way) keep their labels instead."""
    skip = {_normal(query) for query in labelled}
    relevant: dict[str, set[str]] = {}
    for (query, doc_id), counts in votes.items():
        if counts.up > counts.down and _normal(query) not in skip:
            relevant.setdefault(query, set()).add(doc_id)
    return [
        TrainingQuery(query, candidates_of(query), frozenset(docs), from_feedback=True)
        for query, docs in sorted(relevant.items())
    ]


def _own_pair(query: str) -> str:
    """A labelled query without a `lang` asks about material in its own language."""
    language = language_of(query)
    return f"{language}->{language}"


def _normal(query: str) -> str:
    return normal_query(query)  # as the search log counts votes


__all__ = [
    "DOCUMENT_TYPES",
    "FEATURES",
    "FEEDBACK_CAP",
    "PAIR_TOLERANCE",
    "RANKING_KEY",
    "RERANK_DEPTH",
    "Candidate",
    "CandidateEvidence",
    "LanguageEvaluation",
    "LearnedRanker",
    "RankingEvaluation",
    "ReaderCounts",
    "TrainingQuery",
    "cross_validate",
    "features_of",
    "feedback_training",
    "fit",
    "held_out_rankings",
    "labelled_training",
    "query_stems_of",
    "rerank_with",
    "train_ranker",
    "useful_queries",
]
