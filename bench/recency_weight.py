"""The recency weight measured (issue "Answers, not just links", part 4): what favouring recent
documents in hybrid search (KB_RECENCY_WEIGHT, kb.freshness) does to nDCG@10 on the labelled
sample queries, so that it is never turned on by default at a cost.

The sample corpus (data/sample, every document dated by its metadata, from 2026-01 to 2026-09)
is ingested with the default model (all-MiniLM-L6-v2); its 111 labelled queries
(data/sample/queries.jsonl) fall in a half by the first byte of the SHA-1 of their text (even:
tune, odd: held out), as in bench/glossary_quality.py. Ages are counted from a fixed day
(REFERENCE_DAY) so that a re-run gives the same figures.

For each query the fused ranking is read once (weight 0: `KnowledgeBase.search` as it ships)
and re-ordered by `kb.freshness.reweight_by_recency` for every (weight, half-life) of the grid;
the best on the tune half is then run through `KnowledgeBase.search` itself, which must give
the same rankings, and reported on both halves. Weight 0 is checked to be exactly the ranking
of a search with no freshness rule given (the default).

Run: .venv/bin/python bench/recency_weight.py [--home DIR]
Results: bench/results/recency_weight.json and a table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
from datetime import date
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.freshness import RECENCY_DEPTH, FreshnessRule, reweight_by_recency  # noqa: E402
from kb.search.evaluation import LabelledQuery, load_queries, ndcg_at  # noqa: E402

REFERENCE_DAY = date(2026, 12, 1)
WEIGHTS = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
HALF_LIVES = (90.0, 180.0, 365.0, 730.0)
K = 10


def half_of(query: LabelledQuery) -> str:
    return "tune" if hashlib.sha1(query.query.encode()).digest()[0] % 2 == 0 else "held_out"


def fused_heads(kb: KnowledgeBase, queries: list[LabelledQuery]) -> list[dict[str, Any]]:
    """Per query: fusion's first RECENCY_DEPTH documents (doc_id, chunk_id, score), their
    sources and dates, as the searcher holds them before any recency weight."""
    searcher = kb.searcher
    out = []
    for item in queries:
        sides = searcher._hybrid_sides(item.query, 50, None, with_dense=False)
        head = sides.fused[:RECENCY_DEPTH]
        rows = kb.store.chunk_rows([chunk_id for _, chunk_id, _ in head])
        docs = {doc.doc_id: doc for _, doc in rows.values()}
        out.append(
            {
                "fused": sides.fused,
                "source": {d: doc.source for d, doc in docs.items()},
                "date": {d: doc.date for d, doc in docs.items()},
            }
        )
    return out


def ndcg(queries: list[LabelledQuery], heads: list[dict[str, Any]], rule: FreshnessRule) -> dict:
    per_half: dict[str, list[float]] = {"tune": [], "held_out": []}
    for item, head in zip(queries, heads, strict=True):
        ranked = reweight_by_recency(head["fused"], head["date"].get, rule)
        sources = [head["source"].get(doc_id, doc_id) for doc_id, _, _ in ranked]
        per_half[half_of(item)].append(ndcg_at(sources, item.relevant, K))
    return {half: round(mean(values), 4) for half, values in per_half.items()}


def searched(kb: KnowledgeBase, queries: list[LabelledQuery]) -> list[list[str]]:
    return [[hit.source for hit in kb.search(item.query, k=K)] for item in queries]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None, help="keep the store here")
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="kb-recency-"))
    kb = open_knowledge_base(home)
    try:
        report = ingest_paths(kb, [ROOT / "data" / "sample"])
        assert not report.failed, report.failed
        queries = load_queries(ROOT / "data" / "sample" / "queries.jsonl")
        sizes = {h: sum(half_of(q) == h for q in queries) for h in ("tune", "held_out")}

        default = searched(kb, queries)  # no rule given: the default, weight 0
        kb.searcher.freshness_of = lambda: FreshnessRule(today=REFERENCE_DAY)
        off_is_fusion = searched(kb, queries) == default

        heads = fused_heads(kb, queries)
        fusion = [[h["source"].get(d, d) for d, _, _ in h["fused"][:K]] for h in heads]
        off_is_fusion = off_is_fusion and fusion == default
        dated = [d for head in heads for d in head["date"].values() if d]
        grid = []
        for weight in WEIGHTS:
            for half_life in HALF_LIVES if weight > 0 else HALF_LIVES[:1]:
                rule = FreshnessRule(
                    recency_weight=weight, half_life_days=half_life, today=REFERENCE_DAY
                )
                grid.append(
                    {"weight": weight, "half_life_days": half_life, **ndcg(queries, heads, rule)}
                )
        baseline = grid[0]
        best = max(grid, key=lambda row: (row["tune"], -row["weight"]))
        chosen = FreshnessRule(
            recency_weight=best["weight"],
            half_life_days=best["half_life_days"],
            today=REFERENCE_DAY,
        )
        kb.searcher.freshness_of = lambda: chosen
        through_search = searched(kb, queries)
        simulated = [
            [
                h["source"].get(d, d)
                for d, _, _ in reweight_by_recency(h["fused"], h["date"].get, chosen)
            ][:K]
            for h in heads
        ]
        payload = {
            "corpus": "data/sample",
            "queries": len(queries),
            "halves": sizes,
            "reference_day": REFERENCE_DAY.isoformat(),
            "dates": {"earliest": min(dated), "latest": max(dated)},
            "metric": f"ndcg@{K}, hybrid",
            "weight_0_is_the_default_ranking_exactly": off_is_fusion,
            "baseline_weight_0": baseline,
            "best_on_tune": best,
            "best_through_search_matches_simulation": through_search == simulated,
            "grid": grid,
        }
    finally:
        kb.close()
    save("recency_weight", payload)
    print(f"\n{'weight':>7} {'half-life':>10} {'tune':>7} {'held-out':>9}")
    for row in grid:
        print(
            f"{row['weight']:>7} {row['half_life_days']:>10g} {row['tune']:>7} {row['held_out']:>9}"
        )


if __name__ == "__main__":
    main()
