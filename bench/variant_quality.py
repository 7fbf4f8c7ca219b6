"""Search quality per model variant: the sample corpus ingested once with the fp32 PyTorch
model, then copied and moved to onnx-fp32 and onnx-int8 with `kb.reembed` (the same chunks,
only the vectors change); nDCG@10, recall@10 and MRR@10 per search mode on the labelled
queries, and the int8 - fp32 difference (the gate: within 0.01 nDCG@10, hybrid and dense).

Run: .venv/bin/python bench/variant_quality.py [--cache DIR]  (ONNX export cache; default
KB_MODEL_CACHE or ~/.cache/kb-training/onnx)
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import open_knowledge_base  # noqa: E402
from kb.embed.base import ONNX_FP32, ONNX_INT8, TORCH_FP32
from kb.embed.registry import make_embedder
from kb.reembed import reembed  # noqa: E402
from kb.search.evaluation import compare_modes, load_queries

GATE = 0.01


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, default=None)
    args = parser.parse_args()
    queries = load_queries(ROOT / "data" / "sample" / "queries.jsonl")
    work = Path(tempfile.mkdtemp(prefix="kb-variants-"))
    results: dict[str, dict[str, dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    try:
        base = work / TORCH_FP32
        torch_model = make_embedder(None, TORCH_FP32)
        kb = open_knowledge_base(base, embedder=torch_model)
        report = ingest_paths(kb, [ROOT / "data" / "sample"])
        results[TORCH_FP32] = compare_modes(kb.search, queries)
        kb.close()
        for variant in (ONNX_FP32, ONNX_INT8):
            home = work / variant
            shutil.copytree(base, home)
            embedder = make_embedder(None, variant, cache_dir=args.cache)
            started = time.perf_counter()
            moved = reembed(home, embedder)
            seconds[variant] = round(time.perf_counter() - started, 2)
            print(f"{variant}: re-embedded {moved.chunks} chunks", file=sys.stderr)
            kb = open_knowledge_base(home, embedder=embedder)
            results[variant] = compare_modes(kb.search, queries)
            kb.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    delta = {
        mode: round(results[ONNX_INT8][mode]["ndcg@10"] - results[ONNX_FP32][mode]["ndcg@10"], 4)
        for mode in ("dense", "hybrid")
    }
    save(
        "variant_quality",
        {
            "queries": len(queries),
            "chunks": report.chunks,
            "metrics": {
                v: {m: {k: round(x, 4) for k, x in s.items()} for m, s in r.items()}
                for v, r in results.items()
            },
            "int8_minus_onnx_fp32_ndcg@10": delta,
            "int8_minus_torch_fp32_ndcg@10": {
                mode: round(
                    results[ONNX_INT8][mode]["ndcg@10"] - results[TORCH_FP32][mode]["ndcg@10"], 4
                )
                for mode in ("dense", "hybrid")
            },
            "gate": GATE,
            "int8_holds_quality": all(abs(d) <= GATE or d > 0 for d in delta.values()),
            "reembed_seconds": seconds,
        },
    )


if __name__ == "__main__":
    main()
