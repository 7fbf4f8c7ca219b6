"""Learned ranking measured (issue "Ranking that learns", part 3): the LambdaRank re-ranker
(kb.search.ranking) beside plain fusion, dense and BM25, per language pair and per half.

Stores: the four shared corpora in one store (as bench/glossary_quality.py builds it), and the
sample corpus. Queries, all written before the re-ranker: bench/data/fresh_bilingual_queries
.jsonl, bilingual_queries.jsonl, corpora_queries.jsonl (corpora store) and
data/sample/queries.jsonl (sample store). Every query falls in a half by the first byte of the
SHA-1 of its text (even: tune), as in bench/glossary_quality.py. The model's settings
(kb.search.ranking.LGB_PARAMS, its features) were chosen before any held-out figure was seen.

Three measurements:

1. `kb rank train` as it runs: 5-fold cross-validation (folds by query) over all the labelled
   queries of a store: nDCG@10 of fusion and of the model on the held-out folds, reported per
   language pair and per half.
2. Tune -> held-out: the model fitted on the tune half only, scored on the held-out half,
   beside fusion, dense and BM25 on the same queries ("hybrid >= max(dense, lexical)").
3. Simulated feedback (corpora store): readers (300 pseudonymous people) search a held-out
   query, look down the first page, open and vote; clicks follow the labels with noise (a
   relevant hit voted up with p=0.5, a wrong one down with p=0.1, and 15% of votes land on a
   random hit of the page instead). The model is fitted on the tune half with thumbs simulated
   the same way under fusion; on the held-out half, nDCG@10 after N events. Then adversarial
   votes: for every held-out query a wrong hit on the first page voted up 1,000 times by one
   key (the log counts one person), by 5 keys (the cap) and by 1,000 keys: the ranks it gets.

Run: .venv/bin/python bench/learned_ranking.py [--home DIR] [--sample-home DIR]
Results: bench/results/learned_ranking.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402
from glossary_quality import SETS, half_of, language_pair, stage  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.language.terms import language_of  # noqa: E402
from kb.search.evaluation import LabelledQuery, load_queries, ndcg_at  # noqa: E402
from kb.search.ranking import (  # noqa: E402
    FEATURES,
    FEEDBACK_CAP,
    RERANK_DEPTH,
    Candidate,
    TrainingQuery,
    cross_validate,
    fit,
    held_out_rankings,
    labelled_training,
    rerank_with,
    useful_queries,
)

FOLDS = 5
READERS = 300
EVENTS = (0, 100, 300, 1000, 3000)
P_UP, P_DOWN, P_NOISE, P_OPEN = 0.5, 0.1, 0.15, 0.6
UP, DOWN, OPENS = (FEATURES.index(name) for name in ("thumbs_up", "thumbs_down", "opens"))


@dataclasses.dataclass
class Measured:
    """One labelled query of a store with what each way of ranking gave it."""

    set_name: str
    query: LabelledQuery
    half: str
    training: TrainingQuery
    dense: float
    lexical: float


def measure(kb: KnowledgeBase, set_name: str, queries: Sequence[LabelledQuery]) -> list[Measured]:
    sources = {doc.source: doc.doc_id for doc in kb.list_documents()}
    kb.searcher.use_learned_ranking = False
    training = labelled_training(queries, kb.searcher.candidates, sources)
    found: list[Measured] = []
    for query, item in zip(queries, training, strict=True):
        scores = {}
        for mode in ("dense", "lexical"):
            ranked = [hit.doc_id for hit in kb.search(query.query, k=10, mode=mode)]
            scores[mode] = ndcg_at(ranked, item.relevant_docs, 10)
        found.append(
            Measured(set_name, query, half_of(query), item, scores["dense"], scores["lexical"])
        )
    return found


def ndcg(candidates: Sequence[Candidate], relevant: frozenset[str]) -> float:
    return ndcg_at([c.doc_id for c in candidates], relevant, 10)


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def table(rows: Sequence[tuple[str, str, dict[str, float]]]) -> dict[str, Any]:
    """{half: {pair: {mode: mean nDCG@10, "queries": n}}} from (half, pair, scores) rows."""
    out: dict[str, Any] = {}
    for half in ("tune", "held_out", "all"):
        chosen = [r for r in rows if half == "all" or r[0] == half]
        pairs = sorted({r[1] for r in chosen}) + ["all"]
        out[half] = {}
        for pair in pairs:
            part = [r[2] for r in chosen if pair == "all" or r[1] == pair]
            modes = sorted({m for scores in part for m in scores})
            out[half][pair] = {m: mean([s[m] for s in part]) for m in modes}
            out[half][pair]["queries"] = len(part)
    return out


def cross_validated(measured: Sequence[Measured]) -> dict[str, Any]:
    """Measurement 1: `kb rank train`'s own cross-validation, broken down."""
    useful = useful_queries([m.training for m in measured])
    reranked = {id(item): order for _, item, order in held_out_rankings(useful, FOLDS)}
    used = cross_validate(useful, FOLDS)[0].languages_used  # what kb rank train would decide
    rows = []
    for m in measured:
        fusion = ndcg(m.training.candidates, m.training.relevant_docs)
        order = reranked.get(id(m.training), m.training.candidates)
        model = ndcg(order, m.training.relevant_docs)
        shipped = model if language_of(m.query.query) in used else fusion
        rows.append(
            (
                m.half,
                m.query.lang or "en->en",
                {"fusion": fusion, "model": model, "search": shipped},
            )
        )
    return {"languages_used": used, **table(rows)}


