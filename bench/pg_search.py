"""Search on PostgreSQL (pgvector HNSW, cosine) beside the embedded store (SQLite + faiss
flat, exact) at 100k chunks (and 1M when it fits the time budget), in one process, query by
query: hybrid, dense and lexical `kb.search`, the same without the encoder, the raw vector
search alone, a team-filtered search, recall of HNSW against exact search, size on disk.

The embedded store is bench/search_speed.py's (its `fill`: real chunks embedded for real,
then synthetic chunks whose vectors are real vectors plus noise); the same home is reused
when it is there. PostgreSQL gets the same documents, chunks and vectors by
`kb.store.migrate.migrate_store` (no re-embedding) into a private pgserver (PostgreSQL 16 +
pgvector) started in a temporary folder and stopped at the end.

Run: .venv/bin/python bench/pg_search.py [--chunks 100000 1000000] [--passes 2]
                                         [--budget-minutes 60]
A size whose fill and migration would take longer than --budget-minutes (estimated from the
rates measured at the smaller size) is not run; the results say so, with the estimate.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save, summary_ms  # noqa: E402
from search_speed import SHARED_MARKDOWN, fill  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import KnowledgeBase, SearchFilters, open_knowledge_base  # noqa: E402
from kb.embed.base import Embedder
from kb.embed.registry import VARIANTS, default_variant, make_embedder
from kb.store.migrate import migrate_store
from kb.store.postgres import PgStore
from tests.pg_helpers import fresh_database, start_private_server  # noqa: E402

TEAM_FILTER = SearchFilters(team="nlp")
FILL_RECORD = "bench_fill.json"
# search_speed.fill's rate into the embedded store on this machine (measured by this script
# when it fills; used for the estimate when the smaller store was filled earlier)
ASSUMED_FILL_RATE = 540.0  # how long this home's fill took, written by this script


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load() -> float:
    return round(os.getloadavg()[0], 2)


@contextmanager
def private_postgres(prefix: str = "kb-pg-bench-") -> Iterator[str]:
    """A private PostgreSQL 16 + pgvector (pgserver) in a temporary folder: the URL of a new,
    empty database on it. The server is stopped and the folder removed on the way out."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server, server_url = start_private_server(Path(tmp) / "pg")
        try:
            yield fresh_database(server_url)
        finally:
            server.cleanup()


