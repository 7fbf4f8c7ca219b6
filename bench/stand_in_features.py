"""The Chinese stand-in's evidence as re-ranker features, and the stand-in gated by how much
of an English query the named terms cover (issue "Ranking that learns", en->zh).

The stand-in (kb.search.fusion.Searcher._with_stand_in, off by default) lifts English
questions about Chinese material but costs English over English. Two ways to keep the gain
without the cost were measured here:

1. Learned: the evidence the stand-in acts on, given to the LambdaRank re-ranker as features
   beside its 19 (`EXTRA`): the document's rank and score in BM25 of the query's
   translations alone, whether that query's best chunk is Chinese, whether the document is
   the one the stand-in would promote, the share of the query's words that named terms
   translate, and whether the chunk's language differs from the query's. The model decides
   per candidate when to trust it; `kb rank train`'s own gate (beat fusion for the query
   language under 5-fold CV, no labelled pair worse by more than PAIR_TOLERANCE) decides
   whether search would use it. One model for all queries (as `kb rank train` fits) and one
   per query language (trained on that language's queries alone) were both gated on the
   tune halves; so were two ways for the model to act (only for queries whose translations'
   best hit is Chinese; only moving the documents in the other language).
2. Not learned: the stand-in on only for English queries whose words the named terms cover
   at least a share `t` of (every t is computed on both halves; t chosen on the tune halves),
   and the stand-in's two parts apart (tune halves only).

Protocol: choices on the tune halves only (SHA-1 of the query text, even = tune); the
final choice is then reported once on the held-out halves of both stores, all four pairs.

Run: .venv/bin/python bench/stand_in_features.py --home DIR --sample-home DIR
(stores as bench/chinese_stand_in.py builds them). Results: bench/results/stand_in_features.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402
from glossary_quality import SETS, half_of, language_pair  # noqa: E402
from learned_ranking import Measured, measure, ndcg  # noqa: E402

import kb.search.ranking as ranking  # noqa: E402
from kb import KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.language.bilingual import glossary as dictionary  # noqa: E402
from kb.language.terms import STOPWORDS, fold, language_of, spans  # noqa: E402
from kb.search.evaluation import (  # noqa: E402
    LabelledQuery,
    compare_by_language,
    load_queries,
    ndcg_at,
)
from kb.search.fusion import collapse  # noqa: E402
from kb.search.ranking import (  # noqa: E402
    FEATURES,
    MISSING_RANK,
    Candidate,
    TrainingQuery,
    cross_validate,
    fit,
    held_out_rankings,
    rerank_with,
    useful_queries,
)

EXTRA = (
    "translations_rank",
    "translations_score",
    "translations_best_is_chinese",
    "stand_in_document",
    "term_coverage",
    "other_language",
)
FOLDS = 5
THRESHOLDS = (0.0, 0.25, 0.34, 0.5, 0.67, 0.75, 1.0)
CHINESE_SHARE = FEATURES.index("chunk_chinese_share")
QUERY_IS_CHINESE = FEATURES.index("query_is_chinese")


def content_words(text: str) -> list[str]:
    return [w.lower() for _, _, w in spans(fold(text)) if w.lower() not in STOPWORDS]


def term_coverage(kb: KnowledgeBase, query: str) -> float:
    """The share of an English query's content words inside a named term (organisers', mined,
    or a dictionary phrase of two words or more: what StoreGlossary.terms_in translates)."""
    words = content_words(query)
    if not words or language_of(query) != "en":
        return 0.0
    glossary = kb.searcher.glossary
    rest = query
    organisers = glossary.organisers()
    if organisers is not None:
        _, rest = organisers.chinese_in(rest)
    _, rest = glossary.mined_in_use().chinese_in(rest)
    for english, _ in dictionary().pairs_in(rest, "en"):
        if " " in english:
            rest = rest.lower().replace(english.lower(), " ")
    left = set(content_words(rest))
    return sum(1 for w in words if w not in left) / len(words)


@dataclasses.dataclass
class Evidence:
    coverage: float
    best_is_chinese: bool
    by_doc: dict[str, tuple[int, int, float]]  # the translations-alone BM25, collapsed
    best_doc: str | None


def evidence_of(kb: KnowledgeBase, query: str) -> Evidence:
    searcher = kb.searcher
    language = language_of(query)
    translated = searcher.glossary.translate(query, language)
    if not translated:
        return Evidence(term_coverage(kb, query), False, {}, None)
    found = searcher._lexical_alone(" ".join(translated), 50, None)
    doc_of = searcher.vectors.docs_of([chunk_id for chunk_id, _ in found])
    ranked = collapse(found, doc_of)
    best_is_chinese = False
    best_doc = None
    if found:
        rows = kb.store.chunk_rows([found[0][0]])
        best_is_chinese = found[0][0] in rows and language_of(rows[found[0][0]][0].body) == "zh"
        best_doc = doc_of.get(found[0][0])
    return Evidence(term_coverage(kb, query), best_is_chinese, ranked.by_doc, best_doc)


def extended(item: TrainingQuery, evidence: Evidence) -> TrainingQuery:
    candidates = []
    for c in item.candidates:
        if not c.features:
            candidates.append(c)
            continue
        rank, _, score = evidence.by_doc.get(c.doc_id, (MISSING_RANK, 0, 0.0))
        chunk_chinese = c.features[CHINESE_SHARE] > 0.3
        extra = (
            float(rank),
            float(score),
            float(evidence.best_is_chinese),
            float(c.doc_id == evidence.best_doc and evidence.best_is_chinese),
            evidence.coverage,
            float(chunk_chinese != bool(c.features[QUERY_IS_CHINESE])),
        )
        candidates.append(dataclasses.replace(c, features=c.features + extra))
    return dataclasses.replace(item, candidates=candidates)


def with_features(extra: bool) -> None:
    """fit() names its features from kb.search.ranking.FEATURES: the bench's rows carry more."""
    ranking.FEATURES = FEATURES + EXTRA if extra else FEATURES


