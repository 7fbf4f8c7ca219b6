"""Recall@10 of PostgreSQL's HNSW index against exact search on real embeddings: the shared
corpora's 6,999 chunks (d2l-en, d2l-zh) as bench/fusion_weights.py ingests them, and their
115 labelled queries. The synthetic 100k store of bench/pg_search.py is real vectors plus a
little noise, about 28 near-copies of each: its exact top 10 are a near-random pick among
near-equal neighbours, which understates HNSW's recall on real material.

Run: .venv/bin/python bench/pg_recall.py [--home DIR]  (default: the fusion bench's home)
It copies the home into a private PostgreSQL (kb.store.migrate: nothing re-embedded), compares
`PgStore.nearest` with brute force over the same stored vectors, and writes
bench/results/pg_recall.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

from api.backends import SqliteBackend, open_backend  # noqa: E402
from kb.embed.registry import make_embedder
from kb.store.migrate import migrate_store
from kb.store.rows import read_manifest
from tests.pg_helpers import fresh_database, start_private_server, stop_private_server  # noqa: E402

QUERY_FILES = ("bench/data/corpora_queries.jsonl", "bench/data/bilingual_queries.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, default=Path(tempfile.gettempdir()) / "kb-fusion")
    args = parser.parse_args()
    manifest = read_manifest(args.home)
    if manifest is None:
        sys.exit(f"No knowledge base in {args.home}: run bench/fusion_weights.py first.")
    with tempfile.TemporaryDirectory(prefix="kb-pg-recall-") as folder:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server, base = start_private_server(Path(folder))
        try:
            url = fresh_database(base)
            source = SqliteBackend(args.home).open_store()
            target = open_backend(args.home, url).open_store()
            started = time.perf_counter()
            migrate_store(source, target)
            migrate_s = time.perf_counter() - started
            parts = list(target.iter_embeddings())
            ids = np.concatenate([p[0] for p in parts])
            vectors = np.concatenate([p[1] for p in parts])
            queries = [
                json.loads(line)["query"]
                for name in QUERY_FILES
                for line in (ROOT / name).read_text().splitlines()
                if line.strip()
            ]
            embedder = make_embedder(None, str(manifest.get("variant", "onnx-fp32")))
            shares: list[float] = []
            times: list[float] = []
            for query_vector in embedder.encode_documents(queries):
                exact = set(ids[np.argsort(-(vectors @ query_vector))[:10]].tolist())
                began = time.perf_counter()
                found = {chunk_id for chunk_id, _ in target.nearest(query_vector, 10, None)}
                times.append(time.perf_counter() - began)
                shares.append(len(found & exact) / 10)
            source.close()
            target.close()
        finally:
            stop_private_server(server)
    save(
        "pg_recall",
        {
            "chunks": int(len(ids)),
            "queries": len(queries),
            "hnsw": "m=16, ef_construction=64, ef_search=100 (kb.store.postgres)",
            "recall@10": round(float(np.mean(shares)), 4),
            "min_recall@10": round(float(np.min(shares)), 2),
            "nearest_p50_ms": round(float(np.median(times)) * 1000, 2),
            "migrate_s": round(migrate_s, 1),
        },
    )


if __name__ == "__main__":
    main()