def code_version() -> dict[str, Any]:
    """The commit measured, and which of the files measured had uncommitted changes."""

    def git(*command: str) -> str:
        done = subprocess.run(["git", *command], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    watched = ["kb", "ingest", "api", "bench/load_test.py", "bench/search_speed.py"]
    changed = git("status", "--porcelain", "--", *watched).splitlines()
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted": changed}


def read_queries() -> list[str]:
    lines = (ROOT / "data" / "sample" / "queries.jsonl").read_text().splitlines()
    return [json.loads(line)["query"] for line in lines if line.strip()]


def home_for(chunks: int, variant: str) -> Path:
    """search_speed.py's home at 100k (shared: the same fill), a home of its own otherwise."""
    name = f"kb-search-{variant}" if chunks == 100_000 else f"kb-search-{variant}-{chunks}"
    return Path(tempfile.gettempdir()) / name


def prepare_embedded(home: Path, chunks: int, embedder: Embedder, seed: Path | None) -> dict:
    """The embedded store with `chunks` chunks in `home`: reused, or copied from the smaller
    `seed` home and filled up (search_speed.fill). Returns how the fill went."""
    record_path = home / FILL_RECORD
    kb = open_knowledge_base(home, embedder=embedder) if (home / "kb.sqlite").exists() else None
    if kb is not None and kb.store.count_chunks() > chunks - 10:  # fill adds 10 at a time
        kb.close()
        if record_path.exists():
            return {**json.loads(record_path.read_text()), "reused": True}
        return {"reused": True, "seconds": None, "note": "filled earlier by search_speed.py"}
    if kb is not None:
        kb.close()
    record: dict[str, Any] = {"reused": False}
    started = time.perf_counter()
    if not (home / "kb.sqlite").exists() and seed is not None and (seed / "kb.sqlite").exists():
        log(f"seeding {home} from {seed}")
        shutil.copytree(seed, home, dirs_exist_ok=True)
        (home / FILL_RECORD).unlink(missing_ok=True)
        record["seeded_from_chunks"] = True
    kb = open_knowledge_base(home, embedder=embedder)
    try:
        before = kb.store.count_chunks()
        if before == 0:
            corpora = [ROOT / "data" / "sample"]
            if SHARED_MARKDOWN.exists():
                corpora.append(SHARED_MARKDOWN)
            report = ingest_paths(kb, corpora)
            log(f"real chunks: {report.chunks} embedded")
            before = kb.store.count_chunks()
        fill_started = time.perf_counter()
        fill(kb, chunks)
        record["synthetic_seconds"] = round(time.perf_counter() - fill_started, 1)
        record["chunks_filled"] = kb.store.count_chunks() - before
        record["chunks_per_s"] = round(
            record["chunks_filled"] / max(record["synthetic_seconds"], 1e-9), 1
        )
    finally:
        kb.close()
    record["seconds"] = round(time.perf_counter() - started, 1)
    record_path.write_text(json.dumps(record) + "\n")
    return record


def folder_mb(home: Path) -> dict[str, float]:
    sizes = {p.name: p.stat().st_size for p in home.iterdir() if p.is_file()}
    store = sum(v for k, v in sizes.items() if k.startswith("kb.sqlite"))
    vectors = sizes.get("vectors.faiss", 0)
    return {
        "sqlite_mb": round(store / 1e6, 1),
        "faiss_file_mb": round(vectors / 1e6, 1),
        "total_mb": round((store + vectors) / 1e6, 1),
    }


def database_mb(pg: PgStore) -> dict[str, float]:
    with pg._read() as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), "
            "pg_total_relation_size('kb_chunks'), pg_relation_size('kb_chunks'), "
            "pg_relation_size('kb_chunks_embedding'), pg_relation_size('kb_chunks_tsv'), "
            "pg_total_relation_size('kb_documents'), pg_total_relation_size('kb_term_df'), "
            "pg_total_relation_size(reltoastrelid) FROM pg_class WHERE relname = 'kb_chunks'"
        ).fetchone()
    assert row is not None
    names = (
        "database_mb",
        "chunks_table_with_indexes_mb",
        "chunks_heap_mb",
        "hnsw_index_mb",
        "gin_index_mb",
        "documents_mb",
        "term_df_mb",
        "chunks_toast_mb",
    )
    return {name: round(int(value) / 1e6, 1) for name, value in zip(names, row, strict=True)}