def gate(items: Sequence[TrainingQuery], extra: bool, per_language: bool = False) -> dict[str, Any]:
    """What `kb rank train` would decide on these queries (5-fold CV), per language and pair;
    `per_language`: one model per query language, trained on that language's queries only."""
    with_features(extra)
    try:
        if per_language:
            found = {}
            for lang in ("en", "zh"):
                part = [item for item in items if language_of(item.query) == lang]
                if len(part) >= 2 * FOLDS:
                    found[lang] = cross_validate(part, FOLDS)[0].by_language[lang]
        else:
            found = cross_validate(items, FOLDS)[0].by_language
    finally:
        with_features(False)
    return {
        "languages_used": sorted(lang for lang, e in found.items() if e.used),
        "by_language": {
            lang: {
                "fusion": round(e.fusion_ndcg, 4),
                "model": round(e.model_ndcg, 4),
                "pairs": {p: [n, round(f, 4), round(m, 4)] for p, (n, f, m) in e.pairs.items()},
            }
            for lang, e in sorted(found.items())
        },
    }


def tune_to_held_out(
    measured: Sequence[Measured],
    items: dict[int, TrainingQuery],
    extra: bool,
    per_language: bool = False,
) -> dict[str, Any]:
    """Fitted (and gated) on the tune half, scored on the held-out half, per pair."""
    tune = useful_queries([items[i] for i, m in enumerate(measured) if m.half == "tune"])
    used = gate(tune, extra, per_language)["languages_used"]
    with_features(extra)
    try:
        boosters = {
            lang: fit(
                [item for item in tune if not per_language or language_of(item.query) == lang]
            )
            for lang in ("en", "zh")
        }
    finally:
        with_features(False)
    rows: dict[str, list[dict[str, float]]] = {}
    for i, m in enumerate(measured):
        if m.half != "held_out":
            continue
        item = items[i]
        fusion = ndcg(item.candidates, item.relevant_docs)
        booster = boosters[language_of(m.query.query)]
        model = ndcg(rerank_with(booster, item.candidates), item.relevant_docs)
        shipped = model if language_of(m.query.query) in used else fusion
        rows.setdefault(m.query.lang or "en->en", []).append(
            {
                "dense": m.dense,
                "lexical": m.lexical,
                "fusion": fusion,
                "model": model,
                "search": shipped,
            }
        )
    return {
        "languages_used": used,
        "pairs": {
            pair: {k: round(sum(r[k] for r in found) / len(found), 4) for k in found[0]}
            | {"queries": len(found)}
            for pair, found in sorted(rows.items())
        },
    }