def tune_to_held_out(measured: Sequence[Measured]) -> dict[str, Any]:
    """Measurement 2: fitted on the tune half, scored on the held-out half."""
    tune = useful_queries([m.training for m in measured if m.half == "tune"])
    booster = fit(tune)
    used = cross_validate(tune, FOLDS)[0].languages_used  # decided on the tune half alone
    rows = []
    for m in measured:
        if m.half != "held_out":
            continue
        item = m.training
        fusion = ndcg(item.candidates, item.relevant_docs)
        model = ndcg(rerank_with(booster, item.candidates), item.relevant_docs)
        rows.append(
            (
                m.half,
                m.query.lang or "en->en",
                {
                    "dense": m.dense,
                    "lexical": m.lexical,
                    "fusion": fusion,
                    "model": model,
                    "search": model if language_of(m.query.query) in used else fusion,
                },
            )
        )
    return {"languages_used": used, **table(rows)["held_out"]}


# -- simulated readers -------------------------------------------------------------------------
Signals = dict[tuple[int, str], dict[str, set[int]]]  # (query index, doc) -> kind -> readers


def with_signals(item: TrainingQuery, index: int, signals: Signals) -> list[Candidate]:
    """The query's candidates with the readers' distinct counts in the thumbs/opens slots."""
    out = []
    for candidate in item.candidates:
        if not candidate.features:
            out.append(candidate)
            continue
        seen = signals.get((index, candidate.doc_id), {})
        row = list(candidate.features)
        row[UP] = float(min(len(seen.get("up", ())), FEEDBACK_CAP))
        row[DOWN] = float(min(len(seen.get("down", ())), FEEDBACK_CAP))
        row[OPENS] = float(min(len(seen.get("open", ())), FEEDBACK_CAP))
        out.append(dataclasses.replace(candidate, features=tuple(row)))
    return out


def simulate(
    items: Sequence[TrainingQuery],
    events: int,
    signals: Signals,
    rank: Any,
    rng: random.Random,
) -> None:
    """`events` readers' visits: each reads one query's first page (as `rank` orders it),
    opens and votes; a reader's latest vote on a (query, document) is the one that counts."""
    for _ in range(events):
        index = rng.randrange(len(items))
        item = items[index]
        reader = rng.randrange(READERS)
        page = [c.doc_id for c in rank(item, index)[:10]]
        for doc_id in page:
            relevant = doc_id in item.relevant_docs
            if rng.random() < (P_OPEN if relevant else P_OPEN / 4):
                signals.setdefault((index, doc_id), {}).setdefault("open", set()).add(reader)
            vote = None
            if relevant and rng.random() < P_UP:
                vote = "up"
            elif not relevant and rng.random() < P_DOWN:
                vote = "down"
            if vote is None:
                continue
            if rng.random() < P_NOISE:  # the vote lands on a random hit of the page
                doc_id = rng.choice(page)
            seen = signals.setdefault((index, doc_id), {})
            other = "down" if vote == "up" else "up"
            seen.setdefault(other, set()).discard(reader)
            seen.setdefault(vote, set()).add(reader)
            if vote == "up":
                break  # found what they wanted