def migrate(kb: KnowledgeBase, pg: PgStore) -> dict[str, Any]:
    """Copy the embedded store into PostgreSQL (HNSW kept up to date by every insert, as
    `kb migrate` does it), then VACUUM ANALYZE; timed apart."""
    started = time.perf_counter()

    def progress(done: int, total: int, source: str) -> None:
        if done % 2000 == 0 or done == total:
            elapsed = time.perf_counter() - started
            log(f"migrated {done}/{total} documents ({elapsed:.0f} s, load {load()})")

    report = migrate_store(kb.store, pg, progress)
    migrate_s = time.perf_counter() - started
    started = time.perf_counter()
    with pg._read() as conn:
        conn.execute("VACUUM ANALYZE")
    vacuum_s = time.perf_counter() - started
    return {
        "documents": report.copied,
        "chunks": report.chunks,
        "seconds": round(migrate_s, 1),
        "chunks_per_s": round(report.chunks / migrate_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
    }


def rebuild_hnsw(pg: PgStore) -> float:
    """Build the HNSW index anew from the stored vectors (REINDEX; the server's defaults:
    maintenance_work_mem 64MB, 2 parallel maintenance workers)."""
    started = time.perf_counter()
    with pg._read() as conn:
        conn.execute("REINDEX INDEX kb_chunks_embedding")
    return time.perf_counter() - started


def exact_neighbours(
    ids: np.ndarray, vectors: np.ndarray, queries: np.ndarray, k: int, allowed: np.ndarray | None
) -> list[set[int]]:
    """Brute force over every stored vector (the oracle): the ids of the k nearest."""
    if allowed is not None:
        keep = np.isin(ids, allowed)
        ids, vectors = ids[keep], vectors[keep]
    scores = queries @ vectors.T
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    return [set(ids[row].tolist()) for row in top]


def recall(pg: PgStore, query_vectors: np.ndarray) -> dict[str, float]:
    """Mean share of the exact top k (brute force over PostgreSQL's own vectors) that the
    HNSW search returns, unfiltered and with the team filter, at k = 10 and at 50 (what a
    hybrid search asks the dense side for)."""
    id_parts, vector_parts = [], []
    for part_ids, part_vectors in pg.iter_embeddings():
        id_parts.append(part_ids)
        vector_parts.append(part_vectors)
    ids, vectors = np.concatenate(id_parts), np.concatenate(vector_parts)
    with pg._read() as conn:
        team = np.array(
            [
                r[0]
                for r in conn.execute(
                    "SELECT c.chunk_id FROM kb_chunks c JOIN kb_documents d "
                    "ON d.doc_id = c.doc_id WHERE lower(d.team) = lower(%s)",
                    (TEAM_FILTER.team,),
                )
            ],
            dtype=np.int64,
        )
    result: dict[str, float] = {}
    for k in (10, 50):
        for label, filters, allowed in (
            ("", None, None),
            ("_team_filter", TEAM_FILTER, team),
        ):
            exact = exact_neighbours(ids, vectors, query_vectors, k, allowed)
            found = [
                {chunk_id for chunk_id, _ in pg.nearest(vector, k, filters)}
                for vector in query_vectors
            ]
            shares = [len(f & e) / k for f, e in zip(found, exact, strict=True)]
            result[f"recall@{k}{label}"] = round(float(np.mean(shares)), 4)
            result[f"min_recall@{k}{label}"] = round(float(np.min(shares)), 2)
    return result


def timed(function: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, value


def measure(
    backends: dict[str, KnowledgeBase], pg: PgStore, embedder: Any, passes: int
) -> tuple[dict[str, dict[str, Any]], dict[str, float], np.ndarray]:
    """Every query through both backends, alternating which goes first; the same query
    vector for the raw vector searches. Returns the latencies by backend and path, the
    hybrid top-10 agreement, and the first pass's query vectors (for recall)."""
    queries = read_queries()
    timings: dict[str, dict[str, list[float]]] = {name: {} for name in backends}
    encode: list[float] = []
    overlap: list[float] = []
    first_vectors: list[np.ndarray] = []
    embedded = backends["embedded"]

    def record(name: str, path: str, seconds: float) -> None:
        timings[name].setdefault(path, []).append(seconds)

    for pass_ in range(passes):
        for number, query in enumerate(queries):
            text = f"{query} {pass_}" if pass_ else query  # defeat the query cache
            names = list(backends) if number % 2 == 0 else list(reversed(backends))
            tops: dict[str, list[str]] = {}
            for name in names:
                kb = backends[name]
                for mode in ("hybrid", "dense", "lexical"):
                    embedder.clear_query_cache()
                    seconds, hits = timed(kb.search, text, k=10, mode=mode)
                    record(name, mode, seconds)
                    if mode == "hybrid":
                        tops[name] = [hit.doc_id for hit in hits]
                embedder.clear_query_cache()
                record(name, "hybrid_team_filter", timed(kb.search, text, 10, TEAM_FILTER)[0])
                # The search path without the encoder: the query's vector is cached now.
                embedder.encode_query(text.strip())
                record(name, "hybrid_no_encoder", timed(kb.search, text, k=10)[0])
                record(name, "dense_no_encoder", timed(kb.search, text, k=10, mode="dense")[0])
            embedder.clear_query_cache()
            seconds, vector = timed(embedder.encode_query, text.strip())
            encode.append(seconds)
            if pass_ == 0:
                first_vectors.append(vector)
            for name in names:
                if name == "embedded":
                    record(name, "vectors_k10", timed(embedded.index.search, vector, 10)[0])
                    search = embedded.vectors.search
                else:
                    record(name, "vectors_k10", timed(pg.nearest, vector, 10, None)[0])
                    search = backends[name].vectors.search
                record(name, "vectors_k50", timed(search, vector, 50, None)[0])
                record(name, "vectors_k50_team_filter", timed(search, vector, 50, TEAM_FILTER)[0])
            both = [set(tops[name]) for name in backends]
            overlap.append(len(both[0] & both[1]) / max(1, len(both[0])))
    latency: dict[str, dict[str, Any]] = {
        name: {path: summary_ms(values) for path, values in paths.items()}
        for name, paths in timings.items()
    }
    latency["encoder"] = {"encode_query": summary_ms(encode)}
    ratios = {
        f"{path}_p50": round(
            latency["postgresql"][path]["p50_ms"] / latency["embedded"][path]["p50_ms"], 2
        )
        for path in timings["embedded"]
    }
    agreement = {"hybrid_top10_documents_shared": round(statistics.mean(overlap), 3)}
    return latency, {**ratios, **agreement}, np.stack(first_vectors)


def run_size(chunks: int, args: argparse.Namespace, embedder: Any, seed: Path | None) -> dict:
    home = home_for(chunks, args.variant)
    log(f"{chunks} chunks: embedded store in {home} (load {load()})")
    fill_record = prepare_embedded(home, chunks, embedder, seed)
    result: dict[str, Any] = {"fill_embedded": fill_record, "load_before": load()}
    kb = open_knowledge_base(home, embedder=embedder)
    try:
        result["chunks"] = kb.store.count_chunks()
        result["documents"] = kb.store.count_documents()
        result["size_embedded"] = folder_mb(home)
        with private_postgres() as url, tempfile.TemporaryDirectory(prefix="kb-pg-home-") as tmp:
            pg = PgStore(url)
            try:
                log(f"migrating {result['chunks']} chunks into PostgreSQL")
                result["migrate_to_postgresql"] = migrate(kb, pg)
                result["size_postgresql"] = database_mb(pg)
                kb_pg = open_knowledge_base(Path(tmp), embedder=embedder, store=pg)
                backends = {"embedded": kb, "postgresql": kb_pg}
                for backend in backends.values():  # warm up: the model, caches, the pool
                    for mode in ("hybrid", "dense", "lexical"):
                        backend.search("warm up the caches", k=10, mode=mode)
                log(f"searching ({args.passes} passes, load {load()})")
                latency, ratios, vectors = measure(backends, pg, embedder, args.passes)
                result["latency"] = latency
                result["postgresql_over_embedded"] = ratios
                log("recall of HNSW against exact search")
                result["hnsw_recall_after_migration"] = recall(pg, vectors)
                log("building the HNSW index anew (REINDEX)")
                result["hnsw_rebuild_s"] = round(rebuild_hnsw(pg), 1)
                result["hnsw_recall_after_rebuild"] = recall(pg, vectors)
                result["size_postgresql_after_rebuild"] = database_mb(pg)
                result["load_after"] = load()
            finally:
                pg.close()
    finally:
        kb.close()
    return result


def estimate_minutes(smaller: dict[str, Any], chunks: int) -> float | None:
    """Fill + migration time of `chunks`, from the rates measured at the smaller size."""
    fill_rate = smaller["fill_embedded"].get("chunks_per_s") or ASSUMED_FILL_RATE
    migrate_rate = smaller.get("migrate_to_postgresql", {}).get("chunks_per_s")
    if not migrate_rate:
        return None
    missing = chunks - smaller["chunks"]
    return round((missing / fill_rate + chunks / migrate_rate) / 60, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--variant", choices=VARIANTS, default=default_variant())
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=60.0,
        help="skip a size whose fill + migration is estimated to take longer",
    )
    args = parser.parse_args()
    code = code_version()  # what is measured: the files as they are now
    embedder = make_embedder(None, args.variant)
    embedder.encode_documents(["warm up"] * 4)
    started = time.perf_counter()
    sizes: dict[str, Any] = {}
    previous: dict[str, Any] | None = None
    seed: Path | None = None
    for chunks in sorted(args.chunks):
        if previous is not None:
            estimate = estimate_minutes(previous, chunks)
            if estimate is None or estimate > args.budget_minutes:
                sizes[str(chunks)] = {
                    "skipped": f"fill + migration estimated at {estimate} min from the rates "
                    f"measured at {previous['chunks']} chunks, over the --budget-minutes "
                    f"{args.budget_minutes:g}",
                    "estimated_minutes": estimate,
                }
                log(f"{chunks}: {sizes[str(chunks)]['skipped']}")
                continue
        size_started = time.perf_counter()
        previous = run_size(chunks, args, embedder, seed)
        previous["benchmark_minutes"] = round((time.perf_counter() - size_started) / 60, 1)
        sizes[str(chunks)] = previous
        seed = home_for(chunks, args.variant)
    save(
        "pg_search",
        {
            "code": code,
            "variant": args.variant,
            "queries_per_pass": len(read_queries()),
            "passes": args.passes,
            "team_filter": TEAM_FILTER.team,
            "postgresql": "16 (pgserver), pgvector 0.6, server defaults (shared_buffers "
            "128MB, maintenance_work_mem 64MB); HNSW m=16, ef_construction=64, ef_search "
            ">= 100",
            "sizes": sizes,
            "minutes": round((time.perf_counter() - started) / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