OTHER = len(FEATURES) + EXTRA.index("other_language")
BEST_CHINESE = len(FEATURES) + EXTRA.index("translations_best_is_chinese")


def only_other_language(fused: Sequence[Candidate], model: Sequence[Candidate]) -> list[Candidate]:
    """The model decides only where the documents in the other language go: the slots its
    order gives documents in the query's language are filled with those in fused order."""
    same = [c for c in fused if not (c.features and c.features[OTHER])]
    it = iter(same)
    return [c if (c.features and c.features[OTHER]) else next(it) for c in model]


def variants(items: Sequence[TrainingQuery]) -> dict[str, Any]:
    """Under 5-fold CV (extra features): the model as is; the model for a query only when the
    best hit of its translations alone is Chinese (else fusion); the model moving only the
    documents in the other language. Per query language and pair."""
    with_features(True)
    try:
        held = held_out_rankings(items, FOLDS)
    finally:
        with_features(False)
    rows: dict[str, dict[str, list[float]]] = {}
    for _, item, order in held:
        head = item.candidates
        best_chinese = bool(head and head[0].features and head[0].features[BEST_CHINESE])
        english = language_of(item.query) == "en"
        scores = {
            "fusion": ndcg(head, item.relevant_docs),
            "model": ndcg(order, item.relevant_docs),
            "model_if_best_chinese": ndcg(
                order if best_chinese or not english else head, item.relevant_docs
            ),
            "other_language_only": ndcg(only_other_language(head, order), item.relevant_docs),
        }
        for key in (item.pair or "?", language_of(item.query)):
            for name, value in scores.items():
                rows.setdefault(key, {}).setdefault(name, []).append(value)
    return {
        key: {name: round(sum(v) / len(v), 4) for name, v in found.items()}
        | {"queries": len(found["fusion"])}
        for key, found in sorted(rows.items())
    }


