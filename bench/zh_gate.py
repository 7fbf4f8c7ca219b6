"""A per-query gate for Chinese queries measured (issue "Ranking that learns": hybrid >=
max(dense, lexical) for Chinese questions about Chinese material, zh->zh).

With the English-only default model a Chinese query is answered by BM25 of its words *and*
their English translations (glossary, dictionary): zh->en needs them, but they pull English
chapters in for zh->zh, where BM25 of the query's own words alone does better on the held-out
halves. The gate: when the own words already find a strong match, rank like BM25 of the own
words; otherwise keep today's fusion. "Strong" is one query-level signal, computed at search
time without labels, at or above a threshold:

- `coverage`: the share of the query's own words (its lexemes, as BM25 matches them) present
  in the own-words BM25 top chunk (heading and body);
- `idf_coverage`: the same share weighted by each word's IDF in the store;
- `idf_score`: the own-words top BM25 score over the sum of the query words' IDF;
- `score_ratio`: the own-words top BM25 score over the top score of today's list (words and
  translations).

And two ways to "rank like own words" for a gated query: `own` (the own-words BM25 list alone)
and `own_fused` (own words fused with today's list at weights 3 : 1).

The rule, fixed before any figure was seen: on the TUNE halves of both stores (corpora and
sample) together, among the (signal, threshold, action) whose every language pair (en->en,
en->zh, zh->en, zh->zh) on each store's tune half is no lower than today's, take the one that
gates the MOST Chinese tune queries (ties: the `own` action, then the higher mean nDCG@10 of
the Chinese tune queries, then the signal's order above, then the lower threshold). The held-out
halves are then run once with that gate.

Queries and halves as in bench/glossary_quality.py (first byte of the SHA-1 of the query, even
= tune); stores as bench/chinese_stand_in.py builds them.

Run: .venv/bin/python bench/zh_gate.py --home DIR --sample-home DIR --tune-only (the grid on
the tune halves; writes the choice), then without --tune-only (both halves with the chosen
gate, read from the results file unless --signal/--threshold/--action are given). Results:
bench/results/zh_gate.json (the tune run: bench/results/zh_gate_tune.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import RESULTS, ROOT, save  # noqa: E402
from chinese_stand_in import open_store  # noqa: E402
from glossary_quality import SETS, half_of, language_pair, stage  # noqa: E402

from kb import KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.language.terms import index_stem, index_text, index_words, lexemes, query_words  # noqa: E402
from kb.search.evaluation import LabelledQuery, compare_by_language, load_queries, ndcg_at  # noqa: E402
from kb.search.fusion import HybridSides, Searcher, collapse, fuse  # noqa: E402

SIGNALS = ("coverage", "idf_coverage", "idf_score", "score_ratio")
ACTIONS = ("own", "own_fused")
OWN_FUSED_WEIGHTS = (3.0, 1.0)  # own words : today's list, for the `own_fused` action
# thresholds tried for each signal (fixed in advance; shares in [0, 1], ratios beyond)
GRID = {
    "coverage": [round(0.05 * i, 2) for i in range(21)],
    "idf_coverage": [round(0.05 * i, 2) for i in range(21)],
    "idf_score": [round(0.1 * i, 1) for i in range(41)],
    "score_ratio": [round(0.05 * i, 2) for i in range(41)],
}
PAIRS = ("en->en", "en->zh", "zh->en", "zh->zh")


@dataclasses.dataclass
class Gate:
    """What the patched searcher does with a Chinese query: `force` an action for every one
    (None: today's fusion), or gate by `signal` >= `threshold` with `action`."""

    force: str | None = None
    signal: str | None = None
    threshold: float = math.inf
    action: str = "own"
    seen: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)


def _lexeme_set(text: str) -> set[str]:
    return {index_stem(part) for word in query_words(text) for part in index_words(word)}


def _idf(store: Any, words: list[str]) -> dict[str, float]:
    """FTS5's BM25 IDF of each lexeme, from the embedded store's term counts."""
    total = store.count_chunks()
    lexical = store.lexical
    with lexical._read_lock:
        df = lexical._frequencies_of(words)
    return {w: max(1e-6, math.log((total - n + 0.5) / (n + 0.5))) for w, n in df.items()}


def signals_of(
    searcher: Searcher, query: str, own: list[tuple[int, float]], today_top: float
) -> dict[str, float]:
    """The four signals of a Chinese query (see the module's docstring)."""
    words = sorted(_lexeme_set(query))
    top_chunk, top_score = own[0]
    rows = searcher.store.chunk_rows([top_chunk])
    chunk = rows[top_chunk][0] if top_chunk in rows else None
    present = (
        set(lexemes(index_text(chunk.heading + " " + chunk.body))) if chunk is not None else set()
    )
    idf = _idf(searcher.store, words) if words else {}
    total_idf = sum(idf.values()) or 1.0
    found = [w for w in words if w in present]
    return {
        "coverage": len(found) / len(words) if words else 0.0,
        "idf_coverage": sum(idf[w] for w in found) / total_idf,
        "idf_score": top_score / total_idf,
        "score_ratio": top_score / today_top if today_top > 0 else math.inf,
    }


