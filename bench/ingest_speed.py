"""Ingest speed: the pipeline's chunks/s (with the store's default variant, or --variant)
beside the bare fp32 PyTorch model's `encode` of the same chunk texts, in the same process,
alternating, medians of several rounds; then an unchanged re-ingest.

Run: .venv/bin/python bench/ingest_speed.py [--rounds 3] [--variant V] [PATH ...]
(default data/sample). Targets: pipeline >= 2x the bare fp32 model with int8 (issue 10; on a
CPU with VNNI), >= 0.85x with the same variant; unchanged re-ingest >= 50x faster.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from _common import ROOT, save  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import SentenceTransformerEmbedder, open_knowledge_base  # noqa: E402
from kb.embed.registry import VARIANTS, default_variant, make_embedder


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "data" / "sample")])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", choices=VARIANTS, default=default_variant())
    args = parser.parse_args()
    embedder = make_embedder(None, args.variant)
    embedder.encode_documents(["warm up the model"] * 8)
    bare = SentenceTransformerEmbedder()._loaded()  # the bare fp32 PyTorch model
    bare.encode(["warm up the model"] * 8)

    pipeline_s: list[float] = []
    raw_s: list[float] = []
    reingest_s: list[float] = []
    chunks = 0
    for round_ in range(args.rounds):
        home = Path(tempfile.mkdtemp(prefix="kb-bench-"))
        try:
            kb = open_knowledge_base(home, embedder=embedder)
            started = time.perf_counter()
            report = ingest_paths(kb, args.paths)
            pipeline_s.append(time.perf_counter() - started)
            chunks = report.chunks
            texts = [
                f"{c.heading}\n{c.body}" if c.heading else c.body
                for doc in kb.list_documents()
                for c in kb.get_chunks(doc.doc_id)
            ]
            started = time.perf_counter()
            bare.encode(texts, batch_size=32, normalize_embeddings=True)
            raw_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            again = ingest_paths(kb, args.paths)
            reingest_s.append(time.perf_counter() - started)
            assert again.embedded == 0 and again.unchanged == report.added
            kb.close()
            print(
                f"round {round_ + 1}: pipeline {pipeline_s[-1]:.2f}s, raw encode {raw_s[-1]:.2f}s,"
                f" re-ingest {reingest_s[-1]:.3f}s ({chunks} chunks)",
                file=sys.stderr,
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)
    pipeline = statistics.median(pipeline_s)
    raw = statistics.median(raw_s)
    reingest = statistics.median(reingest_s)
    save(
        "ingest_speed",
        {
            "corpus": [os.path.relpath(p, ROOT) for p in args.paths],
            "chunks": chunks,
            "rounds": args.rounds,
            "variant": args.variant,
            "pipeline_chunks_per_s": round(chunks / pipeline, 2),
            "raw_encode_chunks_per_s": round(chunks / raw, 2),
            "pipeline_vs_raw": round(raw / pipeline, 3),
            "first_ingest_s": round(pipeline, 3),
            "unchanged_reingest_s": round(reingest, 4),
            "reingest_speedup": round(pipeline / reingest, 1),
        },
    )


if __name__ == "__main__":
    main()
