"""Search speed at 100k chunks: hybrid p50/p95 beside raw query encode + faiss search, in the
same run, interleaved query by query; plus peak memory.

The store holds a few thousand real chunks (the sample corpus and, when present, the shared
d2l chapters), embedded for real, and is filled up to --chunks with synthetic chunks: text
drawn from the real vocabulary, vectors = real vectors plus noise. Embedding 100k texts would
take over an hour on 2 cores, and the search path does not care where a vector came from.

Run: .venv/bin/python bench/search_speed.py [--chunks 100000] [--home DIR] [--passes 3]
A --home that already holds the store is reused (the fill is skipped).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save, summary_ms  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import (  # noqa: E402
    ChunkInput,
    DocumentInput,
    DocumentMeta,
    KnowledgeBase,
    Location,
    SearchFilters,
    open_knowledge_base,
)
from kb.embed.registry import VARIANTS, default_variant, make_embedder

SHARED_MARKDOWN = ROOT.parent / "shared" / "corpora" / "markdown"
TEAMS = ["nlp", "recsys", "mlops", "support-ai"]
TYPES = ["markdown", "notebook", "transcript", "text"]


def fill(kb: KnowledgeBase, target: int, seed: int = 1) -> None:
    rng = np.random.default_rng(seed)
    pyrng = random.Random(seed)
    real_ids, real_vectors = [], []
    for ids, vectors in kb.store.iter_embeddings():
        real_ids.append(ids)
        real_vectors.append(vectors)
    base = np.concatenate(real_vectors)
    vocabulary: list[str] = []
    for doc in kb.list_documents()[:400]:
        for chunk in kb.get_chunks(doc.doc_id):
            vocabulary.extend(chunk.body.split())
    missing = target - kb.store.count_chunks()
    per_doc = 10
    started = time.perf_counter()
    first = sum(1 for doc in kb.list_documents() if doc.source.startswith("synthetic/"))
    for number in range(first, first + max(0, missing) // per_doc):
        chunks = tuple(
            ChunkInput(
                f"Synthetic {number} > part {j}",
                " ".join(pyrng.choices(vocabulary, k=70)),
                Location(f"part {j}", f"part-{j}"),
            )
            for j in range(per_doc)
        )
        picks = base[rng.integers(0, len(base), per_doc)]
        vectors = picks + rng.normal(0, 0.6 / np.sqrt(kb.dim), picks.shape).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        meta = DocumentMeta(
            title=f"Synthetic {number}",
            team=TEAMS[number % 4],
            course=f"course-{number % 7}",
            skills=(f"skill-{number % 11}",),
        )
        doc = DocumentInput(
            origin=f"synthetic:{number}",
            source=f"synthetic/{number}.md",
            type=TYPES[number % 4],
            content_hash=str(number),
            meta=meta,
            chunks=chunks,
        )
        kb.add_embedded(doc, vectors.astype(np.float32))
        if number % 1000 == 0:
            print(
                f"filled {number * per_doc} chunks ({time.perf_counter() - started:.0f}s)",
                file=sys.stderr,
            )
    kb.flush()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None, help="default /tmp/kb-search-VARIANT")
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--variant", choices=VARIANTS, default=default_variant())
    args = parser.parse_args()
    args.home = args.home or Path(tempfile.gettempdir()) / f"kb-search-{args.variant}"

    embedder = make_embedder(None, args.variant)
    kb = open_knowledge_base(args.home, embedder=embedder)
    if kb.store.count_chunks() < args.chunks:
        corpora = [ROOT / "data" / "sample"]
        if SHARED_MARKDOWN.exists():
            corpora.append(SHARED_MARKDOWN)
        report = ingest_paths(kb, corpora)
        print(f"real chunks: {report.chunks} embedded", file=sys.stderr)
        fill(kb, args.chunks)
    kb.close()

    opened = time.perf_counter()
    kb = open_knowledge_base(args.home, embedder=embedder)
    open_s = time.perf_counter() - opened
    queries = [
        json.loads(line)["query"]
        for line in (ROOT / "data" / "sample" / "queries.jsonl").read_text().splitlines()
        if line.strip()
    ]
    embedder.encode_documents(["warm up"] * 4)
    kb.search("warm up the caches", k=10)

    timings: dict[str, list[float]] = {
        "raw_encode_plus_faiss": [],
        "hybrid": [],
        "dense": [],
        "lexical": [],
        "hybrid_filtered": [],
    }
    paired: list[float] = []  # hybrid minus raw, query by query: steadier than two medians
    team_filter = SearchFilters(team="nlp")
    for pass_ in range(args.passes):
        for query in queries:
            text = f"{query} {pass_}" if pass_ else query  # defeat the query cache
            started = time.perf_counter()
            vector = embedder.encode_documents([text])[0]
            kb.index.search(vector, 10)
            timings["raw_encode_plus_faiss"].append(time.perf_counter() - started)
            for mode in ("hybrid", "dense", "lexical"):
                embedder._query_cache.clear()
                started = time.perf_counter()
                kb.search(text, k=10, mode=mode)
                timings[mode].append(time.perf_counter() - started)
            paired.append(timings["hybrid"][-1] - timings["raw_encode_plus_faiss"][-1])
            embedder._query_cache.clear()
            started = time.perf_counter()
            kb.search(text, k=10, filters=team_filter)
            timings["hybrid_filtered"].append(time.perf_counter() - started)
    summaries = {name: summary_ms(values) for name, values in timings.items()}
    overhead = summaries["hybrid"]["p50_ms"] - summaries["raw_encode_plus_faiss"]["p50_ms"]
    save(
        "search_speed",
        {
            "variant": args.variant,
            "chunks": kb.store.count_chunks(),
            "documents": kb.store.count_documents(),
            "queries_per_pass": len(queries),
            "passes": args.passes,
            "open_store_s": round(open_s, 2),
            "latency": summaries,
            "hybrid_overhead_p50_ms": round(overhead, 3),
            "hybrid_overhead_paired_median_ms": round(statistics.median(paired) * 1000, 3),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        },
    )
    kb.close()


if __name__ == "__main__":
    main()