def install(kb: KnowledgeBase, gate: Gate) -> None:
    """Wrap the searcher's hybrid sides with the gate (a bench-only patch of one instance)."""
    searcher = kb.searcher
    original: Callable[..., HybridSides] = Searcher._hybrid_sides.__get__(searcher)

    def gated(query: str, limit: int, filters: Any, with_dense: bool) -> HybridSides:
        sides = original(query, limit, filters, with_dense)
        if (
            sides.language != "zh"
            or searcher.language_weights["zh"][0] > 0.0
            or with_dense
            or not sides.translated
            or not sides.lexical.by_doc
        ):
            return sides
        own = searcher._lexical_alone(query, limit, filters)
        if not own:
            return sides
        today_top = min(sides.lexical.by_doc.values())[2]
        found = signals_of(searcher, query, own, today_top)
        gate.seen[query] = found
        action = gate.force
        if action is None and gate.signal is not None and found[gate.signal] >= gate.threshold:
            action = gate.action
        if action is None:
            return sides
        own_ranked = collapse(own, searcher.vectors.docs_of([c for c, _ in own]))
        if action == "own":
            fused = fuse([own_ranked])
        else:
            fused = fuse([own_ranked, sides.lexical], OWN_FUSED_WEIGHTS)
        return dataclasses.replace(sides, fused=fused, own_words=own_ranked)

    searcher._hybrid_sides = gated  # type: ignore[method-assign]


def queries_of(store: str) -> list[LabelledQuery]:
    if store == "corpora":
        return [
            language_pair(q)
            for file in SETS.values()
            for q in load_queries(ROOT / "bench" / "data" / file)
        ]
    return [language_pair(q) for q in load_queries(ROOT / "data" / "sample" / "queries.jsonl")]


def per_query(kb: KnowledgeBase, queries: list[LabelledQuery]) -> list[float]:
    return [
        ndcg_at([hit.source for hit in kb.search(q.query, k=10)], q.relevant, 10) for q in queries
    ]


def tune(kb: KnowledgeBase, queries: list[LabelledQuery], gate: Gate) -> dict[str, Any]:
    """Per tune query: today's nDCG@10, and for Chinese ones each action's and the signals."""
    chinese = [q for q in queries if q.lang and q.lang.startswith("zh")]
    gate.force = None
    today = per_query(kb, queries)
    rows: list[dict[str, Any]] = [
        {"query": q.query, "lang": q.lang, "today": t} for q, t in zip(queries, today, strict=True)
    ]
    by_query = {row["query"]: row for row in rows}
    for action in ACTIONS:
        gate.force = action
        for q, value in zip(chinese, per_query(kb, chinese), strict=True):
            by_query[q.query][action] = value
    gate.force = None
    for q in chinese:
        by_query[q.query]["signals"] = gate.seen.get(q.query)  # None: not translated
    return {"queries": rows}


def pair_means(rows: list[dict[str, Any]], pick: Callable[[dict[str, Any]], float]) -> dict:
    out = {}
    for pair in PAIRS:
        members = [pick(r) for r in rows if r["lang"] == pair]
        if members:
            out[pair] = sum(members) / len(members)
    return out


