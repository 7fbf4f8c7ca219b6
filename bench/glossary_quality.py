"""The mined glossary measured (issue "Ranking that learns", part 1): nDCG@10 per language
pair and search mode, with the dictionary alone (CC-CEDICT, as before) and with the store's
own term pairs first (kb.language.mining), on the four shared corpora ingested into one
store with the default model and variant.

Query sets, each written before the change: bench/data/fresh_bilingual_queries.jsonl (100,
written blind for this issue; split into a tune half and a held-out half by the first byte of
the SHA-1 of the query, even = tune: nothing was tuned on the held-out half),
bench/data/bilingual_queries.jsonl (50, older) and bench/data/corpora_queries.jsonl (65
English queries over English material: en->en must not get worse).

Also: how many pairs were mined, and 100 of them drawn at random (seed 7) for a check by
hand (the precision is written into docs/chinese.md).

Run: .venv/bin/python bench/glossary_quality.py [--home DIR] [--corpora ../shared/corpora]
(--home keeps the ingested store for a second run; an existing one is reused as it is).
Results: bench/results/glossary_quality.json, and a table on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.search.evaluation import LabelledQuery, compare_by_language, load_queries  # noqa: E402

KINDS = ("markdown", "markdown-zh", "notebooks", "transcripts")
SETS = {
    "fresh": "fresh_bilingual_queries.jsonl",
    "older": "bilingual_queries.jsonl",
    "english": "corpora_queries.jsonl",
}


def half_of(query: LabelledQuery) -> str:
    return "tune" if hashlib.sha1(query.query.encode()).digest()[0] % 2 == 0 else "held_out"


def stage(corpora: Path, into: Path) -> Path:
    for kind in KINDS:
        shutil.copytree(corpora / kind, into / kind, dirs_exist_ok=True)
    return into


def language_pair(query: LabelledQuery) -> LabelledQuery:
    """English queries over English material carry no `lang`: they count as en->en."""
    return query if query.lang else LabelledQuery(query.query, query.relevant, "en->en")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    home = args.home or Path(tempfile.mkdtemp(prefix="kb-glossary-"))
    kb = open_knowledge_base(home)
    if kb.stats()["documents"] == 0:
        with tempfile.TemporaryDirectory() as tmp:
            report = ingest_paths(kb, [stage(args.corpora, Path(tmp) / "corpora")])
            assert not report.failed, report.failed
    mined = kb.searcher.glossary.mined()
    results: dict[str, Any] = {
        "store": kb.stats(),
        "pairs_mined": len(mined),
        "pairs_found_twice_or_more": sum(1 for p in mined.pairs if p.count >= 2),
        "sample_for_hand_check": [
            {"chinese": p.chinese, "english": p.english, "count": p.count, "sources": p.sources}
            for p in random.Random(7).sample(mined.pairs, min(100, len(mined.pairs)))
        ],
        "sets": {},
    }
    for name, file in SETS.items():
        queries = [language_pair(q) for q in load_queries(ROOT / "bench" / "data" / file)]
        halves = {"all": queries}
        if name == "fresh":
            halves = {
                "tune": [q for q in queries if half_of(q) == "tune"],
                "held_out": [q for q in queries if half_of(q) == "held_out"],
            }
        for half, part in halves.items():
            row: dict[str, Any] = {}
            for label, use in (("dictionary", False), ("mined_first", True)):
                kb.searcher.use_mined_terms = use
                row[label] = compare_by_language(kb.search, part)
            results["sets"][f"{name}/{half}"] = row
    kb.searcher.use_mined_terms = True
    kb.close()
    save("glossary_quality", results)
    print(f"{len(mined)} pairs mined; nDCG@10 hybrid (lexical, dense): dictionary -> mined first")
    for set_name, row in results["sets"].items():
        for lang in sorted(row["dictionary"]):
            if lang == "all":
                continue
            before, after = row["dictionary"][lang], row["mined_first"][lang]
            print(
                f"{set_name:16} {lang:7} "
                + "  ".join(
                    f"{mode} {before[mode]['ndcg@10']:.3f}->{after[mode]['ndcg@10']:.3f}"
                    for mode in ("hybrid", "lexical", "dense")
                )
            )


if __name__ == "__main__":
    main()
