"""Ingest throughput into PostgreSQL beside the embedded store (SQLite + faiss), on the same
files, alternating backends round by round, medians of several rounds:

1. the whole pipeline (`ingest_paths`, the real model): what a user waits for;
2. the same pipeline with every chunk's vector already computed (an encoder that answers
   from the vectors of the first ingest), so that parsing and the store's writes show;
3. the store's writes alone: `replace_document` of the same documents and vectors, one
   transaction each, into a fresh store;
4. an unchanged re-ingest (each file hashed, nothing written).

PostgreSQL is a private pgserver (PostgreSQL 16 + pgvector) in a temporary folder, a fresh
database per round, stopped at the end.

Run: .venv/bin/python bench/pg_ingest.py [--rounds 3] [PATH ...]   (default data/sample)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402
from pg_search import code_version, load, log, private_postgres  # noqa: E402

from ingest import ingest_paths  # noqa: E402
from kb import DocumentInput, KnowledgeBase, open_knowledge_base  # noqa: E402
from kb.embed.base import Embedder
from kb.embed.registry import VARIANTS, default_variant, make_embedder
from kb.store.postgres import PgStore
from kb.store.sqlite import Store
from tests.pg_helpers import fresh_database  # noqa: E402

BACKENDS = ("embedded", "postgresql")


class RememberingEmbedder:
    """The real embedder, except that documents' texts it has encoded once are answered from
    memory: a second ingest of the same files then costs everything but the encoder."""

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder
        self._known: dict[str, np.ndarray] = {}
        self.misses = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._embedder, name)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        todo = [text for text in dict.fromkeys(texts) if text not in self._known]
        if todo:
            self.misses += len(todo)
            self._known.update(zip(todo, self._embedder.encode_documents(todo), strict=True))
        return np.stack([self._known[text] for text in texts])


def open_kb(backend: str, folder: Path, embedder: Any, server_url: str) -> KnowledgeBase:
    """A new, empty knowledge base of that backend (its home in `folder`)."""
    if backend == "embedded":
        return open_knowledge_base(folder, embedder=embedder)
    return open_knowledge_base(folder, embedder=embedder, store=PgStore(fresh_database(server_url)))


def new_store(backend: str, folder: Path, server_url: str, manifest: dict[str, Any]) -> Any:
    store: Any = (
        Store(folder / "kb.sqlite")
        if backend == "embedded"
        else PgStore(fresh_database(server_url))
    )
    store.write_manifest({**manifest, "backend": store.backend})
    return store


def stored_documents(kb: KnowledgeBase) -> list[tuple[DocumentInput, np.ndarray]]:
    """Every document of an (embedded) knowledge base as given to the store, with its
    vectors in chunk order."""
    documents = []
    for doc in kb.list_documents():
        chunks = kb.get_chunks(doc.doc_id)
        ids, vectors = kb.store.vectors_of([chunk.chunk_id for chunk in chunks])
        row = {int(chunk_id): n for n, chunk_id in enumerate(ids)}
        ordered = vectors[[row[chunk.chunk_id] for chunk in chunks]]
        documents.append((doc.as_input(chunks), ordered))
    return documents


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "data" / "sample")])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variant", choices=VARIANTS, default=default_variant())
    args = parser.parse_args()
    code = code_version()  # what is measured: the files as they are now
    embedder = make_embedder(None, args.variant)
    embedder.encode_documents(["warm up the model"] * 8)
    remembering = RememberingEmbedder(embedder)
    times: dict[str, dict[str, list[float]]] = {
        step: {backend: [] for backend in BACKENDS}
        for step in ("pipeline", "pipeline_vectors_known", "store_writes", "unchanged_reingest")
    }
    counts: dict[str, Any] = {}
    loads = [load()]
    started = time.perf_counter()
    with private_postgres() as server_url, tempfile.TemporaryDirectory(prefix="kb-pgi-") as tmp:
        documents: list[tuple[DocumentInput, np.ndarray]] = []
        manifest: dict[str, Any] = {}
        for round_ in range(args.rounds):
            order = BACKENDS if round_ % 2 == 0 else tuple(reversed(BACKENDS))
            for backend in order:
                folder = Path(tmp) / f"{backend}-{round_}"
                # 1. the real model
                kb = open_kb(backend, folder / "pipeline", embedder, server_url)
                try:
                    seconds, report = timed(lambda kb=kb: ingest_paths(kb, args.paths))
                    times["pipeline"][backend].append(seconds)
                    counts[backend] = {
                        "files": report.added,
                        "chunks": report.chunks,
                        "failed": len(report.failed),
                    }
                    seconds, again = timed(lambda kb=kb: ingest_paths(kb, args.paths))
                    assert again.embedded == 0 and again.unchanged == report.added
                    times["unchanged_reingest"][backend].append(seconds)
                    if backend == "embedded" and not documents:
                        documents = stored_documents(kb)
                        manifest = kb.store.read_manifest() or {}
                finally:
                    kb.close()
                # 2. vectors known: the remembering encoder is warmed by an untimed ingest
                if not remembering._known:
                    warm = open_kb("embedded", Path(tmp) / "warm", remembering, server_url)
                    ingest_paths(warm, args.paths)
                    warm.close()
                misses = remembering.misses
                kb = open_kb(backend, folder / "known", remembering, server_url)
                try:
                    seconds, _ = timed(lambda kb=kb: ingest_paths(kb, args.paths))
                    times["pipeline_vectors_known"][backend].append(seconds)
                    assert remembering.misses == misses, "the encoder ran"
                finally:
                    kb.close()
                # 3. the store's writes alone
                store = new_store(backend, folder, server_url, manifest)
                try:

                    def write_all(store: Any = store, documents: Any = documents) -> None:
                        for doc, vectors in documents:
                            store.replace_document(doc, vectors)

                    times["store_writes"][backend].append(timed(write_all)[0])
                finally:
                    store.close()
                loads.append(load())
            log(
                f"round {round_ + 1}: "
                + ", ".join(
                    f"{step} {'/'.join(f'{v[b][-1]:.2f}' for b in BACKENDS)} s"
                    for step, v in times.items()
                )
                + f" (embedded/postgresql; load {load()})"
            )
    chunks = counts["embedded"]["chunks"]
    steps: dict[str, Any] = {}
    for step, by_backend in times.items():
        medians = {backend: statistics.median(values) for backend, values in by_backend.items()}
        steps[step] = {
            **{f"{backend}_s": round(value, 3) for backend, value in medians.items()},
            **{
                f"{backend}_chunks_per_s": round(chunks / value, 1)
                for backend, value in medians.items()
                if step != "unchanged_reingest"
            },
            "postgresql_time_over_embedded": round(medians["postgresql"] / medians["embedded"], 2),
            "rounds": {b: [round(v, 3) for v in values] for b, values in by_backend.items()},
        }
    store_writes = times["store_writes"]["postgresql"]
    save(
        "pg_ingest",
        {
            "code": code,
            "corpus": [os.path.relpath(p, ROOT) for p in args.paths],
            "variant": args.variant,
            "rounds": args.rounds,
            "documents": len(documents),
            "chunks": chunks,
            "counts": counts,
            "postgresql": "16 (pgserver), pgvector 0.6, server defaults, HNSW index present",
            "steps": steps,
            "postgresql_ms_per_document_write": round(
                statistics.median(store_writes) / max(1, len(documents)) * 1000, 2
            ),
            "load": {"min": min(loads), "max": max(loads)},
            "minutes": round((time.perf_counter() - started) / 60, 1),
        },
    )


if __name__ == "__main__":
    main()