def feedback_run(measured: Sequence[Measured]) -> dict[str, Any]:
    """Measurement 3: what the re-ranker gains from N readers' events, and what one key's
    thousand votes do."""
    rng = random.Random(11)
    tune = [m.training for m in measured if m.half == "tune"]
    held = [m.training for m in measured if m.half == "held_out"]
    tune_signals: Signals = {}
    simulate(tune, 20 * len(tune), tune_signals, lambda item, _: item.candidates, rng)
    voted_tune = [
        dataclasses.replace(item, candidates=with_signals(item, i, tune_signals))
        for i, item in enumerate(tune)
    ]
    booster = fit(useful_queries(voted_tune))

    def model_rank(signals: Signals) -> Any:
        return lambda item, index: rerank_with(booster, with_signals(item, index, signals))

    signals: Signals = {}
    curve = []
    done = 0
    for target in EVENTS:
        simulate(held, target - done, signals, model_rank(signals), rng)
        done = target
        scores = [
            ndcg(model_rank(signals)(item, i), item.relevant_docs) for i, item in enumerate(held)
        ]
        curve.append(
            {
                "events": target,
                "events_per_query": round(target / len(held), 1),
                "fusion": mean([ndcg(item.candidates, item.relevant_docs) for item in held]),
                "model": mean(scores),
            }
        )

    # Adversarial: a wrong hit on each query's first page, voted up.
    ranks: dict[str, list[int]] = {
        "no votes": [],
        "one key x1000": [],
        "5 keys": [],
        "1000 keys": [],
    }
    ndcgs: dict[str, list[float]] = {name: [] for name in ranks}
    for index, item in enumerate(held):
        order = model_rank({})(item, index)
        wrong = [c.doc_id for c in order[3:10] if c.doc_id not in item.relevant_docs]
        if not wrong:
            continue
        bad = wrong[-1]
        for name, voters in (
            ("no votes", set()),
            ("one key x1000", {0}),  # the log keeps one vote per person: a thousand are one
            ("5 keys", set(range(5))),
            ("1000 keys", set(range(1000))),
        ):
            attack: Signals = {(index, bad): {"up": voters}} if voters else {}
            reranked = model_rank(attack)(item, index)
            ranks[name].append(1 + [c.doc_id for c in reranked].index(bad))
            ndcgs[name].append(ndcg(reranked, item.relevant_docs))
    same_past_cap = ranks["5 keys"] == ranks["1000 keys"]
    return {
        "readers": READERS,
        "tune_events": 20 * len(tune),
        "held_out_queries": len(held),
        "curve": curve,
        "adversarial": {
            "queries": len(ranks["no votes"]),
            "mean_rank_of_the_wrong_hit": {
                k: mean([float(r) for r in v]) for k, v in ranks.items()
            },
            "ndcg@10": {k: mean(v) for k, v in ndcgs.items()},
            "ranks_with_1000_keys_equal_ranks_with_5": same_past_cap,
        },
    }


def corpora_queries() -> list[tuple[str, LabelledQuery]]:
    found = []
    for name, file in SETS.items():
        found += [(name, language_pair(q)) for q in load_queries(ROOT / "bench" / "data" / file)]
    return found


def open_store(home: Path, paths: Sequence[Path]) -> KnowledgeBase:
    kb = open_knowledge_base(home)
    if kb.stats()["documents"] == 0:
        report = ingest_paths(kb, list(paths))
        assert not report.failed, report.failed
    return kb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--sample-home", type=Path, default=None)
    args = parser.parse_args()
    results: dict[str, Any] = {"folds": FOLDS, "rerank_depth": RERANK_DEPTH, "stores": {}}
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "corpora-home"
        staged = Path(tmp) / "corpora"
        kb = open_knowledge_base(home)
        if kb.stats()["documents"] == 0:
            kb.close()
            kb = open_store(home, [stage(args.corpora, staged)])
        measured = []
        for name in SETS:
            measured += measure(kb, name, [q for n, q in corpora_queries() if n == name])
        results["stores"]["corpora"] = {
            "store": kb.stats(),
            "cross_validated": cross_validated(measured),
            "tune_to_held_out": tune_to_held_out(measured),
            "feedback": feedback_run(measured),
        }
        kb.close()
        sample_home = args.sample_home or Path(tmp) / "sample-home"
        kb = open_store(sample_home, [ROOT / "data" / "sample"])
        queries = [
            language_pair(q) for q in load_queries(ROOT / "data" / "sample" / "queries.jsonl")
        ]
        sample = measure(kb, "sample", queries)
        results["stores"]["sample"] = {
            "store": kb.stats(),
            "cross_validated": cross_validated(sample),
            "tune_to_held_out": tune_to_held_out(sample),
        }
        kb.close()
    save("learned_ranking", results)
    for store, found in results["stores"].items():
        print(f"== {store}: 5-fold cross-validation (fusion -> model), by half")
        print("  model used for:", found["cross_validated"]["languages_used"])
        for half, pairs in found["cross_validated"].items():
            if half == "languages_used":
                continue
            for pair, row in pairs.items():
                print(
                    f"  {half:9} {pair:7} n={row['queries']:3}  {row['fusion']} -> "
                    f"{row['model']}  (search: {row['search']})"
                )
        print(f"== {store}: fitted on tune, scored on held-out")
        print("  model used for:", found["tune_to_held_out"]["languages_used"])
        for pair, row in found["tune_to_held_out"].items():
            if pair == "languages_used":
                continue
            print(
                f"  {pair:7} n={row['queries']:3}  dense {row['dense']}  lexical {row['lexical']}"
                f"  fusion {row['fusion']}  model {row['model']}  search {row['search']}"
            )
    feedback = results["stores"]["corpora"]["feedback"]
    for point in feedback["curve"]:
        print(
            f"  after {point['events']:5} events: fusion {point['fusion']}  model {point['model']}"
        )
    print("  adversarial:", feedback["adversarial"])


if __name__ == "__main__":
    main()
