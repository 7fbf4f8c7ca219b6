"""Move a store to another model variant (or model) in place: the engine of `kb reembed`.

Nothing is parsed again: each chunk's stored text (heading + body, or + its dense body where
it has one: exactly the text that was embedded) is encoded by the new embedder; chunks found
by their words only stay so. The work is resumable and the store stays
searchable with its old vectors until the switch:

1. New vectors are staged, a batch per transaction, in the table `reembed_vectors`, with
   the target recorded in the database's meta table; a killed run resumes where it stopped
   (a run for another target starts the staging afresh).
2. The manifest is marked as switching (`"reembed": target`), so no process opens the
   store half-way; then one transaction copies the staged vectors over the stored ones and
   records the change in the chunk log (running processes replay it like any write).
3. The saved vector index is deleted, the manifest names the new model and variant, and
   the index is rebuilt from the store.

A kill during 2-3 leaves the manifest marked: the next run sees from the database whether
the copy was committed, and finishes or redoes it.

Run it while no other process writes to the store: a server still running with the old
embedder after the switch would encode its queries and new documents with the old variant.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.embed.base import LEGACY_VARIANT, Embedder
from kb.errors import KBError, StoreMismatchError
from kb.knowledge_base import (
    FORMAT_VERSION,
    MANIFEST,
    VECTORS,
    KnowledgeBase,
    read_manifest,
    write_atomically,
)
from kb.store.base import VECTORS_OF_KEY, ReembeddableStore
from kb.store.rows import text_hash, vectors_key
from kb.store.sqlite import DATABASE, Store
from kb.types import embedding_text

MAX_SWITCH_TRIES = 5


@dataclass(frozen=True)
class ReembedReport:
    model: str
    variant: str
    previous_model: str
    previous_variant: str
    chunks: int  # chunks in the store
    encoded: int  # texts encoded by this run
    resumed: int  # chunks whose new vectors an interrupted run had already staged
    changed: bool  # False when the store already had this model and variant
    seconds: float


def _write_manifest(home: Path, model: str, variant: str, dim: int, **extra: Any) -> None:
    manifest = {
        "format": FORMAT_VERSION,
        "backend": Store.backend,
        "model": model,
        "variant": variant,
        "dim": dim,
    }
    write_atomically(home / MANIFEST, json.dumps({**manifest, **extra}))


def reembed(
    home: Path,
    embedder: Embedder,
    batch: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> ReembedReport:
    """Re-encode every chunk of the store in `home` with `embedder` and switch the store to
    its model and variant. `progress(done, total)` is called after each batch of `batch`
    chunks. Safe to run again after a kill: it resumes."""
    started = time.perf_counter()
    manifest = read_manifest(home)
    if manifest is None or not (home / DATABASE).is_file():
        raise KBError(f"No knowledge base in {home}: there is nothing to re-embed.")
    if manifest.get("format") != FORMAT_VERSION:
        raise StoreMismatchError(
            f"The store in {home} has format {manifest.get('format')}, this version reads "
            f"format {FORMAT_VERSION}: re-ingest into a new --home."
        )
    store = Store(home / DATABASE)
    try:
        manifest = _settle_interrupted_switch(home, store, manifest)
        old_model = str(manifest["model"])
        old_variant = str(manifest.get("variant", LEGACY_VARIANT))
        if (old_model, old_variant) == (embedder.name, embedder.variant):
            store.drop_staging()
            return ReembedReport(
                embedder.name,
                embedder.variant,
                old_model,
                old_variant,
                store.count_chunks(),
                0,
                0,
                False,
                time.perf_counter() - started,
            )
        target = vectors_key(embedder.name, embedder.variant)
        resumed = store.start_staging(target)
        encoded = 0
        for _ in range(MAX_SWITCH_TRIES):
            encoded += _stage(store, embedder, batch, progress)
            dim = embedder.dim
            _write_manifest(
                home,
                old_model,
                old_variant,
                int(manifest["dim"]),
                reembed={"model": embedder.name, "variant": embedder.variant, "dim": dim},
            )
            if store.switch_to_staged(target):
                break
            # Chunks were written while switching (another process ingesting): stage them.
        else:
            raise KBError(
                f"The store in {home} kept changing while it was being re-embedded: stop "
                "the other ingests and run it again (it resumes)."
            )
        _finish(home, embedder.name, embedder.variant, dim)
        chunks = store.count_chunks()
    finally:
        store.close()
    # Rebuild the vector index from the new vectors (and save it).
    KnowledgeBase(home, embedder, Store(home / DATABASE)).close()
    return ReembedReport(
        embedder.name,
        embedder.variant,
        old_model,
        old_variant,
        chunks,
        encoded,
        resumed,
        True,
        time.perf_counter() - started,
    )


def _settle_interrupted_switch(
    home: Path, store: ReembeddableStore, manifest: dict[str, Any]
) -> dict[str, Any]:
    """A manifest still marked as switching: finish the switch if the database committed it,
    else go back to the old manifest (the staged vectors stay, and the run resumes)."""
    pending = manifest.get("reembed")
    if not pending:
        return manifest
    if store.get_meta(VECTORS_OF_KEY) == vectors_key(pending["model"], pending["variant"]):
        _finish(home, pending["model"], pending["variant"], int(pending["dim"]))
    else:
        _write_manifest(
            home,
            manifest["model"],
            manifest.get("variant", LEGACY_VARIANT),
            int(manifest["dim"]),
        )
    settled = read_manifest(home)
    assert settled is not None
    return settled


def _finish(home: Path, model: str, variant: str, dim: int) -> None:
    """After the vectors were switched: drop the saved index (it holds the old vectors under
    a version stamp that would pass for current) and name the new variant."""
    (home / VECTORS).unlink(missing_ok=True)
    _write_manifest(home, model, variant, dim)


def _stage(
    store: ReembeddableStore,
    embedder: Embedder,
    batch: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    """Encode the chunks that have no staged vector yet, `batch` at a time, each batch
    committed on its own. Returns how many texts were encoded."""
    encoded = 0
    last = -1
    while True:
        page = store.unstaged_chunks(last, batch)
        if not page.chunks:
            return encoded
        known = page.known
        texts: dict[str, str] = {}
        for _, digest, heading, body in page.chunks:
            if digest not in known and digest not in texts:
                text = embedding_text(heading, body)
                # The hash names the text the vector is for; a text saved otherwise than
                # ChunkInput.embedding_text would be encoded as saved.
                texts[digest if text_hash(text) == digest else text_hash(text)] = text
        if texts:
            vectors = embedder.encode_documents(list(texts.values()))
            for digest, vector in zip(texts, vectors, strict=True):
                known[digest] = np.asarray(vector, dtype=np.float32).tobytes()
            encoded += len(texts)
        store.stage_vectors(
            [
                (chunk_id, digest, known.get(digest) or known[text_hash(embedding_text(h, b))])
                for chunk_id, digest, h, b in page.chunks
            ]
        )
        last = page.chunks[-1][0]
        if progress is not None:
            progress(min(page.staged + len(page.chunks), page.total), page.total)


__all__ = ["ReembedReport", "reembed"]
