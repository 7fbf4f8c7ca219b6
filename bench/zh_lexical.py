"""Chinese lexical search: jieba words (the store's index) against FTS5's built-in `trigram`
tokenizer, BM25 alone, on the labelled queries of a store built by bench/fusion_weights.py.

Run (after bench/fusion_weights.py has filled its --home):

  .venv/bin/python bench/zh_lexical.py [--home /tmp/kb-fusion]

The trigram index is built beside the store in a temporary database from the same chunk
texts (heading weighted double, as in the store). A query is matched by every trigram of its
Han runs and every English word of three letters or more, OR-ed (a word of one or two Han
characters has no trigram: that is the tokenizer's limit). Prints nDCG@10 and MRR@10 per
language pair for both. Results: bench/results/zh_lexical.json.
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save  # noqa: E402

from kb.language.terms import HAN_RUN, STOPWORDS, fold, query_words
from kb.search.evaluation import load_queries, mrr_at, ndcg_at
from kb.store.lexical.sqlite import fts_query

BENCH = Path(__file__).resolve().parent
K = 10


def trigram_terms(query: str) -> list[str]:
    query = fold(query).lower()
    terms: list[str] = []
    for run in HAN_RUN.findall(query):
        terms += [run[i : i + 3] for i in range(len(run) - 2)] or []
    terms += [w for w in re.findall(r"[a-z0-9_]{3,}", query) if w not in STOPWORDS]
    return list(dict.fromkeys(terms))


def ranked_sources(db: sqlite3.Connection, table: str, words: list[str]) -> list[str]:
    if not words:
        return []
    rows = db.execute(
        f"SELECT d.source FROM {table} f JOIN chunks c ON c.chunk_id = f.rowid "
        f"JOIN documents d ON d.doc_id = c.doc_id WHERE {table} MATCH ? "
        f"ORDER BY bm25({table}, 2.0, 1.0) LIMIT 200",
        [fts_query(words)],
    ).fetchall()
    return list(dict.fromkeys(row[0] for row in rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "kb-fusion")
    args = parser.parse_args()
    queries = load_queries(BENCH / "data" / "corpora_queries.jsonl") + load_queries(
        BENCH / "data" / "bilingual_queries.jsonl"
    )
    db = sqlite3.connect(args.home / "kb.sqlite")
    db.execute("ATTACH ':memory:' AS tri")
    db.execute("CREATE VIRTUAL TABLE tri.chunks_tri USING fts5(heading, body, tokenize='trigram')")
    db.execute(
        "INSERT INTO tri.chunks_tri(rowid, heading, body) "
        "SELECT chunk_id, lower(heading), lower(body) FROM chunks"
    )
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, table, words_of in (
        ("jieba words (the store)", "chunks_fts", query_words),
        ("trigram", "chunks_tri", trigram_terms),
    ):
        pairs: dict[str, list[tuple[float, float]]] = {}
        for item in queries:
            ranked = ranked_sources(db, table, words_of(item.query))
            pairs.setdefault(item.lang or "en->en", []).append(
                (ndcg_at(ranked, item.relevant, K), mrr_at(ranked, item.relevant, K))
            )
        results[name] = {
            pair: {
                "ndcg@10": round(mean(v[0] for v in values), 3),
                "mrr@10": round(mean(v[1] for v in values), 3),
                "queries": len(values),
            }
            for pair, values in sorted(pairs.items())
        }
    for name, pairs in results.items():
        print(name, {pair: scores["ndcg@10"] for pair, scores in pairs.items()})
    save("zh_lexical", {"home": str(args.home), "bm25_alone": results})


if __name__ == "__main__":
    main()