def coverage_gated(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> dict[str, Any]:
    """nDCG@10 per half and pair of fusion with the stand-in on for English queries whose
    term coverage is at least t, for each t in THRESHOLDS (t > 1: never; "off")."""
    sources = {doc.source: doc.doc_id for doc in kb.list_documents()}
    kb.searcher.use_learned_ranking = False
    per_query = []
    for q in queries:
        relevant = frozenset(sources[s] for s in q.relevant if s in sources)
        scores = {}
        for on in (False, True):
            kb.searcher.chinese_stand_in = on
            ranked = [hit.doc_id for hit in kb.search(q.query, k=10)]
            scores[on] = ndcg_at(ranked, relevant, 10)
        kb.searcher.chinese_stand_in = False
        per_query.append((q, half_of(q), term_coverage(kb, q.query), scores))
    out: dict[str, Any] = {}
    for half in ("tune", "held_out"):
        out[half] = {}
        for t in (*THRESHOLDS, "off"):
            pairs: dict[str, list[float]] = {}
            for q, h, coverage, scores in per_query:
                if h != half:
                    continue
                on = t != "off" and language_of(q.query) == "en" and coverage >= float(t)
                pairs.setdefault(q.lang or "en->en", []).append(scores[on])
            out[half][str(t)] = {p: round(sum(v) / len(v), 4) for p, v in sorted(pairs.items())}
    return out


def stand_in_parts(kb: KnowledgeBase, queries: Sequence[LabelledQuery]) -> dict[str, Any]:
    """The stand-in's two parts apart, tune half only: its lexical side of named terms
    without the promoted Chinese document ("terms_only"), and the promotion with the lexical
    side of every translation ("promotion_only", the part that touches only documents in
    the other language), beside off and the whole stand-in."""
    searcher = kb.searcher
    searcher.use_learned_ranking = False
    part = [q for q in queries if half_of(q) == "tune"]
    terms_in, with_stand_in = searcher.glossary.terms_in, searcher._with_stand_in
    out: dict[str, Any] = {}
    try:
        for name in ("off", "stand_in", "promotion_only", "terms_only"):
            searcher.chinese_stand_in = name != "off"
            searcher.glossary.terms_in = (
                searcher.glossary.translate if name == "promotion_only" else terms_in
            )
            searcher._with_stand_in = (
                (lambda dense, *_: dense) if name == "terms_only" else with_stand_in
            )
            found = compare_by_language(kb.search, part, modes=("hybrid",))
            out[name] = {p: round(found[p]["hybrid"]["ndcg@10"], 4) for p in sorted(found)}
    finally:
        searcher.glossary.terms_in = terms_in
        searcher._with_stand_in = with_stand_in
        searcher.chinese_stand_in = False
    return out


def run_store(kb: KnowledgeBase, queries: list[tuple[str, LabelledQuery]]) -> dict[str, Any]:
    measured: list[Measured] = []
    for name in dict.fromkeys(n for n, _ in queries):
        measured += measure(kb, name, [q for n, q in queries if n == name])
    base = {i: m.training for i, m in enumerate(measured)}
    extra = {
        i: extended(m.training, evidence_of(kb, m.query.query)) for i, m in enumerate(measured)
    }
    tune_ids = [i for i, m in enumerate(measured) if m.half == "tune"]
    found: dict[str, Any] = {
        "stand_in_parts_tune": stand_in_parts(kb, [q for _, q in queries]),
        "coverage_gated": coverage_gated(kb, [q for _, q in queries]),
        "tune_cv": {
            "base": gate(useful_queries([base[i] for i in tune_ids]), False),
            "extra": gate(useful_queries([extra[i] for i in tune_ids]), True),
            "base_per_language": gate(useful_queries([base[i] for i in tune_ids]), False, True),
            "extra_per_language": gate(useful_queries([extra[i] for i in tune_ids]), True, True),
        },
        "tune_cv_variants": variants(useful_queries([extra[i] for i in tune_ids])),
        "all_cv": {
            "base": gate(useful_queries(list(base.values())), False),
            "extra_per_language": gate(useful_queries(list(extra.values())), True, True),
        },
        # the final choice (extra features, a model per query language), run once
        "tune_to_held_out": {
            "base": tune_to_held_out(measured, base, False),
            "extra_per_language": tune_to_held_out(measured, extra, True, True),
        },
        "dense_lexical": {
            half: {
                pair: {
                    mode: round(sum(getattr(m, mode) for m in chosen) / len(chosen), 4)
                    for mode in ("dense", "lexical")
                }
                for pair in sorted({m.query.lang or "en->en" for m in measured})
                if (chosen := [m for m in measured if m.half == half and m.query.lang == pair])
            }
            for half in ("tune", "held_out")
        },
    }
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--sample-home", type=Path, required=True)
    args = parser.parse_args()
    results: dict[str, Any] = {"extra_features": list(EXTRA), "folds": FOLDS, "stores": {}}
    corpora = [
        (name, language_pair(q))
        for name, file in SETS.items()
        for q in load_queries(ROOT / "bench" / "data" / file)
    ]
    kb = open_knowledge_base(args.home)
    results["stores"]["corpora"] = {"store": kb.stats(), **run_store(kb, corpora)}
    kb.close()
    sample = [
        ("sample", language_pair(q))
        for q in load_queries(ROOT / "data" / "sample" / "queries.jsonl")
    ]
    kb = open_knowledge_base(args.sample_home)
    results["stores"]["sample"] = {"store": kb.stats(), **run_store(kb, sample)}
    kb.close()
    save("stand_in_features", results)
    import json

    print(json.dumps(results["stores"], indent=1, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
