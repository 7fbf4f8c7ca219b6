"""The one way to build a knowledge base: the command line, the HTTP app and the tests all
call `open_knowledge_base` (through `api.backends` when the store is not the embedded one), so
the embedder for a store is chosen here, by `kb.embed.registry`, and nowhere else."""

from __future__ import annotations

from pathlib import Path

from kb.embed.base import Embedder
from kb.embed.registry import embedder_for_store
from kb.knowledge_base import KnowledgeBase
from kb.store.base import DocumentStore


def open_knowledge_base(
    home: Path,
    *,
    model: str | None = None,
    variant: str | None = None,
    embedder: Embedder | None = None,
    store: DocumentStore | None = None,
) -> KnowledgeBase:
    """Open (or create) the knowledge base in `home` over `store` (None: the embedded SQLite
    store in `home`; `api.backends` opens the others, and the home folder then keeps only what
    is local to this machine: keys, spooled uploads). The knowledge base owns the store.

    `embedder` shares a model that is already loaded (tests, benchmarks). Otherwise the model
    folder `model` (default: all-MiniLM-L6-v2 from its PyPI package) is run as `variant`; with
    no variant asked for, an existing store keeps the one its vectors were made with and a new
    store gets `default_variant()` (`onnx-int8`). The model loads on first
    embedding.
    """
    if store is None:
        from kb.store.sqlite import open_in_home

        store = open_in_home(home)
    try:
        if embedder is None:
            embedder = embedder_for_store(store.read_manifest(), model, variant)
        return KnowledgeBase(home, embedder, store)
    except BaseException:
        store.close()  # refused (another model or variant): nothing left open
        raise
