"""Hybrid fusion weights by language (issue 11): how much the dense and the lexical side
should count for each (query language, chunk language), chosen on labelled queries.

Run (from the project root, after `make install`):

  .venv/bin/python bench/fusion_weights.py                  # shared corpora, 115 queries
  .venv/bin/python bench/fusion_weights.py --sample         # data/sample and its queries

The shared corpora (English markdown, notebooks, transcripts and the Chinese markdown-zh,
read where they lie, copied to a temporary folder) are ingested into --home (kept between
runs: a re-run only searches). Each labelled query (bench/data/corpora_queries.jsonl, all
en->en, and bench/data/bilingual_queries.jsonl) is searched once per side; the two candidate
lists (and the lexical list of the query's words in the other language, kb.bilingual) are
then fused offline under every weight pair of a small grid, for each query
language on its own (an English query's weights never touch a Chinese query's). The
objective is the mean nDCG@10 over that query language's pairs (en->en and en->zh count
alike, whatever their number of queries). Prints per pair: dense alone, lexical alone,
equal-weight fusion, the weights in use (kb.search.LANGUAGE_WEIGHTS) and the best found.
Results: bench/results/fusion_weights[_sample].json.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
from pathlib import Path
from statistics import mean
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.bilingual import glossary  # noqa: E402
from kb.evaluation import LabelledQuery, load_queries, ndcg_at  # noqa: E402
from kb.search import LANGUAGE_WEIGHTS, Ranked, collapse, fuse  # noqa: E402
from kb.store import LEXICAL_POSTINGS_BUDGET  # noqa: E402
from kb.terms import language_of  # noqa: E402

BENCH = Path(__file__).resolve().parent
KINDS = ("markdown", "markdown-zh", "notebooks", "transcripts")
GRID = (0.0, 0.25, 0.5, 1.0)
K = 10
LIMIT = 50


def stage(corpora: Path, into: Path) -> Path:
    for kind in KINDS:
        if not (into / kind).exists():
            shutil.copytree(corpora / kind, into / kind)
    return into


def candidates(kb: Any, queries: list[LabelledQuery]) -> list[dict[str, Any]]:
    """Per query: the dense and lexical lists collapsed to documents, chunk languages, and
    the sources of documents (for scoring), searched once."""
    searcher = kb.searcher
    out = []
    for item in queries:
        dense = collapse(searcher.dense_candidates(item.query, LIMIT, None), kb._doc_of_chunk)
        lexical = collapse(
            searcher.lexical_candidates(item.query, LIMIT, None, LEXICAL_POSTINGS_BUDGET),
            kb._doc_of_chunk,
        )
        translated = glossary().translate(item.query)
        across = collapse(
            searcher.lexical_candidates(" ".join(translated), LIMIT, None, LEXICAL_POSTINGS_BUDGET)
            if translated
            else [],
            kb._doc_of_chunk,
        )
        chunk_ids = [c for r in (dense, lexical, across) for _, c, _ in r.by_doc.values()]
        out.append(
            {
                "item": item,
                "lists": (dense, lexical, across),
                "languages": searcher.chunk_languages(chunk_ids),
                "query_language": language_of(item.query),
            }
        )
    return out


def ndcg_of(entry: dict[str, Any], table: dict[tuple[str, str], tuple[float, float]]) -> float:
    languages, q = entry["languages"], entry["query_language"]

    def weight(position: int, chunk_id: int) -> float:
        return table[(q, languages[chunk_id])][position]

    fused = fuse(entry["lists"], weight)
    return ndcg_at([sources_of(entry, d) for d, _, _ in fused], entry["item"].relevant, K)


SOURCES: dict[str, str] = {}


def sources_of(entry: dict[str, Any], doc_id: str) -> str:
    return SOURCES[doc_id]


def single(entry: dict[str, Any], side: int) -> float:
    ranked: Ranked = entry["lists"][side]
    order = sorted(ranked.by_doc, key=lambda d: ranked.by_doc[d][0])
    return ndcg_at([SOURCES[d] for d in order], entry["item"].relevant, K)


def by_pair(entries: list[dict[str, Any]], score: Any) -> dict[str, float]:
    pairs: dict[str, list[float]] = {}
    for entry in entries:
        pairs.setdefault(entry["item"].lang or "en->en", []).append(score(entry))
    return {pair: round(mean(values), 3) for pair, values in sorted(pairs.items())}


def best_weights(entries: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[float, float]]:
    """For each query language: the grid weights with the best macro nDCG over its pairs."""
    table = dict(LANGUAGE_WEIGHTS)
    for q in ("en", "zh"):
        mine = [e for e in entries if e["query_language"] == q]
        if not mine:
            continue
        pairs = sorted({e["item"].lang for e in mine})
        best_score, best = -1.0, None
        options = [p for p in itertools.product(GRID, GRID, GRID) if max(p) == 1.0]
        for en_w, zh_w in itertools.product(options, options):
            trial = {**table, (q, "en"): en_w, (q, "zh"): zh_w}
            per_pair = by_pair(mine, lambda e, t=trial: ndcg_of(e, t))
            score = mean(per_pair[p or "en->en"] for p in pairs)
            if score > best_score + 1e-9:
                best_score, best = score, trial
        assert best is not None
        table = best
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "kb-fusion")
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--sample", action="store_true", help="data/sample and its queries")
    args = parser.parse_args()

    if args.sample:
        home, folder = args.home.with_name(args.home.name + "-sample"), ROOT / "data" / "sample"
        queries = load_queries(folder / "queries.jsonl")
    else:
        home = args.home
        folder = stage(args.corpora, args.home.with_name(args.home.name + "-corpus"))
        queries = load_queries(BENCH / "data" / "corpora_queries.jsonl") + load_queries(
            BENCH / "data" / "bilingual_queries.jsonl"
        )
    kb = open_knowledge_base(home)
    report = ingest_paths(kb, [folder])
    print(f"{kb.stats()['chunks']} chunks ({report.added} documents added), {len(queries)} queries")
    for info in kb.store.list_documents():
        SOURCES[info.doc_id] = info.source
    entries = candidates(kb, queries)
    in_use = dict(LANGUAGE_WEIGHTS)
    equal = dict.fromkeys(in_use, (1.0, 1.0, 0.0))  # as before: no translated list
    found = best_weights(entries)
    rows = {
        "dense": by_pair(entries, lambda e: single(e, 0)),
        "lexical": by_pair(entries, lambda e: single(e, 1)),
        "translated (lexical)": by_pair(entries, lambda e: single(e, 2)),
        "hybrid, equal weights": by_pair(entries, lambda e: ndcg_of(e, equal)),
        "hybrid, weights in use": by_pair(entries, lambda e: ndcg_of(e, in_use)),
        "hybrid, best on this set": by_pair(entries, lambda e: ndcg_of(e, found)),
    }
    pairs = list(rows["dense"])
    print(f"{'nDCG@10':<26}" + "".join(f"{p:>9}" for p in pairs))
    for name, values in rows.items():
        print(f"{name:<26}" + "".join(f"{values[p]:>9.3f}" for p in pairs))
    print("best weights (query, chunk) -> (dense, lexical):", found)
    counts = {p: sum(1 for e in entries if (e["item"].lang or "en->en") == p) for p in pairs}
    save(
        "fusion_weights_sample" if args.sample else "fusion_weights",
        {
            "model": kb.embedder.name,
            "variant": kb.embedder.variant,
            "chunks": kb.stats()["chunks"],
            "queries": counts,
            "ndcg@10": rows,
            "weights_in_use": {f"{q}->{c}": w for (q, c), w in in_use.items()},
            "best_weights": {f"{q}->{c}": w for (q, c), w in found.items()},
        },
    )
    kb.close()
    print(json.dumps({"done": True}))


if __name__ == "__main__":
    main()