def grid(stores: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Every (signal, threshold, action) on the tune rows of both stores; the rule's choice."""
    baseline = {s: pair_means(rows, lambda r: r["today"]) for s, rows in stores.items()}
    tried = []
    for signal in SIGNALS:
        for threshold in GRID[signal]:
            for action in ACTIONS:

                def pick(
                    r: dict[str, Any], signal: str = signal, t: float = threshold, a: str = action
                ) -> float:
                    on = r.get("signals") and r["signals"][signal] >= t
                    return float(r[a] if on else r["today"])

                means = {s: pair_means(rows, pick) for s, rows in stores.items()}
                gated = sum(
                    1
                    for rows in stores.values()
                    for r in rows
                    if r.get("signals") and r["signals"][signal] >= threshold
                )
                chinese = [pick(r) for rows in stores.values() for r in rows if "own" in r]
                feasible = all(
                    means[s][p] >= baseline[s][p] - 1e-9 for s in stores for p in baseline[s]
                )
                tried.append(
                    {
                        "signal": signal,
                        "threshold": threshold,
                        "action": action,
                        "gated": gated,
                        "feasible": feasible,
                        "chinese_mean": sum(chinese) / len(chinese),
                        "means": {
                            s: {p: round(v, 4) for p, v in m.items()} for s, m in means.items()
                        },
                    }
                )
    feasible = [t for t in tried if t["feasible"] and t["gated"] > 0]
    feasible.sort(
        key=lambda t: (
            -t["gated"],
            ACTIONS.index(t["action"]),
            -t["chinese_mean"],
            SIGNALS.index(t["signal"]),
            t["threshold"],
        )
    )
    return {
        "baseline": {s: {p: round(v, 4) for p, v in m.items()} for s, m in baseline.items()},
        "chinese_tune_queries": sum(1 for rows in stores.values() for r in rows if "own" in r),
        "translated_chinese_tune_queries": sum(
            1 for rows in stores.values() for r in rows if r.get("signals")
        ),
        "chosen": feasible[0] if feasible else None,
        "feasible": feasible[:40],
        "tried": tried,
    }


def held_out(kb: KnowledgeBase, queries: list[LabelledQuery], gate: Gate) -> dict[str, Any]:
    """Both halves: dense, lexical, hybrid today, hybrid with the gate, per pair."""
    kb.searcher.use_learned_ranking = False
    out: dict[str, Any] = {}
    for half in ("tune", "held_out"):
        part = [q for q in queries if half_of(q) == half]
        saved, gate.signal = gate.signal, None
        before = compare_by_language(kb.search, part)
        gate.signal = saved
        gate.seen.clear()
        after = compare_by_language(kb.search, part, modes=("hybrid",))
        chinese = [q for q in part if q.lang and q.lang.startswith("zh")]
        out[half] = {
            pair: {
                **{mode: round(before[pair][mode]["ndcg@10"], 4) for mode in before[pair]},
                "hybrid_gated": round(after[pair]["hybrid"]["ndcg@10"], 4),
                "queries": sum(1 for q in part if pair == "all" or q.lang == pair),
            }
            for pair in sorted(before)
        }
        out[half]["gated_queries"] = {
            pair: sum(
                1
                for q in chinese
                if q.lang == pair
                and q.query in gate.seen
                and gate.signal is not None
                and gate.seen[q.query][gate.signal] >= gate.threshold
            )
            for pair in ("zh->en", "zh->zh")
        }
    return out


def open_both(args: argparse.Namespace, tmp: str) -> dict[str, KnowledgeBase]:
    home = args.home or Path(tmp) / "corpora-home"
    kb = open_knowledge_base(home)
    if kb.stats()["documents"] == 0:
        kb.close()
        kb = open_store(home, [stage(args.corpora, Path(tmp) / "corpora")])
    sample = open_store(args.sample_home or Path(tmp) / "sample-home", [ROOT / "data" / "sample"])
    return {"corpora": kb, "sample": sample}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--sample-home", type=Path, default=None)
    parser.add_argument("--tune-only", action="store_true")
    parser.add_argument("--signal", choices=SIGNALS, default=None)
    parser.add_argument("--threshold", type=float, default=None)
    parser.add_argument("--action", choices=ACTIONS, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores = open_both(args, tmp)
        gates = {name: Gate() for name in stores}
        for name, kb in stores.items():
            kb.searcher.use_learned_ranking = False
            install(kb, gates[name])
        if args.tune_only:
            rows = {
                name: tune(kb, [q for q in queries_of(name) if half_of(q) == "tune"], gates[name])[
                    "queries"
                ]
                for name, kb in stores.items()
            }
            chosen = grid(rows)
            results = {
                "stores": {name: kb.stats() for name, kb in stores.items()},
                "grid": chosen,
                "tune_queries": rows,
            }
            for kb in stores.values():
                kb.close()
            save("zh_gate_tune", results)
            return
        if args.signal is None:
            tuned = json.loads((RESULTS / "zh_gate_tune.json").read_text())["grid"]["chosen"]
            signal, threshold, action = tuned["signal"], tuned["threshold"], tuned["action"]
        else:
            signal, threshold = args.signal, float(args.threshold or 0.0)
            action = args.action or "own"
        results = {
            "gate": {"signal": signal, "threshold": threshold, "action": action},
            "stores": {},
        }
        for name, kb in stores.items():
            gate = gates[name]
            gate.signal, gate.threshold, gate.action = signal, threshold, action
            results["stores"][name] = {
                "store": kb.stats(),
                "ndcg@10": held_out(kb, queries_of(name), gate),
            }
            kb.close()
    save("zh_gate", results)
    for name, found in results["stores"].items():
        for half, pairs in found["ndcg@10"].items():
            for pair, row in pairs.items():
                if pair == "gated_queries":
                    print(f"{name:8} {half:9} gated {row}")
                    continue
                print(
                    f"{name:8} {half:9} {pair:7} n={row['queries']:3}  dense {row['dense']:.3f}"
                    f"  lexical {row['lexical']:.3f}  hybrid {row['hybrid']:.3f}"
                    f" -> {row['hybrid_gated']:.3f}"
                )


if __name__ == "__main__":
    main()
